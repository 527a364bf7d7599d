"""Peers: our training step against neuralforecast's, same sizes, same steps, one run.

neuralforecast is never a dependency of this package. The study creates a throwaway virtual
environment (``--peer-env``, default ``.peer-envs/neuralforecast-<version>``, ignored by git),
installs ``neuralforecast==<version>`` there with torch pinned to the running version, and runs
:mod:`sae_forecast.bench._neuralforecast_worker` with that environment's Python.

Both sides train on the rows of the standard protocol before the first test origin (training and
validation parts, no validation pass), scaled by the training rows, for the same number of
steps: ``--epochs`` of ours at ``--batch-size`` windows, with Adam and the learning rate halved
once per epoch on both sides (ours also clips gradient norms at 1.0, its default protocol). A
step holds ``batch_size`` windows of all ``N`` channels on both sides (neuralforecast's
univariate PatchTST samples ``batch_size x N`` series windows per step). The sizes are
neuralforecast's PatchTST defaults (d_model 128, 16 heads, 3 layers, d_ff 256, patches of 16
with stride 8) and a 128-wide, two-layer iTransformer; dropout 0.1 everywhere, RevIN on
both sides, one fit per ``--seeds`` seed and side. ``ms/step`` is the mean over all steps of
the training loop's wall time (data loading, forward, backward and optimiser: ours from
skorch's training batches, neuralforecast's from its first batch start to its last batch
end). Every test window is scored (MSE and MAE in units of the training rows' per-channel
standard deviation). Ours runs with the shared embedding and with LightSAE. With the shared
embedding our iTransformer is neuralforecast's architecture; our PatchTST (the LightSAE
authors' and Time-Series-Library's) differs from neuralforecast's, which follows the PatchTST
paper's code: fixed sine/cosine positions where it learns them, and no residual attention
(scores added across layers). The comparison table averages over the seeds (``speed-up``: the
ratio of the mean times; ``per seed``: the range of the ratios seed by seed; ``sd``: the
standard deviation of the test MSE over the seeds).

The efficiency table measures, in the same run, the two cores' fp32 matmul peak (the best of
``--peak-repeats`` products of two 2048 x 2048 matrices) and what our iTransformer at the ETTh1
reference width (d_model 256, LightSAE) reaches in training: the matmul FLOPs of one training
step (forward and backward, counted by ``torch.utils.flop_counter``) over its mean time per
step in a one-epoch fit; and where the time of its training step goes, by class of operation
(``--profile-steps`` steps of the fitted model, batch ``--batch-size``, under the profiler,
which slows small operations: read the shares, not the absolute times).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from sae_forecast.bench.presets import HORIZON, SEQ_LEN, reference_sizes
from sae_forecast.bench.report import cpu_model, markdown
from sae_forecast.bench.runner import Cell, keyed_cell
from sae_forecast.bench.runs import series
from sae_forecast.data import CATALOG, Standardiser, split_borders
from sae_forecast.forecasting import FORECASTERS

KEY = ("key",)
RECORDS = "peers.jsonl"
DEFAULT_OUT = "docs/benchmarks/peers"
PEER = "neuralforecast"
OURS = "sae_forecast"
WORKER = Path(__file__).with_name("_neuralforecast_worker.py")
SIZES = {  # neuralforecast's PatchTST defaults; iTransformer at the width the issue timed
    "iTransformer": {"d_model": 128, "n_heads": 8, "n_layers": 2, "d_ff": 128},
    "PatchTST": {
        "d_model": 128, "n_heads": 16, "n_layers": 3, "d_ff": 256, "patch_len": 16, "stride": 8,
    },
}  # fmt: skip
TARGET_RATIO = 2.0  # issue 22: at least 2x neuralforecast's time per step
TARGET_PEAK_SHARE = 0.6  # issue 22: iTransformer d_model 256 at 60% of the matmul peak
PEAK_SIZE = 2048


def add_options(parser) -> None:
    """Dataset, backbones, epochs, lr, batch and the peer's version and environment."""
    add = parser.add_argument
    add("--dataset", default="ETTh1")
    add("--backbones", nargs="+", default=list(SIZES), choices=list(SIZES))
    add("--epochs", type=int, default=3, help="our epochs; both sides train as many steps")
    add("--lr", type=float, default=1e-4)
    add("--batch-size", type=int, default=32, help="windows (of all channels) per step")
    add("--seeds", nargs="+", type=int, default=[0, 1, 2], help="one fit per seed and side")
    add("--peer-version", default="3.3.0", help="the neuralforecast version to install")
    add("--peer-env", default=None, help="its environment (default .peer-envs/<name>)")
    add("--peak-repeats", type=int, default=20, help="matmuls timed for the peak")
    add("--profile-steps", type=int, default=50, help="training steps profiled")


