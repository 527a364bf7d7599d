"""Benchmark presets: which runs, at which sizes, learning rates and epoch caps.

* ``quick``: small sizes and a few epochs, for CPU minutes (``make demo``).
* ``results``: ``docs/results.md``: the paper datasets available offline plus ``beijing_air``;
  shared, sae and lightsae; RLinear at every horizon, RMLP and iTransformer at the first,
  PatchTST at the first on ETTh1/ETTh2. Reference sizes, with CPU-budget lr grids and epochs.
* ``reference``: the LightSAE authors' runs on this project's CPU kind (``reference_cpu.csv``:
  one fixed lr each, reference sizes, up to 100 epochs), for a like-for-like comparison.
* ``reference_pooled``: its RLinear runs with the authors' pooled bias (``pooled_bias=True``).
* ``paper``: the paper's full grid with the authors' lr grids (selected on validation), for a GPU.

Sizes, pool sizes and lr grids follow the authors' ``configs/Exp1_sl96`` (EDM314/lightSAE).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import asdict, dataclass

from sae_forecast.data import CATALOG
from sae_forecast.nn import DEFAULT_RANK

__all__ = [
    "HORIZON",
    "PRESETS",
    "SEQ_LEN",
    "Run",
    "build_runs",
    "default_pool_size",
    "reference_sizes",
]

SEQ_LEN = 96  # the lookback of every study
HORIZON = 96  # the horizon of the studies that use one (every one but accuracy)

PAPER_DATASETS = "ETTh1 ETTh2 ETTm1 ETTm2 Weather ECL Traffic Solar PEMS03 PEMS04 PEMS07 PEMS08"
PAPER_DATASETS = PAPER_DATASETS.split()
LOCAL_DATASETS = ["ETTh1", "ETTh2", "ETTm1", "ETTm2", "Weather", "beijing_air"]
BACKBONE_NAMES = ["RLinear", "RMLP", "PatchTST", "iTransformer"]
ALL_EMBEDDINGS = ["shared", "independent", "sae", "sae_lowrank", "lightsae"]

LR_GRIDS = {
    "RLinear": (0.05, 0.01, 0.005, 0.001),
    "RMLP": (0.01, 0.005, 0.001, 0.0005),
    "PatchTST": (0.005, 0.001, 0.0005, 0.0001),
    "iTransformer": (0.005, 0.001, 0.0005, 0.0001),
}
_PATCHTST = {  # dataset: (layers by horizon, heads by horizon), d_model 512, d_ff 2048
    "ETTh1": ((1, 1, 1, 1), (2, 8, 8, 16)),
    "ETTh2": ((3, 3, 3, 3), (4, 4, 4, 4)),
    "ETTm1": ((1, 3, 1, 3), (2, 2, 4, 4)),
    "ETTm2": ((3, 3, 1, 3), (16, 2, 4, 4)),
    "Weather": ((2, 2, 2, 2), (4, 16, 4, 4)),
}
_QUICK_SIZES = {
    "RLinear": {},
    "RMLP": {"d_model": 128},
    "PatchTST": {"d_model": 64, "d_ff": 128, "n_layers": 1, "n_heads": 4},
    "iTransformer": {"d_model": 64, "d_ff": 64, "n_layers": 2, "n_heads": 4},
}


# The timing tables' sizes (DESIGN.md defaults; iTransformer as in its paper's scripts), and
# the attention table's: iTransformer on Weather, PatchTST as in its ETTh1 script.
SPEED_SIZES = {
    "RLinear": {},
    "RMLP": {"d_model": 512},
    "PatchTST": {"d_model": 512, "n_heads": 8, "d_ff": 2048, "n_layers": 2},
    "iTransformer": {"d_model": 512, "n_heads": 8, "d_ff": 512, "n_layers": 2},
}
_ATTENTION = {"batch": 32, "seq_len": SEQ_LEN, "pred_len": HORIZON, "d_model": 512}
ATTENTION_SIZES = {
    "iTransformer": dict(_ATTENTION, n_channels=21, d_ff=512, n_layers=3, n_heads=8),
    "PatchTST": dict(
        _ATTENTION, n_channels=7, d_ff=2048, n_layers=1, n_heads=2, patch_len=16, stride=8
    ),
}
TRAFFIC_BATCH = {"PatchTST": 4, "iTransformer": 16}  # the authors' Traffic batch sizes
GAPS_MAX_EPOCHS = {"RLinear": 30, "iTransformer": 3}  # the gaps study's default caps
ANALYSIS_DEFAULTS = {"max_epochs": 30, "pool_size": 10}  # RLinear at H=96, lr 0.005
ANALYSIS_LRS = (0.005,)

# The covariates study: TimeXer's EPF protocol (lookback 168, horizon 24, target OT) and
# beijing_air's PM2.5 with the weather as a perfect forecast (lookback 96, horizon 24).
EPF_MARKETS = ("NP", "PJM", "BE")
EPF_SEQ_LEN, COVARIATE_HORIZON, BEIJING_SEQ_LEN = 168, 24, 96
BEIJING_WEATHER = ("TEMP", "PRES", "DEWP", "RAIN", "WSPM")
# lr halves every epoch: the transformers are capped earlier (epoch 6 trains at lr / 32)
COVARIATE_MAX_EPOCHS = {"RLinear": 10, "RMLP": 10, "PatchTST": 6, "iTransformer": 6}
# EPF has one target channel, where LightSAE and the shared embedding are the same function
# class (one channel, one merged weight): both for RLinear (to show it), LightSAE for the rest.
EPF_EMBEDDINGS = {
    "RLinear": ("shared", "lightsae"),
    "RMLP": ("lightsae",),
    "PatchTST": ("lightsae",),
    "iTransformer": ("lightsae",),
}
COVARIATE_SIZES = {  # iTransformer at its defaults; PatchTST with day-long patches
    "RLinear": {},
    "RMLP": {"d_model": 256},
    "PatchTST": {"d_model": 128, "d_ff": 256, "n_heads": 8, "patch_len": 24, "stride": 24},
    "iTransformer": {"d_model": 512, "d_ff": 512, "n_heads": 8},
}
BEIJING_SIZES = dict(COVARIATE_SIZES, iTransformer={"d_model": 128, "d_ff": 128, "n_heads": 8})


@dataclass(frozen=True)
class Run:
    """One benchmark row: forecaster ``parameters`` (sorted pairs), an lr grid selected on the
    validation loss, and optionally a subset of the channels (``columns``).

    Examples
    --------
    >>> Run("ETTh1", "RLinear", "lightsae", 96).label()
    'ETTh1 RLinear lightsae H=96 seed=2023'
    """

    dataset: str
    backbone: str
    embedding: str
    horizon: int
    seed: int = 2023
    lrs: tuple[float, ...] = (1e-3,)
    parameters: tuple[tuple[str, object], ...] = ()
    columns: tuple[str, ...] | None = None

    @property
    def key(self) -> str:
        """A hash of the whole configuration (the record's name)."""
        text = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:16]

    def label(self) -> str:
        """The run in one line of the log."""
        return f"{self.dataset} {self.backbone} {self.embedding} H={self.horizon} seed={self.seed}"


