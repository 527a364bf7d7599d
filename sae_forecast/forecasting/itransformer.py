"""LightSAE-iTransformer as an sktime forecaster."""

from __future__ import annotations

from sae_forecast.forecasting._base import LightSAEForecaster
from sae_forecast.nn import iTransformer

__all__ = ["LightSAEiTransformerForecaster"]


class LightSAEiTransformerForecaster(LightSAEForecaster):
    """iTransformer with a LightSAE series embedding, trained by skorch.

    Each channel's whole window becomes one token through the channel embedding; a
    LayerNorm Transformer encoder attends across channels; a linear projector maps each
    token to its channel's forecast.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    net_ : ForecastingNet
        The fitted skorch net; ``net_.history`` holds the training log.
    model_ : iTransformer
        The trained backbone.
    pred_len_ : int
        Horizon the network was trained for.

    Notes
    -----
    Panel and hierarchical ``y`` are handled by sktime's vectorisation: one model per series.

    Examples
    --------
    >>> from sae_forecast import LightSAEiTransformerForecaster
    >>> from sktime.datasets import load_longley
    >>> _, X = load_longley()
    >>> forecaster = LightSAEiTransformerForecaster(
    ...     seq_len=4,
    ...     pred_len=2,
    ...     d_model=16,
    ...     n_heads=2,
    ...     d_ff=16,
    ...     pool_size=2,
    ...     max_epochs=2,
    ...     random_state=0,
    ... )
    >>> forecaster.fit(X).predict(fh=[1, 2]).shape
    (2, 5)
    """

    _backbone = iTransformer

    # The parameters beyond CommonParameters: this backbone's usual learning rate and
    # the keyword parameters of iTransformer (its signature is their source, and
    # tests/forecasting/test_signature.py keeps the two equal).
    lr: float = 1e-4
    d_model: int = 512
    n_heads: int = 8
    d_ff: int = 512
    n_layers: int = 2
    dropout: float = 0.1
    activation: str = "gelu"
    revin: bool = True
    revin_affine: bool = False
    chunk_size: int | None = None
    _defaults = {"lr": lr}  # read by the base when it writes __init__

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Return tiny parameter sets for sktime's estimator checks."""
        tiny = {"d_model": 8, "n_heads": 2, "d_ff": 8, "n_layers": 1}
        return [
            {
                **tiny,
                "seq_len": 4,
                "pred_len": 5,
                "rank": 2,
                "pool_size": 2,
                "max_epochs": 2,
                "random_state": 0,
            },
            {
                **tiny,
                "seq_len": 3,
                "pred_len": 6,
                "embedding": "sae_lowrank",
                "rank": 1,
                "max_epochs": 1,
                "validation_size": 0.0,
                "random_state": 1,
            },
        ]