def cells(args) -> list[Cell]:
    """Per backbone and seed: ours with the shared and the LightSAE embedding, and the peer's."""
    found = []
    sides = ((OURS, "shared"), (OURS, "lightsae"), (PEER, "shared"))
    for backbone in args.backbones:
        for seed in args.seeds:
            for framework, embedding in sides:
                spec = {
                    "dataset": args.dataset, "backbone": backbone, "framework": framework,
                    "embedding": embedding, "sizes": SIZES[backbone], "epochs": args.epochs,
                    "lr": args.lr, "batch_size": args.batch_size, "seed": seed,
                }  # fmt: skip
                if framework == PEER:
                    spec["version"] = args.peer_version
                label = f"{args.dataset} {backbone} {framework} {embedding} seed {seed}"
                found.append(keyed_cell(label, spec, **spec, threads=args.threads))
    spec = {"dataset": args.dataset, "efficiency": "iTransformer", "lr": args.lr,
            "batch_size": args.batch_size, "peak_repeats": args.peak_repeats,
            "profile_steps": args.profile_steps}  # fmt: skip
    label = f"{args.dataset} iTransformer share of the matmul peak"
    found.append(keyed_cell(label, spec, **spec, threads=args.threads))
    return found


def _protocol(dataset: str, data_home) -> tuple[pd.DataFrame, dict]:
    frame = series(dataset, data_home).reset_index(drop=True)
    return frame, split_borders(CATALOG[dataset].split, len(frame), SEQ_LEN)


def equal_steps(borders: dict, epochs: int, batch_size: int) -> int:
    """Our training steps on the rows before the first test origin: ``epochs`` times the
    batches of an epoch (the last one partial).

    Examples
    --------
    >>> equal_steps({"valid": (8544, 11520)}, epochs=1, batch_size=32)  # ETTh1: 11329 windows
    355
    """
    windows = borders["valid"][1] - SEQ_LEN - HORIZON + 1
    return epochs * -(-windows // batch_size)


def compute(cell: Cell, args) -> list[dict]:
    """One side's timing and test scores."""
    spec = cell.spec
    frame, borders = _protocol(spec["dataset"], args.data_home)
    if "efficiency" in spec:
        return _efficiency(spec, frame, borders)
    steps = equal_steps(borders, spec["epochs"], spec["batch_size"])
    if spec["framework"] == OURS:
        result = _ours(spec, frame, borders, steps)
    else:
        result = _peer(spec, frame, borders, steps, args)
    row = {k: spec[k] for k in ("dataset", "backbone", "framework", "embedding", "seed")}
    return [{"table": "runs", **row, **result, "threads": torch.get_num_threads()}]


def _training_scaler(frame: pd.DataFrame, borders: dict) -> Standardiser:
    """The protocol's per-channel standardisation, fitted on the training rows."""
    return Standardiser.fit(frame.iloc[: borders["train"][1]].to_numpy(np.float64))


def _ours(spec: dict, frame: pd.DataFrame, borders: dict, steps: int) -> dict:
    """Fit our forecaster on the rows before the first test origin and score every test
    window, through the public API."""
    forecaster = FORECASTERS[spec["backbone"]](
        seq_len=SEQ_LEN, pred_len=HORIZON, embedding=spec["embedding"], lr=spec["lr"],
        batch_size=spec["batch_size"], max_epochs=spec["epochs"], validation_size=0,
        random_state=spec["seed"], **spec["sizes"],
    )  # fmt: skip
    forecaster.fit(frame.iloc[: borders["valid"][1]])
    history = forecaster.net_.history
    trained = sum(len(epoch["batches"]) for epoch in history)
    if trained != steps:
        raise RuntimeError(f"ours trained {trained} steps, the peer is given {steps}.")
    test_start, test_end = borders["test"]
    score = forecaster.score_windows(
        frame.iloc[:test_end], start=test_start, std=_training_scaler(frame, borders).std
    )
    return {
        "ms/step": 1e3 * float(np.sum(history[:, "train_dur"])) / steps,
        "steps": steps,
        "mse": score["mse"],
        "mae": score["mae"],
        "test windows": score["n_windows"],
        "version": f"sae_forecast, torch {torch.__version__}",
        "cpu": cpu_model(),
    }


def matmul_peak_gflops(size: int = PEAK_SIZE, repeats: int = 20) -> float:
    """The best fp32 GFLOP/s of ``repeats`` products of two ``size x size`` matrices.

    Examples
    --------
    >>> matmul_peak_gflops(64, repeats=2) > 0
    True
    """
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - began)
    return 2 * size**3 / best / 1e9


