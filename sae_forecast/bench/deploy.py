"""Deploy: latency, file size, peak memory and install size of torch against onnxruntime.

For each backbone at the reference sizes (LightSAE embedding, random weights: latency does not
depend on their values) it times one forward pass, per window, at each batch size, of: the
eager torch model (``lightsae``, unmerged: its merged weight cached in eval mode), the merged
torch model (:func:`~sae_forecast.nn.deployable`), onnxruntime on the exported graph, and the
:class:`~sae_forecast.deploy.OnnxPredictor` a gateway calls (scaling, gap filling, graph,
unscaling), interleaved, median over ``--repeats``; and the ONNX file's size. Then the peak
memory of a fresh process that imports the predictor only, loads the file and predicts one
window, against one that imports torch, loads the merged module and predicts; and the install
size of onnxruntime + numpy against torch + numpy, dependencies included. Run it with
``--threads 1`` (onnxruntime uses as many threads as torch).
"""

from __future__ import annotations

import importlib.metadata
import tempfile
from pathlib import Path

import numpy as np
import torch

from sae_forecast.bench.deploy_footprint import (
    RUNTIME_PACKAGES,
    install_mib,
    package_closure,
    predicting_process_peak,
)
from sae_forecast.bench.presets import (
    BACKBONE_NAMES,
    HORIZON,
    SEQ_LEN,
    default_pool_size,
    reference_sizes,
)
from sae_forecast.bench.report import markdown
from sae_forecast.bench.runner import Cell, keyed_cell
from sae_forecast.bench.speed import interleaved_medians
from sae_forecast.data import CATALOG
from sae_forecast.deploy import ForecastMetadata, OnnxPredictor
from sae_forecast.nn import BACKBONES, deployable, export_onnx

KEY = ("key",)
RECORDS = "deploy.jsonl"
DEFAULT_OUT = "docs/benchmarks/deploy"
TABLES = ("latency", "memory", "install")
TINY_SIZES = {  # --tiny: a smoke run in seconds
    "RLinear": {},
    "RMLP": {"d_model": 16},
    "PatchTST": {"d_model": 16, "n_heads": 2, "d_ff": 16, "n_layers": 1},
    "iTransformer": {"d_model": 16, "n_heads": 2, "d_ff": 16, "n_layers": 1},
}


def onnxruntime_version() -> str:
    """The installed onnxruntime's version (the module is imported only to time it)."""
    try:
        return importlib.metadata.version("onnxruntime")
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def sizes(backbone: str, args) -> dict:
    """The backbone's hyperparameters: the reference sizes, or tiny ones with ``--tiny``."""
    if args.tiny:
        return dict(TINY_SIZES[backbone])
    return reference_sizes(backbone, args.dataset, HORIZON)


def build_model(backbone: str, args) -> torch.nn.Module:
    """The eval-mode LightSAE backbone, its residual path made non-zero (B starts at 0)."""
    n_channels = CATALOG[args.dataset].n_channels
    torch.manual_seed(0)
    model = BACKBONES[backbone](
        SEQ_LEN,
        HORIZON,
        n_channels,
        embedding="lightsae",
        pool_size=default_pool_size(n_channels),
        **sizes(backbone, args),
    ).eval()
    with torch.no_grad():
        model.embedding.right.normal_(0.0, 0.02)
    return model


def export_file(model: torch.nn.Module, path: Path) -> None:
    """``model``'s ONNX file, with the metadata of an identity scaler."""
    n_channels = model.n_channels
    metadata = ForecastMetadata(
        seq_len=model.seq_len,
        pred_len=model.pred_len,
        columns=tuple(range(n_channels)),
        mean=np.zeros(n_channels),
        std=np.ones(n_channels),
        embedding="lightsae",
    )
    export_onnx(model, path, metadata=metadata.to_props())


def latency_rows(backbone: str, args, folder: Path) -> list[dict]:
    """Milliseconds per window of the four paths at each batch size, and the file size."""
    model = build_model(backbone, args)
    merged = deployable(model)
    path = folder / f"{backbone}.onnx"
    export_file(model, path)
    threads = torch.get_num_threads()
    predictor = OnnxPredictor.load(path, n_threads=threads)
    rows, rng = [], np.random.default_rng(0)
    for batch in args.batches:
        windows = rng.normal(size=(batch, SEQ_LEN, model.n_channels)).astype(np.float32)
        tensor = torch.from_numpy(windows)
        feeds = {"window": windows}
        paths = {
            "torch eager (lightsae)": lambda t=tensor: model(t),
            "torch merged": lambda t=tensor: merged(t),
            "onnxruntime": lambda f=feeds: predictor.session.run(None, f),
            "OnnxPredictor": lambda w=windows: predictor.predict(w),
        }
        with torch.inference_mode():
            ms = interleaved_medians(paths, repeats=args.repeats, warmup=2)
            expected = model(tensor).numpy()
        difference = float(np.abs(predictor.session.run(None, feeds)[0] - expected).max())
        for name, value in ms.items():
            row = {"backbone": backbone, "batch": batch, "path": name}
            row.update({"ms/window": value / batch, "ms/call": value})
            rows.append({**row, "max abs diff vs eager": difference if "onnx" in name else None})
    size = path.stat().st_size / 2**20
    return [{**row, "onnx file (MiB)": size, "threads": threads} for row in rows]


