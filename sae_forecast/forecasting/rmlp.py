"""LightSAE-RMLP as an sktime forecaster."""

from __future__ import annotations

from sae_forecast.forecasting._base import LightSAEForecaster, common_parameters
from sae_forecast.nn import RMLP

__all__ = ["LightSAERMLPForecaster"]


class LightSAERMLPForecaster(LightSAEForecaster):
    """RMLP with a LightSAE channel embedding, trained by skorch.

    Each channel's normalised window is embedded to ``d_model`` by the channel embedding,
    refined by a residual two-layer MLP shared by all channels, and projected to the horizon.

    Parameters
    ----------
    {common}
    d_model : int, default=512
        Hidden width.
    dropout : float, default=0.1
        Dropout inside the residual block.
    revin : bool, default=True
        Whether to normalise each window (RevIN).
    revin_affine : bool, default=False
        Whether RevIN learns a per-channel scale and shift.

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
    _backbone_params = ("d_model", "dropout", "revin", "revin_affine")

    def __init__(
        self,
        seq_len=96,
        pred_len=None,
        embedding="lightsae",
        rank=25,
        pool_size=10,
        pooled_bias=False,
        max_epochs=20,
        batch_size=32,
        lr=5e-3,
        patience=3,
        validation_size=0.1,
        scale=True,
        fine_tune_epochs=1,
        gate_penalty=None,
        gate_penalty_weight=0.01,
        device="cpu",
        precision="fp32",
        random_state=None,
        verbose=0,
        d_model=512,
        dropout=0.1,
        revin=True,
        revin_affine=False,
    ):
        self.d_model = d_model
        self.dropout = dropout
        self.revin = revin
        self.revin_affine = revin_affine
        super().__init__(**common_parameters(locals()))

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