def step_flops(model: torch.nn.Module, x: torch.Tensor) -> int:
    """Matmul FLOPs of one training step's forward and backward on the batch ``x``.

    Examples
    --------
    >>> step_flops(torch.nn.Linear(4, 3), torch.randn(2, 4))  # 2*2*4*3, and the weight's grad
    96
    """
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.train()
    with FlopCounterMode(display=False) as counter:
        model(x).square().mean().backward()
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    return counter.get_total_flops()


OP_CLASSES = {  # aten ops by what they do; the rest is "other"
    "matmul": ("mm", "addmm", "bmm"),
    "random draws (dropout)": ("random_",),
    "copies and layout": ("copy_", "cat", "stack", "clone", "_to_copy", "index_select"),
    "softmax, norms, activation": (
        "_softmax", "_softmax_backward_data", "native_layer_norm", "native_layer_norm_backward",
        "gelu", "gelu_backward", "relu", "threshold_backward",
    ),
    "optimiser (fused Adam)": ("_fused_adam_",),
    "elementwise and reductions": (
        "mul", "mul_", "add", "add_", "sub", "div", "div_", "ge", "lerp_", "sqrt", "sum", "mean",
        "mse_loss", "mse_loss_backward", "neg", "pow", "addcmul_", "addcdiv_", "where", "fill_",
        "zero_", "var_mean", "rsub", "exp", "square",
    ),
}  # fmt: skip


def step_profile(model: torch.nn.Module, x: torch.Tensor, steps: int = 20) -> dict[str, float]:
    """Milliseconds per training step spent in each class of :data:`OP_CLASSES` (own time of
    the aten ops, under ``torch.profiler``), for a copy of ``model`` trained on the batch ``x``
    with fused Adam and an MSE loss; ``other`` is every other op, ``outside ops`` the rest of
    the step's profiled wall time (Python, autograd and the profiler's own work).

    Examples
    --------
    >>> times = step_profile(torch.nn.Linear(4, 3), torch.randn(8, 4), steps=2)
    >>> times["matmul"] > 0, sorted(times)[:2]
    (True, ['copies and layout', 'elementwise and reductions'])
    """
    import copy

    from torch.profiler import profile

    model = copy.deepcopy(model).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-4, fused=True)
    target = torch.zeros_like(model(x)).detach()

    def step():
        optimiser.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(model(x), target).backward()
        optimiser.step()

    for _ in range(3):
        step()
    with profile() as profiled:
        began = time.perf_counter()
        for _ in range(steps):
            step()
        wall = time.perf_counter() - began
    classes = {name: cls for cls, names in OP_CLASSES.items() for name in names}
    times = dict.fromkeys([*OP_CLASSES, "other", "outside ops"], 0.0)
    for event in profiled.key_averages():
        if event.key.startswith("aten::"):
            times[classes.get(event.key[len("aten::") :], "other")] += event.self_cpu_time_total
    inside = sum(times.values())
    times = {name: value / 1e3 / steps for name, value in times.items()}  # us to ms per step
    times["outside ops"] = max(0.0, 1e3 * wall / steps - inside / 1e3 / steps)
    return times