def memory_row(backbone: str, runtime: str, args, folder: Path) -> dict:
    """Peak RSS of a fresh process forecasting one window with ``runtime``."""
    model = build_model(backbone, args)
    rows = folder / "rows.npy"
    np.save(rows, np.random.default_rng(0).normal(size=(1, SEQ_LEN, model.n_channels)))
    if runtime == "onnxruntime":
        path = folder / f"{backbone}.onnx"
        export_file(model, path)
    else:
        path = folder / f"{backbone}.pt"
        torch.save(deployable(model), path)
    peak = predicting_process_peak(runtime, path, rows)
    return {"backbone": backbone, "runtime": runtime, **peak}


def install_rows() -> list[dict]:
    """Disk size of each runtime's packages, dependencies included."""
    rows = []
    for runtime, names in RUNTIME_PACKAGES.items():
        closure = package_closure(names)
        rows.append(
            {"runtime": runtime, "installed (MiB)": install_mib(closure), "packages": closure}
        )
    return rows


def add_options(parser) -> None:
    """The backbones, batch sizes, repeats, the tables and the smoke switch."""
    add = parser.add_argument
    add("--dataset", default="ETTh1", help="sets the channel count and the reference sizes")
    add("--backbones", nargs="+", default=BACKBONE_NAMES, choices=BACKBONE_NAMES)
    add("--batches", nargs="+", type=int, default=[1, 256])
    add("--repeats", type=int, default=30)
    add("--tiny", action="store_true", help="tiny sizes: a smoke run in seconds")
    add("--tables", nargs="+", default=list(TABLES), choices=TABLES)


def _settings(args, backbone: str | None = None) -> dict:
    found = {"dataset": args.dataset, "tiny": args.tiny, "ort": onnxruntime_version()}
    if backbone is not None:
        found["sizes"] = sizes(backbone, args)
    return found


def cells(args) -> list[Cell]:
    """One latency cell per backbone, one memory cell per backbone and runtime, one install."""
    found = []
    for backbone in args.backbones:
        timing = {**_settings(args, backbone), "batches": args.batches, "repeats": args.repeats}
        found.append(keyed_cell(f"latency {backbone}", (backbone, None), **timing))
        for runtime in RUNTIME_PACKAGES:
            label = f"memory {backbone} {runtime}"
            found.append(keyed_cell(label, (backbone, runtime), **_settings(args, backbone)))
    found.append(keyed_cell("install", None, **_settings(args)))
    return [cell for cell in found if cell.label.split()[0] in args.tables]


def compute(cell: Cell, args) -> list[dict]:
    """The rows of one cell, each naming its table."""
    table = cell.label.split()[0]
    with tempfile.TemporaryDirectory() as folder:
        if table == "latency":
            rows = latency_rows(cell.spec[0], args, Path(folder))
        elif table == "memory":
            rows = [memory_row(*cell.spec, args, Path(folder))]
        else:
            rows = install_rows()
    return [{"table": table, **row} for row in rows]


def write_page(out, records, invocation, args) -> None:
    """``deploy.md``: the configuration and the three tables; printed as well."""
    n_channels = CATALOG[args.dataset].n_channels
    described = "; ".join(f"{b} {sizes(b, args) or 'no sizes'}" for b in args.backbones)
    text = (
        f"# Deployment: torch against onnxruntime\n\n{invocation.generated}, onnxruntime "
        f"{onnxruntime_version()}.\n\nconfig: LightSAE "
        f"(K={default_pool_size(n_channels)}), {args.dataset} shape (N={n_channels}), "
        f"L={SEQ_LEN}, H={HORIZON}; {described}; batches {args.batches}, median of "
        f"{args.repeats} interleaved calls\n"
    )
    headings = {
        "latency": "\n## Latency per window and ONNX file size\n\n",
        "memory": "\n## Peak memory of a process that loads the model and forecasts\n\n",
        "install": "\n## Install size (packages and their dependencies)\n\n",
    }
    for table, heading in headings.items():
        rows = invocation.table(records, KEY, table)
        text += f"{heading}{markdown(rows)}\n" if len(rows) else ""
    (out / "deploy.md").write_text(text)
    print(text)