def default_pool_size(n_channels: int) -> int:
    """The authors' pool sizes: K=3 for 7-8 channels, 7 for 21 (Weather), 10 for 100+.

    Examples
    --------
    >>> [default_pool_size(n) for n in (7, 21, 132)]
    [3, 7, 10]
    """
    return 3 if n_channels <= 10 else 7 if n_channels <= 50 else 10


def reference_sizes(backbone: str, dataset: str, horizon: int) -> dict:
    """Backbone hyperparameters of the authors' configuration for this dataset and horizon.

    Examples
    --------
    >>> reference_sizes("iTransformer", "ETTh1", 96)
    {'d_model': 256, 'd_ff': 256, 'n_layers': 2}
    """
    horizons = CATALOG[dataset].horizons
    slot = horizons.index(horizon) if horizon in horizons else 0
    if backbone == "RMLP":
        return {"d_model": 512}
    if backbone == "iTransformer":
        narrow = {"ETTh1": 256 if slot < 2 else 512, "ETTh2": 128, "ETTm1": 128, "ETTm2": 128}
        width = narrow.get(dataset, 512)
        layers = {"Weather": 3, "ECL": 3, "Traffic": 4}.get(dataset, 2)
        return {"d_model": width, "d_ff": width, "n_layers": layers}
    if backbone == "PatchTST":
        layers, heads = _PATCHTST.get(dataset, ((2,) * 4, (8,) * 4))
        d_ff = 2048 if dataset in _PATCHTST else 512
        return {"d_model": 512, "d_ff": d_ff, "n_layers": layers[slot], "n_heads": heads[slot]}
    return {}