def _efficiency(spec: dict, frame: pd.DataFrame, borders: dict) -> list[dict]:
    """Our iTransformer's matmul GFLOP/s in a one-epoch fit against the matmul peak, and
    where the time of a training step goes."""
    sizes = reference_sizes("iTransformer", spec["dataset"], HORIZON)
    peak = matmul_peak_gflops(repeats=spec["peak_repeats"])
    forecaster = FORECASTERS["iTransformer"](
        seq_len=SEQ_LEN, pred_len=HORIZON, lr=spec["lr"], batch_size=spec["batch_size"],
        max_epochs=1, validation_size=0, random_state=0, **sizes,
    )  # fmt: skip
    forecaster.fit(frame.iloc[: borders["valid"][1]])
    history = forecaster.net_.history
    steps = len(history[-1]["batches"])
    seconds = float(history[-1]["train_dur"]) / steps
    batch = torch.randn(spec["batch_size"], SEQ_LEN, frame.shape[1])
    flops = step_flops(forecaster.model_, batch)
    achieved = flops / seconds / 1e9
    efficiency = {
        "table": "efficiency", "backbone": "iTransformer", **sizes,
        "embedding": forecaster.embedding, "GFLOP/step": flops / 1e9, "ms/step": 1e3 * seconds,
        "GFLOP/s": achieved, "matmul peak GFLOP/s": peak, "share of peak": achieved / peak,
        "threads": torch.get_num_threads(), "cpu": cpu_model(),
    }  # fmt: skip
    profiled = step_profile(forecaster.model_, batch, steps=spec["profile_steps"])
    total = sum(profiled.values())
    profile_rows = [
        {"table": "profile", "time of": name, "ms/step": value, "share": value / total}
        for name, value in profiled.items()
    ]
    return [efficiency, *profile_rows]


