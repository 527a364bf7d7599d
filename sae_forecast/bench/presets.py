"""Benchmark presets: which experiments to run, at which sizes, with which learning rates.

* ``quick``: small Transformer sizes and a few epochs, for CPU minutes (``make demo``).
* ``results``: the table of ``docs/results.md``: the paper datasets available offline plus
  ``beijing_air``, embeddings shared / sae / lightsae; RLinear at all four horizons, RMLP and
  iTransformer at H=96, PatchTST at H=96 on ETTh1 and ETTh2. Reference model sizes (but a
  128-wide iTransformer on beijing_air); for the CPU budget, lr grids of two values for
  RLinear/RMLP on ETTh1/ETTh2 and one (0.005) elsewhere, epoch caps of 10 for iTransformer
  (4 on Weather) and 6 for PatchTST.
* ``reference``: exactly the configurations of the LightSAE authors' code run on this
  project's CPU kind (``reference_cpu.csv``: dataset, backbone, embedding, horizon and a fixed
  lr each, reference sizes, up to 100 epochs), for a like-for-like comparison.
* ``reference_pooled``: the RLinear runs of ``reference`` with the authors' RLinear LightSAE
  bias (a gated pool of K biases, ``pooled_bias=True``) instead of one bias per channel.
* ``paper``: the paper's full grid (12 datasets, 4 backbones, 5 embeddings, 4 horizons, the
  authors' learning-rate grids), for a GPU.

Model sizes, pool sizes and learning-rate grids follow the LightSAE authors' configuration files
(``configs/Exp1_sl96`` of EDM314/lightSAE): lr grids of 4 values for RLinear and RMLP, selected
here on the validation loss; one fixed lr for the Transformers on CPU.
"""

from __future__ import annotations

import itertools

from sae_forecast.bench.runs import Run
from sae_forecast.data import CATALOG
from sae_forecast.nn import DEFAULT_RANK

__all__ = ["PRESETS", "build_runs", "default_pool_size", "reference_sizes"]

PAPER_DATASETS = [
    "ETTh1",
    "ETTh2",
    "ETTm1",
    "ETTm2",
    "Weather",
    "ECL",
    "Traffic",
    "Solar",
    "PEMS03",
    "PEMS04",
    "PEMS07",
    "PEMS08",
]
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


def default_pool_size(n_channels: int) -> int:
    """The authors' pool sizes: K=3 for 7-8 channels, 7 for 21 (Weather), 10 for 100+.

    Examples
    --------
    >>> [default_pool_size(n) for n in (7, 21, 132)]
    [3, 7, 10]
    """
    return 3 if n_channels <= 10 else 7 if n_channels <= 50 else 10


def _horizon_slot(dataset: str, horizon: int) -> int:
    horizons = CATALOG[dataset].horizons
    return horizons.index(horizon) if horizon in horizons else 0


def reference_sizes(backbone: str, dataset: str, horizon: int) -> dict:
    """Backbone hyperparameters of the authors' configuration for this dataset and horizon.

    Examples
    --------
    >>> reference_sizes("iTransformer", "ETTh1", 96)
    {'d_model': 256, 'd_ff': 256, 'n_layers': 2}
    """
    slot = _horizon_slot(dataset, horizon)
    if backbone == "RMLP":
        return {"d_model": 512}
    if backbone == "iTransformer":
        if dataset == "ETTh1":
            width = 256 if slot < 2 else 512
            return {"d_model": width, "d_ff": width, "n_layers": 2}
        if dataset in ("ETTh2", "ETTm1", "ETTm2"):
            return {"d_model": 128, "d_ff": 128, "n_layers": 2}
        layers = {"Weather": 3, "ECL": 3, "Traffic": 4}.get(dataset, 2)
        return {"d_model": 512, "d_ff": 512, "n_layers": layers}
    if backbone == "PatchTST":
        if dataset in _PATCHTST:
            layers, heads = _PATCHTST[dataset]
            return {"d_model": 512, "d_ff": 2048, "n_layers": layers[slot], "n_heads": heads[slot]}
        return {"d_model": 512, "d_ff": 512, "n_layers": 2, "n_heads": 8}
    return {}


def _quick_sizes(backbone: str, dataset: str, horizon: int) -> dict:
    return {
        "RLinear": {},
        "RMLP": {"d_model": 128},
        "PatchTST": {"d_model": 64, "d_ff": 128, "n_layers": 1, "n_heads": 4},
        "iTransformer": {"d_model": 64, "d_ff": 64, "n_layers": 2, "n_heads": 4},
    }[backbone]


def _cpu_lrs(backbone: str, dataset: str) -> tuple[float, ...]:
    # CPU budget: two of the authors' four values for the linear models on the hourly ETT data
    # (their reported ETTh1 runs use 0.005-0.01) and 0.005 alone on the larger datasets; one
    # fixed value for the Transformers (Weather: the authors' 5e-4).
    if backbone in ("RLinear", "RMLP"):
        return (0.01, 0.005) if dataset in ("ETTh1", "ETTh2") else (0.005,)
    return (5e-4,) if dataset == "Weather" and backbone == "iTransformer" else (1e-4,)


def _cpu_max_epochs(backbone: str, dataset: str) -> int:
    # CPU budget: an epoch of the 512-wide iTransformer takes ~90 s on Weather, of PatchTST
    # ~100-270 s on ETTh1/ETTh2; the lr halves every epoch, so late epochs change little.
    if backbone == "PatchTST":
        return 6
    if backbone == "iTransformer":
        return 4 if dataset == "Weather" else 10
    return 30


