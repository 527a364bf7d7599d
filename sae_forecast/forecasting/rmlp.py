"""LightSAE-RMLP as an sktime forecaster."""

from __future__ import annotations

from sae_forecast.forecasting._base import LightSAEForecaster
from sae_forecast.nn import RMLP

__all__ = ["LightSAERMLPForecaster"]


class LightSAERMLPForecaster(LightSAEForecaster):
    """RMLP with a LightSAE channel embedding, trained by skorch.

    Each channel's normalised window is embedded to ``d_model`` by the channel embedding,
    refined by a residual two-layer MLP shared by all channels, and projected to the horizon.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    net_ : ForecastingNet
        The fitted skorch net; ``net_.history`` holds the training log.
    model_ : RMLP
        The trained backbone.
    pred_len_ : int
        Horizon the network was trained for.

    Notes
    -----
    Panel and hierarchical ``y`` are handled by sktime's vectorisation: one model per series.

    Examples
    --------
    >>> from sae_forecast import LightSAERMLPForecaster
    >>> from sktime.datasets import load_longley
    >>> _, X = load_longley()
    >>> forecaster = LightSAERMLPForecaster(
    ...     seq_len=4, pred_len=2, d_model=16, pool_size=2, max_epochs=3, random_state=0
    ... )
    >>> forecaster.fit(X).predict(fh=[1, 2]).shape
    (2, 5)
    """

    _backbone = RMLP

    # The parameters beyond CommonParameters: this backbone's usual learning rate and
    # the keyword parameters of RMLP (its signature is their source, and
    # tests/forecasting/test_signature.py keeps the two equal).
    lr: float = 5e-3
    d_model: int = 512
    dropout: float = 0.1
    revin: bool = True
    revin_affine: bool = False
    covariate_gates: bool = False
    _defaults = {"lr": lr}  # read by the base when it writes __init__

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Return tiny parameter sets for sktime's estimator checks."""
        return [
            {
                "seq_len": 4,
                "pred_len": 5,
                "d_model": 8,
                "rank": 2,
                "pool_size": 2,
                "max_epochs": 2,
                "random_state": 0,
            },
            {
                "seq_len": 3,
                "pred_len": 6,
                "d_model": 4,
                "embedding": "sae",
                "max_epochs": 1,
                "dropout": 0.0,
                "validation_size": 0.0,
                "random_state": 1,
            },
        ]