def peer_python(version: str, env: str | None) -> Path:
    """The Python of the peer's environment, created (and neuralforecast installed) if missing."""
    root = Path(env) if env else Path(".peer-envs") / f"neuralforecast-{version}"
    python = root / "bin" / "python"
    if not python.exists():
        print(f"  creating {root} (neuralforecast=={version})", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
        pins = [f"neuralforecast=={version}", f"torch=={torch.__version__.split('+')[0]}"]
        install = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        subprocess.run([*install, *pins], check=True)
    return python


def _peer(spec: dict, frame: pd.DataFrame, borders: dict, steps: int, args) -> dict:
    """The worker's result in the peer's environment, on the same scaled rows."""
    python = peer_python(spec["version"], args.peer_env)
    test_start, test_end = borders["test"]
    scaled = _training_scaler(frame, borders).transform(frame.iloc[:test_end].to_numpy())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "series.npy"
        np.save(path, scaled)
        job = {
            "series": str(path), "test_start": test_start, "backbone": spec["backbone"],
            "sizes": spec["sizes"], "seq_len": SEQ_LEN, "pred_len": HORIZON,
            "batch_size": spec["batch_size"], "steps": steps, "epochs": spec["epochs"],
            "lr": spec["lr"], "seed": spec["seed"], "threads": torch.get_num_threads(),
        }  # fmt: skip
        done = subprocess.run(
            [str(python), str(WORKER), json.dumps(job)], capture_output=True, text=True
        )
    if done.returncode:
        raise RuntimeError(f"the neuralforecast worker failed:\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["steps"] != steps:
        raise RuntimeError(f"neuralforecast trained {result['steps']} steps, not {steps}.")
    return {**result, "cpu": cpu_model()}


def compared(runs: pd.DataFrame) -> pd.DataFrame:
    """Per backbone and our embedding, over the seeds: the peer's mean time per step over
    ours, and both MSEs (mean and standard deviation over the seeds)."""
    rows = []
    for backbone, group in runs.groupby("backbone", sort=False):
        peer = group[group["framework"] == PEER]
        if peer.empty:
            continue
        ours_runs = group[group["framework"] == OURS]
        for embedding, ours in ours_runs.groupby("embedding", sort=False):
            ratio = peer["ms/step"].mean() / ours["ms/step"].mean()
            rows.append(
                {
                    "backbone": backbone,
                    "ours": embedding,
                    "seeds": f"{len(ours)} / {len(peer)}",
                    "ms/step ours": ours["ms/step"].mean(),
                    f"ms/step {PEER}": peer["ms/step"].mean(),
                    "speed-up": ratio,
                    "per seed": _per_seed(ours, peer),
                    "mse ours": ours["mse"].mean(),
                    "sd ours": ours["mse"].std(ddof=1),
                    f"mse {PEER}": peer["mse"].mean(),
                    f"sd {PEER}": peer["mse"].std(ddof=1),
                    f">= {TARGET_RATIO:g}x and mse no worse": bool(
                        ratio >= TARGET_RATIO and ours["mse"].mean() <= peer["mse"].mean()
                    ),
                }
            )
    return pd.DataFrame(rows)


EFFICIENCY_COLUMNS = [
    "backbone", "embedding", "d_model", "d_ff", "n_layers", "GFLOP/step", "ms/step", "GFLOP/s",
    "matmul peak GFLOP/s", "share of peak", "threads", "cpu",
]  # fmt: skip


def _ordered(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return frame if frame.empty else frame[columns]


def _per_seed(ours: pd.DataFrame, peer: pd.DataFrame) -> str:
    """The range of the peer's time per step over ours, seed by seed (``"2.1"``, ``"1.9-2.4"``)."""
    if "seed" not in ours:
        return ""
    paired = ours.merge(peer, on="seed", suffixes=("", " peer"))
    ratios = paired["ms/step peer"] / paired["ms/step"]
    low, high = ratios.min(), ratios.max()
    return f"{low:.2f}" if np.isclose(low, high) else f"{low:.2f}-{high:.2f}"


def _peak_verdict(efficiency: pd.DataFrame) -> str:
    if efficiency.empty:
        return "The share of the matmul peak was not measured by this command."
    share = float(efficiency["share of peak"].iloc[-1])
    verdict = "meets" if share >= TARGET_PEAK_SHARE else "misses"
    return (
        f"iTransformer at d_model {int(efficiency['d_model'].iloc[-1])} trains at "
        f"{100 * share:.0f}% of the matmul peak measured in the same run: it {verdict} the "
        f"{100 * TARGET_PEAK_SHARE:.0f}% target."
    )


def write_page(out, records, invocation, args) -> None:
    """``peers.md``: every run, and the peer against ours per backbone."""
    runs = invocation.table(records, KEY, "runs")
    efficiency = _ordered(invocation.table(records, KEY, "efficiency"), EFFICIENCY_COLUMNS)
    profiled = _ordered(invocation.table(records, KEY, "profile"), ["time of", "ms/step", "share"])
    text = [
        f"# Peers: our training step against neuralforecast's\n\n{invocation.generated}.\n",
        __doc__.split("\n\n", 1)[1].strip(),
        f"\n## Runs\n\n{markdown(runs)}",
        f"\n## Per step, same run\n\n{markdown(compared(runs))}",
        f"\n## Share of the matmul peak\n\n{markdown(efficiency)}",
        f"\n{_peak_verdict(efficiency)}",
        f"\n### Where its training step goes (torch.profiler)\n\n{markdown(profiled)}",
    ]
    (out / "peers.md").write_text("\n".join(text) + "\n")