def _cpu_sizes(backbone: str, dataset: str, horizon: int) -> dict:
    # beijing_air has no reference configuration; at d_model 512 its iTransformer epoch takes
    # ~9 minutes here, so it gets the authors' 128-wide configuration of ETTh2/ETTm1/ETTm2.
    if backbone == "iTransformer" and dataset == "beijing_air":
        return {"d_model": 128, "d_ff": 128, "n_layers": 2}
    return reference_sizes(backbone, dataset, horizon)


def _cpu_lrs(backbone: str, dataset: str) -> tuple[float, ...]:
    # Two of the authors' four values for the linear models on the hourly ETT data (their
    # ETTh1 runs use 0.005-0.01), 0.005 elsewhere; one value for the Transformers.
    if backbone in ("RLinear", "RMLP"):
        return (0.01, 0.005) if dataset in ("ETTh1", "ETTh2") else (0.005,)
    return (5e-4,) if dataset == "Weather" and backbone == "iTransformer" else (1e-4,)


def _cpu_max_epochs(backbone: str, dataset: str) -> int:
    # An epoch of the 512-wide iTransformer takes ~90 s on Weather, of PatchTST ~100-270 s on
    # ETTh1/ETTh2; the lr halves every epoch, so late epochs change little.
    if backbone == "PatchTST":
        return 6
    return (4 if dataset == "Weather" else 10) if backbone == "iTransformer" else 30


def _reference_runs(backbones=BACKBONE_NAMES) -> list[tuple]:
    from sae_forecast.bench.tables import reference_mse  # the packaged CSV

    rows = reference_mse().itertuples()
    return [
        (r.dataset, r.backbone, r.embedding, int(r.horizon), (float(r.lr),))
        for r in rows
        if r.backbone in backbones
    ]


def _results_keep(dataset: str, backbone: str, horizon: int) -> bool:
    patchtst = backbone != "PatchTST" or dataset in ("ETTh1", "ETTh2")
    return backbone == "RLinear" or (horizon == CATALOG[dataset].horizons[0] and patchtst)


def _all_horizons(dataset: str) -> tuple[int, ...]:
    return CATALOG[dataset].horizons


