"""The parameters every forecaster shares: signature, defaults, docs and sktime tags."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, ClassVar

import torch
from sktime.forecasting.base import BaseForecaster

from sae_forecast.forecasting._signature import KeywordParameters, declared_parameters
from sae_forecast.nn import DEFAULT_POOL_SIZE, DEFAULT_RANK

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    from accelerate import Accelerator

__all__ = ["COMMON_PARAMETERS", "CommonParameters"]


class CommonParameters(KeywordParameters, BaseForecaster):
    """The parameters every forecaster shares: declaration, defaults and documentation.

    The parent of :class:`~sae_forecast.forecasting.LightSAEForecaster`: each parameter is
    an annotated class attribute (a reader, an IDE and a type checker see the keyword-only
    constructor they make, see :class:`~sae_forecast.forecasting._signature.KeywordParameters`),
    documented below; the constructor that stores them, sktime's tags and nothing else live
    here, the behaviour lives in the subclass.

    Parameters
    ----------
    seq_len : int, default=96
        Lookback window: the forecaster reads the last ``seq_len`` rows.
    pred_len : int or None, default=None
        Horizon the network is trained for. ``None``: ``max(fh)`` when ``fh`` is passed to
        ``fit``, else 96. ``predict`` accepts any out-of-sample ``fh`` up to it.
    embedding : {"lightsae", "shared", "independent", "sae", "sae_lowrank"}, default="lightsae"
        Channel embedding; ``"shared"`` is the paper's channel-independent baseline.
    rank : int, default=25
        Rank ``r`` of the channel-specific residuals (``lightsae``, ``sae_lowrank``).
    pool_size : int, default=10
        Number ``K`` of pooled left factors (``lightsae``).
    pooled_bias : bool, default=False
        ``lightsae`` only: mix each channel's embedding bias from a gated pool of ``K`` biases
        (the authors' RLinear) instead of learning one bias per channel.
    max_epochs : int, default=20
        Upper bound on training epochs; early stopping usually ends sooner.
    batch_size : int, default=32
        Windows per batch.
    lr : float, default=0.001
        Initial Adam learning rate, halved after every epoch.
    patience : int, default=3
        Epochs without validation improvement before early stopping (best weights kept).
    validation_size : float or int, default=0.1
        Validation windows, taken from the end of ``y`` for early stopping: a fraction of
        the windows (``0 <= v < 1``) or a number of windows (int). 0 trains for
        ``max_epochs`` without validation. ``pred_len - 1`` windows between training and
        validation are dropped, so no validation target is a training target.
    scale : bool, default=True
        Standardise each column with mean and standard deviation of the observed training
        values (validation tail excluded); forecasts are returned in the original units.
        Covariates (``X``) are standardised the same way, each column on its own.
    future_covariates : "all" or list of str, default="all"
        The columns of ``X`` known ahead (weather and load forecasts, the calendar,
        schedules): the network reads them over the lookback and the horizon, so ``predict``
        needs ``X`` with a row for every time stamp of ``fh`` (sktime's convention). The
        other columns are read over the lookback only (measured sensors) and ``predict``
        needs no ``X`` for them. ``"all"``: every column of ``X``; ``[]``: none. ``X`` is
        always an input: its columns are never forecast and never enter the loss; its gaps
        (NaN, missing time stamps) are filled forward like those of ``y``.
    fine_tune_epochs : int, default=1
        Epochs of training on the new data when ``update(..., update_params=True)``.
    interval_method : {"tracking", "adaptive", "conformal", "quantile"}, default="tracking"
        How ``predict_interval``, ``predict_quantiles`` and ``predict_var`` work; all three
        are calibrated on the validation tail that ``fit`` holds out, per horizon step and
        channel (see docs/intervals.md). ``"tracking"``: split conformal at ``fit`` (the
        signed residuals of the validation forecasts, in original units, give the
        quantiles), then every ``update`` moves each quantile itself by the misses of the
        intervals that were issued (conformal quantile tracking; by default two trackers of
        different steps, mixed per level and channel by the pinball loss of what each
        issued), so coverage follows a drifting series; no window is kept sorted, so
        ``update`` costs a few operations per new residual, and a quantile can pass the
        largest residual seen. ``"conformal"`` (split conformal): the same calibration, and
        ``update`` adds the new rows' residuals to a rolling window of ``calibration_size``
        rows. ``"adaptive"``: that rolling window, read at levels that every ``update``
        moves by the misses of the new rows (adaptive conformal inference, step
        ``interval_step_size``). ``"quantile"``: the network also forecasts
        ``quantile_levels``, trained with the pinball loss (its median is the point
        forecast), and its bands are scaled by conformal calibration and recalibrated on a
        rolling window by ``update``. With ``validation_size=0`` the last 1000 training rows
        calibrate in sample and a warning says the intervals may be too narrow.
    quantile_levels : tuple of float or None, default=None
        Levels trained by ``interval_method="quantile"`` and tracked by ``"adaptive"``,
        ``"tracking"`` and ``"quantile"``; must include 0.5, other levels are interpolated
        between them. None: (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975).
    calibration_size : int or None, default=None
        Number of most recent forecast rows whose scores calibrate the intervals, and the
        rolling window ``update`` keeps. None: every row of the validation tail, and as many
        rows after ``update``.
    interval_step_size : float, tuple of float or None, default=None
        ``interval_method="adaptive"`` and ``"quantile"``: how far one miss moves a level
        at ``update`` (0 keeps the levels nominal: split conformal on a rolling window);
        ``"tracking"``: the common factor of how far one miss moves a quantile (0 keeps
        the split-conformal quantiles of ``fit``), or several, whose trackers are mixed
        by the pinball loss of the intervals each issued. None: each method's default,
        0.005 for ``"adaptive"``, (0.0002, 0.0005) for ``"tracking"`` and 0 for
        ``"quantile"`` (its scaled scores make levels near 1 read extreme multiples: see
        docs/intervals.md).
    gate_penalty : {"balance", "entropy"} or None, default=None
        Optional regulariser on the LightSAE gates (see ``LightSAEEmbedding.gate_penalty``).
    gate_penalty_weight : float, default=0.01
        Weight of the gate regulariser in the training loss.
    adapt : {"auto", "gates", "embedding", "all", "none"}, default="auto"
        What ``fit`` trains after ``pretrain``, starting from the pretrained weights
        (without ``pretrain`` it is ignored): ``"gates"`` only the LightSAE gate logits and
        per-channel embedding bias (the device's own mix of the fleet's pool), ``"embedding"``
        the channel embedding, ``"all"`` every weight, ``"none"`` nothing. ``"auto"``:
        ``"gates"`` for ``embedding="lightsae"``, else ``"all"``. ``update(...,
        update_params=True)`` trains the same parameters. Use ``pretrain(y_panel)`` then
        ``fit(y_device)`` for one network shared by devices with the same columns (e.g. a
        new device with little history); ``fit`` on a panel trains one network per series
        (after ``pretrain``, one adapted copy of the pretrained network per series).
    device : str, default="cpu"
        Torch device, e.g. ``"cuda"``.
    precision : {"fp32", "bf16"}, default="fp32"
        ``"bf16"`` runs the model body under bfloat16 autocast.
    compile : bool, default=False
        Run training and forecasting batches through the network's forward compiled by
        ``torch.compile`` (needs a C++ compiler on the CPU; if compiling fails the net
        warns and runs eagerly). The first batch of every new batch shape and mode
        compiles, which takes seconds to minutes; the weights and forecasts are not
        bitwise those of ``compile=False``, and fits must not run in parallel threads of
        one process. Measured per backbone: docs/benchmarks/compile/compile.md.
    random_state : int or None, default=None
        Seed for initialisation, dropout and batch order; equal seeds give identical
        forecasts, also for fits running in parallel threads.
    verbose : int, default=0
        1 prints a line per epoch; 2 adds a progress bar over each epoch's batches.
    accelerator : accelerate.Accelerator or None, default=None
        Train data-parallel on the processes of this ``Accelerator`` (several GPUs or
        nodes, started by ``accelerate launch``; see the "Scaling out" page). It places the
        model and batches on its device; ``device`` only says where the windows are kept.
        Needs ``pip install "sae-forecast[distributed]"``.

    Examples
    --------
    >>> from sae_forecast.forecasting import LightSAEForecaster
    >>> issubclass(LightSAEForecaster, CommonParameters)
    True
    """

    _tags = {
        "authors": ["sae_forecast developers"],
        "maintainers": ["sae_forecast developers"],
        "python_dependencies": ["torch", "skorch"],
        "y_inner_mtype": "pd.DataFrame",
        "X_inner_mtype": "pd.DataFrame",
        "capability:multivariate": True,
        "capability:exogenous": True,
        "capability:insample": False,
        "capability:pred_int": True,
        "capability:missing_values": True,
        "capability:update": True,
        "capability:pretrain": True,
        "capability:random_state": True,
        "requires-fh-in-fit": False,
        "fit_is_empty": False,
        "pretrain:fitted_params": ["fleet_"],
    }
    # The forecaster keeps what it needs of the data (scaler_, _context), so sktime need
    # not keep a copy of all data seen.
    _config = {"remember_data": False}

    _backbone: ClassVar[type[torch.nn.Module]]
    _defaults: ClassVar[dict] = {}

    # The shared parameters, declared once: type checkers build the keyword-only __init__
    # from them (KeywordParameters), and so does keyword_init at run time.
    seq_len: int = 96
    pred_len: int | None = None
    embedding: str = "lightsae"
    rank: int = DEFAULT_RANK
    pool_size: int = DEFAULT_POOL_SIZE
    pooled_bias: bool = False
    max_epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-3
    patience: int = 3
    validation_size: float | int = 0.1
    scale: bool = True
    future_covariates: str | Sequence[str] = "all"
    fine_tune_epochs: int = 1
    interval_method: str = "tracking"
    quantile_levels: Sequence[float] | None = None
    calibration_size: int | None = None
    interval_step_size: float | tuple[float, ...] | None = None
    gate_penalty: str | None = None
    gate_penalty_weight: float = 0.01
    adapt: str = "auto"
    device: str | torch.device = "cpu"
    precision: str = "fp32"
    compile: bool = False
    random_state: int | Sequence[int] | np.random.RandomState | np.random.Generator | None = None
    verbose: int = 0
    accelerator: Accelerator | None = None


def _initialise(self, **params) -> None:
    """Store every declared parameter under its name (sktime's convention)."""
    for parameter in COMMON_PARAMETERS:
        setattr(self, parameter.name, params.pop(parameter.name, parameter.default))
    if params:
        raise TypeError(f"unexpected keyword argument(s) {sorted(params)}")
    BaseForecaster.__init__(self)
    # sktime stores data seen in _y/_X only when remember_data is True; its checks may
    # switch that config on after construction and expect the attributes to exist.
    self._y = None
    self._X = None


COMMON_PARAMETERS = declared_parameters(CommonParameters)
_initialise.__signature__ = inspect.Signature(
    [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD), *COMMON_PARAMETERS]
)
CommonParameters.__init__ = _initialise  # assigned after the class: type checkers synthesise it