def _cpu_sizes(backbone: str, dataset: str, horizon: int) -> dict:
    # beijing_air has no reference configuration; at d_model 512 its iTransformer epoch takes
    # ~9 minutes here, so it gets the authors' 128-wide configuration of ETTh2/ETTm1/ETTm2.
    if backbone == "iTransformer" and dataset == "beijing_air":
        return {"d_model": 128, "d_ff": 128, "n_layers": 2}
    return reference_sizes(backbone, dataset, horizon)


def _quick_lrs(backbone: str, dataset: str) -> tuple[float, ...]:
    return {"RLinear": (0.005,), "RMLP": (0.001,), "PatchTST": (0.001,), "iTransformer": (0.001,)}[
        backbone
    ]


def _reference_runs() -> list[tuple[str, str, str, int, tuple[float, ...]]]:
    from sae_forecast.bench.tables import reference_mse  # the packaged CSV

    rows = reference_mse()
    return [
        (r.dataset, r.backbone, r.embedding, int(r.horizon), (float(r.lr),))
        for r in rows.itertuples()
    ]


PRESETS = {
    "quick": {
        "datasets": ["ETTh1"],
        "backbones": BACKBONE_NAMES,
        "embeddings": ["shared", "lightsae"],
        "horizons": lambda dataset: CATALOG[dataset].horizons[:1],
        "sizes": _quick_sizes,
        "lrs": _quick_lrs,
        "max_epochs": lambda backbone, dataset: 6 if backbone == "RLinear" else 3,
    },
    "results": {
        "datasets": LOCAL_DATASETS,
        "backbones": BACKBONE_NAMES,
        "embeddings": ["shared", "sae", "lightsae"],
        "horizons": lambda dataset: CATALOG[dataset].horizons,
        "sizes": _cpu_sizes,
        "lrs": _cpu_lrs,
        "max_epochs": _cpu_max_epochs,
        # RLinear at every horizon; the others at the first horizon; PatchTST on ETTh1/ETTh2
        "keep": lambda d, b, h: (
            b == "RLinear"
            or (h == CATALOG[d].horizons[0] and (b != "PatchTST" or d in ("ETTh1", "ETTh2")))
        ),
    },
    "reference": {
        "runs": _reference_runs,
        "sizes": reference_sizes,
        "max_epochs": lambda backbone, dataset: 100,
    },
    "reference_pooled": {
        "runs": lambda: [run for run in _reference_runs() if run[1] == "RLinear"],
        "sizes": reference_sizes,
        "embedding_options": lambda embedding: (
            {"pooled_bias": True} if embedding == "lightsae" else {}
        ),
        "max_epochs": lambda backbone, dataset: 100,
    },
    "paper": {
        "datasets": PAPER_DATASETS,
        "backbones": BACKBONE_NAMES,
        "embeddings": ALL_EMBEDDINGS,
        "horizons": lambda dataset: CATALOG[dataset].horizons,
        "sizes": reference_sizes,
        "lrs": lambda backbone, dataset: LR_GRIDS[backbone],
        "max_epochs": lambda backbone, dataset: 100,
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

    ``precision`` may name several precisions (``("fp32", "bf16")``): each run is then repeated
    under each, so the comparison is made within one benchmark.

    Examples
    --------
    >>> runs = build_runs("quick", datasets=["ETTh1"], backbones=["RLinear"])
    >>> [(r.embedding, r.horizon, dict(r.parameters)["pool_size"]) for r in runs]
    [('shared', 96, 3), ('lightsae', 96, 3)]
    """
    if preset not in PRESETS:
        raise ValueError(f"Unknown preset {preset!r}; choose one of {sorted(PRESETS)}.")
    spec = PRESETS[preset]
    precisions = (precision,) if isinstance(precision, str) else tuple(precision)
    if "runs" in spec:
        chosen = (datasets, backbones, embeddings, horizons)
        grid = [run for run in spec["runs"]() if _selected(run[:4], chosen)]
    else:
        grid = _grid(spec, datasets, backbones, embeddings, horizons)
    runs = []
    for (dataset, backbone, embedding, horizon, grid_lrs), seed, autocast in itertools.product(
        grid, seeds, precisions
    ):
        parameters = {
            **spec["sizes"](backbone, dataset, horizon),
            **spec.get("embedding_options", lambda embedding: {})(embedding),
            "pool_size": pool_size or default_pool_size(CATALOG[dataset].n_channels),
            "rank": rank,
            "max_epochs": max_epochs or spec["max_epochs"](backbone, dataset),
            "precision": autocast,
            **({} if device == "cpu" else {"device": device}),
        }
        runs.append(
            Run(
                dataset=dataset,
                backbone=backbone,
                embedding=embedding,
                horizon=horizon,
                seed=seed,
                lrs=tuple(lrs) if lrs else grid_lrs,
                parameters=tuple(sorted(parameters.items())),
            )
        )
    return runs


def _selected(run: tuple, chosen: tuple) -> bool:
    return all(c is None or value in c for value, c in zip(run, chosen, strict=True))


def _grid(spec, datasets, backbones, embeddings, horizons) -> list[tuple]:
    """The preset's product of selections, filtered by its ``keep`` rule."""
    grid = []
    for dataset, backbone, embedding in itertools.product(
        datasets or spec["datasets"],
        backbones or spec["backbones"],
        embeddings or spec["embeddings"],
    ):
        for horizon in horizons or spec["horizons"](dataset):
            if "keep" in spec and not (horizons or spec["keep"](dataset, backbone, horizon)):
                continue
            grid_lrs = tuple(spec["lrs"](backbone, dataset))
            grid.append((dataset, backbone, embedding, horizon, grid_lrs))
    return grid