_AUTHORS = {"sizes": reference_sizes, "max_epochs": lambda backbone, dataset: 100}
PRESETS = {
    "quick": {
        "grid": (["ETTh1"], BACKBONE_NAMES, ["shared", "lightsae"]),
        "horizons": lambda dataset: CATALOG[dataset].horizons[:1],
        "sizes": lambda backbone, dataset, horizon: _QUICK_SIZES[backbone],
        "lrs": lambda backbone, dataset: (0.005,) if backbone == "RLinear" else (0.001,),
        "max_epochs": lambda backbone, dataset: 6 if backbone == "RLinear" else 3,
    },
    "results": {
        "grid": (LOCAL_DATASETS, BACKBONE_NAMES, ["shared", "sae", "lightsae"]),
        "horizons": _all_horizons,
        "keep": _results_keep,
        "sizes": _cpu_sizes,
        "lrs": _cpu_lrs,
        "max_epochs": _cpu_max_epochs,
    },
    "reference": {"runs": _reference_runs, **_AUTHORS},
    "reference_pooled": {
        "runs": lambda: _reference_runs(["RLinear"]),
        "options": lambda embedding: {"pooled_bias": True} if embedding == "lightsae" else {},
        **_AUTHORS,
    },
    "paper": {
        "grid": (PAPER_DATASETS, BACKBONE_NAMES, ALL_EMBEDDINGS),
        "horizons": _all_horizons,
        "lrs": lambda backbone, dataset: LR_GRIDS[backbone],
        **_AUTHORS,
    },
}


def build_runs(
    preset: str = "quick",
    *,
    datasets=None,
    backbones=None,
    embeddings=None,
    horizons=None,
    seeds=(2023,),
    lrs=None,
    max_epochs=None,
    pool_size=None,
    rank=DEFAULT_RANK,
    precision=("fp32",),
    device="cpu",
) -> list[Run]:
    """Expand a preset into runs; explicit selections replace the preset's lists.

    Several ``precision`` values (``("fp32", "bf16")``) repeat each run under each.

    Examples
    --------
    >>> runs = build_runs("quick", datasets=["ETTh1"], backbones=["RLinear"])
    >>> [(r.embedding, r.horizon, dict(r.parameters)["pool_size"]) for r in runs]
    [('shared', 96, 3), ('lightsae', 96, 3)]
    """
    if preset not in PRESETS:
        raise ValueError(f"Unknown preset {preset!r}; choose one of {sorted(PRESETS)}.")
    spec = PRESETS[preset]
    chosen = (datasets, backbones, embeddings, horizons)
    grid = _listed(spec, chosen) if "runs" in spec else _grid(spec, *chosen)
    precisions = (precision,) if isinstance(precision, str) else tuple(precision)
    runs = []
    for (dataset, backbone, embedding, horizon, grid_lrs), seed, autocast in itertools.product(
        grid, seeds, precisions
    ):
        parameters = {
            **spec["sizes"](backbone, dataset, horizon),
            **spec.get("options", lambda embedding: {})(embedding),
            "pool_size": pool_size or default_pool_size(CATALOG[dataset].n_channels),
            "rank": rank,
            "max_epochs": max_epochs or spec["max_epochs"](backbone, dataset),
            "precision": autocast,
            **({} if device == "cpu" else {"device": device}),
        }
        parameters = tuple(sorted(parameters.items()))
        run = Run(dataset, backbone, embedding, horizon, seed, tuple(lrs or grid_lrs), parameters)
        runs.append(run)
    return runs


def _listed(spec: dict, chosen: tuple) -> list[tuple]:
    """The preset's fixed runs that match every explicit selection."""
    return [
        run
        for run in spec["runs"]()
        if all(c is None or value in c for value, c in zip(run[:4], chosen, strict=True))
    ]


def _grid(spec: dict, datasets, backbones, embeddings, horizons) -> list[tuple]:
    """The preset's product of selections, filtered by its ``keep`` rule."""
    selections = zip((datasets, backbones, embeddings), spec["grid"], strict=True)
    keep = spec.get("keep", lambda dataset, backbone, horizon: True)
    grid = []
    for dataset, backbone, embedding in itertools.product(*(s or d for s, d in selections)):
        for horizon in horizons or spec["horizons"](dataset):
            if horizons or keep(dataset, backbone, horizon):
                lrs = tuple(spec["lrs"](backbone, dataset))
                grid.append((dataset, backbone, embedding, horizon, lrs))
    return grid
