"""LightSAE-PatchTST as an sktime forecaster."""

from __future__ import annotations

from sae_forecast.forecasting._base import LightSAEForecaster, common_parameters
from sae_forecast.nn import PatchTST

__all__ = ["LightSAEPatchTSTForecaster"]


class LightSAEPatchTSTForecaster(LightSAEForecaster):
    """PatchTST with a LightSAE patch embedding, trained by skorch.

    Each channel's window is cut into patches; the channel embedding maps every patch of a
    channel with that channel's merged weight; a BatchNorm Transformer encoder shared by all
    channels reads the patch tokens; a flatten head projects them to the horizon.

    Parameters
    ----------
    {common}
    patch_len : int, default=16
        Patch length (at most ``seq_len``).
    stride : int, default=8
        Distance between patch starts.
    d_model : int, default=512
        Token width.
    n_heads : int, default=8
        Attention heads (must divide ``d_model``).
    d_ff : int, default=2048
        Feed-forward width.
    n_layers : int, default=2
        Encoder layers.
    dropout : float, default=0.1
        Dropout in the embedding and the encoder.
    head_dropout : float, default=0.0
        Dropout after the flatten head.
    activation : {"gelu", "relu"}, default="gelu"
        Feed-forward activation.
    revin : bool, default=True
        Whether to normalise each window (RevIN).
    revin_affine : bool, default=False
        Whether RevIN learns a per-channel scale and shift.

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
    _backbone_params = (
        "patch_len",
        "stride",
        "d_model",
        "n_heads",
        "d_ff",
        "n_layers",
        "dropout",
        "head_dropout",
        "activation",
        "revin",
        "revin_affine",
    )

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
        lr=1e-4,
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
        patch_len=16,
        stride=8,
        d_model=512,
        n_heads=8,
        d_ff=2048,
        n_layers=2,
        dropout=0.1,
        head_dropout=0.0,
        activation="gelu",
        revin=True,
        revin_affine=False,
    ):
        self.patch_len = patch_len
        self.stride = stride
        self.d_model = d_model
        self.n_heads = n_heads
        self.d_ff = d_ff
        self.n_layers = n_layers
        self.dropout = dropout
        self.head_dropout = head_dropout
        self.activation = activation
        self.revin = revin
        self.revin_affine = revin_affine
        super().__init__(**common_parameters(locals()))

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
