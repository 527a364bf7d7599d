"""Train and score one neuralforecast model; run by the peer study in its own environment.

This file is executed by path with the Python of the throwaway environment that
:mod:`sae_forecast.bench.peers` creates (``python _neuralforecast_worker.py SPEC``), so it
imports nothing from ``sae_forecast``: only numpy, pandas, torch, pytorch_lightning and
neuralforecast (the last two where they are used). ``SPEC`` is a JSON object:

* ``series``: a ``.npy`` file of the scaled rows ``[0, test_end)``, shape ``(rows, N)``;
* ``test_start``: the first lookback row of the first test window; the model trains on the rows
  before the first forecast origin (``test_start + seq_len``), the same rows as ours;
* ``backbone`` (``iTransformer`` or ``PatchTST``), ``sizes`` (ours, by our names),
  ``seq_len``, ``pred_len``, ``batch_size`` (windows per step), ``steps``, ``epochs`` (the
  learning rate halves ``epochs`` times, as ours does once per epoch), ``lr``, ``seed``,
  ``threads``.

The last line printed is a JSON object: the mean milliseconds per training step (from the
first training batch's start to the last one's end, over ``steps``), the fit seconds, the
test MSE and MAE over every test window in the scaled units, and the versions that ran.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd
import torch

CLOCK = {"first": None, "last": None, "steps": 0}  # module level: neuralforecast copies models


def step_clock():
    """A Lightning callback that writes to ``CLOCK`` the wall time from the first training
    batch's start to the last one's end (the copies neuralforecast makes of it share ``CLOCK``).
    Lightning is imported here, so this module imports without it (for pytest's collection)."""
    import pytorch_lightning as pl

    class StepClock(pl.Callback):
        def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
            if CLOCK["first"] is None:
                CLOCK["first"] = time.perf_counter()

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
            CLOCK["last"] = time.perf_counter()
            CLOCK["steps"] += 1

    return StepClock()


def model(spec: dict, n_series: int, clock):
    """neuralforecast's model of ``spec['backbone']`` with our sizes and training settings."""
    from neuralforecast.models import PatchTST, iTransformer

    sizes, steps = spec["sizes"], spec["steps"]
    common = dict(
        h=spec["pred_len"],
        input_size=spec["seq_len"],
        learning_rate=spec["lr"],
        max_steps=steps,
        num_lr_decays=spec["epochs"],
        val_check_steps=steps + 1,  # no validation pass during training
        early_stop_patience_steps=-1,
        scaler_type="identity",  # the rows come scaled by the training rows, as ours
        random_seed=spec["seed"],
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        logger=False,
        callbacks=[clock],
        accelerator="cpu",
    )
    if spec["backbone"] == "iTransformer":  # multivariate: a window holds every series
        return iTransformer(
            n_series=n_series,
            hidden_size=sizes["d_model"],
            n_heads=sizes["n_heads"],
            e_layers=sizes["n_layers"],
            d_ff=sizes["d_ff"],
            dropout=sizes.get("dropout", 0.1),
            windows_batch_size=spec["batch_size"],
            **common,
        )
    # univariate: one window per series, so a step holds batch_size x N windows, as ours
    return PatchTST(
        hidden_size=sizes["d_model"],
        n_heads=sizes["n_heads"],
        encoder_layers=sizes["n_layers"],
        linear_hidden_size=sizes["d_ff"],
        patch_len=sizes["patch_len"],
        stride=sizes["stride"],
        dropout=sizes.get("dropout", 0.1),
        fc_dropout=sizes.get("dropout", 0.1),
        attn_dropout=sizes.get("dropout", 0.1),
        head_dropout=0.0,
        batch_normalization=True,  # ours normalises with BatchNorm, as the paper
        batch_size=n_series,
        windows_batch_size=spec["batch_size"] * n_series,
        **common,
    )


def run(spec: dict) -> dict:
    """Fit on the rows before the first test origin and forecast every test window."""
    from neuralforecast import NeuralForecast

    torch.set_num_threads(spec["threads"])
    series = np.load(spec["series"])  # (rows, N), scaled
    names = [f"c{i}" for i in range(series.shape[1])]
    wide = pd.DataFrame(series, columns=names).rename_axis("ds").reset_index()
    long = wide.melt("ds", var_name="unique_id", value_name="y")
    first_origin = spec["test_start"] + spec["seq_len"]
    n_windows = len(series) - first_origin - spec["pred_len"] + 1
    clock = step_clock()
    engine = NeuralForecast(models=[model(spec, len(names), clock)], freq=1)
    began = time.perf_counter()
    found = engine.cross_validation(long, n_windows=n_windows, step_size=1, refit=False)
    seconds = time.perf_counter() - began
    column = next(c for c in found.columns if c not in ("unique_id", "ds", "cutoff", "y"))
    error = found[column].to_numpy() - found["y"].to_numpy()
    import neuralforecast
    import pytorch_lightning as pl

    return {
        "ms/step": 1e3 * (CLOCK["last"] - CLOCK["first"]) / CLOCK["steps"],
        "steps": CLOCK["steps"],
        "fit and forecast s": seconds,
        "mse": float(np.mean(error**2)),
        "mae": float(np.mean(np.abs(error))),
        "test windows": int(found["cutoff"].nunique()),
        "version": f"neuralforecast {neuralforecast.__version__}, "
        f"pytorch_lightning {pl.__version__}, torch {torch.__version__}",
    }


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))
