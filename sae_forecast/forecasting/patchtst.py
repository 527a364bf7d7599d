"""LightSAE-PatchTST as an sktime forecaster."""

from __future__ import annotations

from sae_forecast.forecasting._base import LightSAEForecaster
from sae_forecast.nn import PatchTST

__all__ = ["LightSAEPatchTSTForecaster"]


class LightSAEPatchTSTForecaster(LightSAEForecaster):
    """PatchTST with a LightSAE patch embedding, trained by skorch.

    Each channel's window is cut into patches; the channel embedding maps every patch of a
    channel with that channel's merged weight; a BatchNorm Transformer encoder shared by all
    channels reads the patch tokens; a flatten head projects them to the horizon.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    net_ : ForecastingNet
        The fitted skorch net; ``net_.history`` holds the training log.
    model_ : PatchTST
        The trained backbone.
    pred_len_ : int
        Horizon the network was trained for.

    Notes
    -----
    Panel and hierarchical ``y`` are handled by sktime's vectorisation: one model per series.

    Examples
    --------
    >>> from sae_forecast import LightSAEPatchTSTForecaster
    >>> from sktime.datasets import load_airline
    >>> forecaster = LightSAEPatchTSTForecaster(
    ...     seq_len=24,
    ...     pred_len=6,
    ...     patch_len=8,
    ...     stride=4,
    ...     d_model=16,
    ...     n_heads=2,
    ...     d_ff=32,
    ...     n_layers=1,
    ...     max_epochs=2,
    ...     random_state=0,
    ... )
    >>> forecaster.fit(load_airline()).predict(fh=[1, 2, 3, 4, 5, 6]).shape
    (6,)
    """

    _backbone = PatchTST

    # The parameters beyond CommonParameters: this backbone's usual learning rate and
    # the keyword parameters of PatchTST (its signature is their source, and
    # tests/forecasting/test_signature.py keeps the two equal).
    lr: float = 1e-4
    patch_len: int = 16
    stride: int = 8
    d_model: int = 512
    n_heads: int = 8
    d_ff: int = 2048
    n_layers: int = 2
    dropout: float = 0.1
    head_dropout: float = 0.0
    activation: str = "gelu"
    revin: bool = True
    revin_affine: bool = False
    covariate_gates: bool = False
    chunk_size: int | None = None
    _defaults = {"lr": lr}  # read by the base when it writes __init__

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Return tiny parameter sets for sktime's estimator checks."""
        tiny = {"d_model": 8, "n_heads": 2, "d_ff": 8, "n_layers": 1, "patch_len": 2, "stride": 1}
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
                "embedding": "shared",
                "max_epochs": 1,
                "validation_size": 0.0,
                "random_state": 1,
            },
        ]
