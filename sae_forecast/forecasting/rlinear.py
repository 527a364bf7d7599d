"""LightSAE-RLinear as an sktime forecaster."""

from __future__ import annotations

from sae_forecast.forecasting._base import LightSAEForecaster
from sae_forecast.nn import RLinear

__all__ = ["LightSAERLinearForecaster"]


class LightSAERLinearForecaster(LightSAEForecaster):
    """RLinear with a LightSAE channel embedding, trained by skorch.

    Each channel is forecast by its own linear map from the last ``seq_len`` values to the
    next ``pred_len``, inside reversible instance normalisation. With ``embedding="lightsae"``
    the per-channel maps share a base and draw their residuals from a gated low-rank pool
    (Ren & Yu, 2025); ``embedding="shared"`` is plain RLinear (Li et al., 2023).

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    net_ : ForecastingNet
        The fitted skorch net; ``net_.history`` holds the training log.
    model_ : RLinear
        The trained backbone.
    pred_len_ : int
        Horizon the network was trained for.

    Notes
    -----
    Panel and hierarchical ``y`` are handled by sktime's vectorisation: one model per series.

    Examples
    --------
    >>> from sae_forecast import LightSAERLinearForecaster
    >>> from sktime.datasets import load_airline
    >>> y = load_airline()
    >>> forecaster = LightSAERLinearForecaster(
    ...     seq_len=24, pred_len=12, max_epochs=5, random_state=0
    ... )
    >>> y_pred = forecaster.fit(y).predict(fh=[1, 2, 3])
    >>> len(y_pred)
    3
    """

    _backbone = RLinear

    # The parameters beyond CommonParameters: this backbone's usual learning rate and
    # the keyword parameters of RLinear (its signature is their source, and
    # tests/forecasting/test_signature.py keeps the two equal).
    lr: float = 5e-3
    dropout: float = 0.0
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
                "rank": 2,
                "pool_size": 2,
                "max_epochs": 2,
                "random_state": 0,
            },
            {
                "seq_len": 3,
                "pred_len": 6,
                "embedding": "shared",
                "max_epochs": 1,
                "validation_size": 0.0,
                "random_state": 1,
            },
        ]
