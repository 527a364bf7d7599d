"""Fingerprints of what the forecasters train: the weights and forecasts of fixed tiny fits.

``python -m tests.fingerprints OUT.json`` writes them; ``tests/test_fingerprints.py`` compares
the current code with the committed ``tests/fingerprints.json``, recorded before the
architecture refactor (``RLinear-quantile`` re-recorded when ``interval_method="quantile"``
became conformalized quantiles with a floor under the head's spreads, issue 20). Each case
returns the SHA-256 of the trained weights (bitwise) and a few forecast values (compared with
a tolerance where the CPU differs from the recording one).
"""

from __future__ import annotations

import hashlib
import json
import sys

import numpy as np
import pandas as pd
import torch

from sae_forecast.forecasting import FORECASTERS

TINY_SIZES = {
    "RLinear": {},
    "RMLP": {"d_model": 16},
    "PatchTST": {"d_model": 16, "n_heads": 2, "d_ff": 32, "n_layers": 1, "patch_len": 8},
    "iTransformer": {"d_model": 16, "n_heads": 2, "d_ff": 16, "n_layers": 1},
}
COMMON = {"seq_len": 24, "pred_len": 8, "max_epochs": 2, "rank": 2, "pool_size": 2}


def series(n_rows: int = 240, seed: int = 0, gaps: bool = False) -> pd.DataFrame:
    """A noisy three-channel sine series on an hourly index, optionally with NaN gaps."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_rows)[:, None]
    values = np.sin(t / 6 + np.arange(3)) * 5 + 20 + rng.normal(size=(n_rows, 3))
    if gaps:
        values[rng.random(values.shape) < 0.1] = np.nan
    index = pd.date_range("2022-01-01", periods=n_rows, freq="h")
    return pd.DataFrame(values, index=index, columns=["a", "b", "c"])


def weights_sha(forecaster) -> str:
    """SHA-256 over the trained weights (names and bytes, in state-dict order)."""
    digest = hashlib.sha256()
    for name, tensor in forecaster.model_.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _record(forecaster, frame) -> dict:
    fh = list(range(1, forecaster.pred_len_ + 1))
    point = forecaster.predict(fh=fh).to_numpy()
    interval = forecaster.predict_interval(fh=fh, coverage=0.8).to_numpy()
    return {
        "sha": weights_sha(forecaster),
        "point": point[::3].round(10).tolist(),
        "interval": interval[::3].round(10).tolist(),
        "score": forecaster.score_windows(frame, start=len(frame) - 60)["mse"],
    }


def cases() -> dict:
    """Every case: name -> fingerprint dict."""
    out = {}
    for backbone, sizes in TINY_SIZES.items():
        for embedding in ("shared", "lightsae"):
            for gaps in (False, True):
                frame = series(gaps=gaps)
                forecaster = FORECASTERS[backbone](
                    **COMMON, **sizes, embedding=embedding, random_state=0
                ).fit(frame.iloc[:200])
                out[f"{backbone}-{embedding}-gaps{int(gaps)}"] = _record(forecaster, frame)
    frame = series(gaps=True)
    forecaster = FORECASTERS["RLinear"](**COMMON, interval_method="quantile", random_state=1)
    out["RLinear-quantile"] = _record(forecaster.fit(frame.iloc[:200]), frame)
    # the update cases check split conformal's rolling window, the default when recorded
    forecaster = FORECASTERS["RMLP"](
        **COMMON, **TINY_SIZES["RMLP"], interval_method="conformal", random_state=2
    )
    forecaster.fit(frame.iloc[:180]).update(frame.iloc[180:200])
    out["RMLP-update"] = _record(forecaster, frame)
    forecaster = FORECASTERS["RLinear"](**COMMON, interval_method="conformal", random_state=3)
    forecaster.fit(frame.iloc[:180]).update(frame.iloc[180:200], update_params=False)
    out["RLinear-update-no-params"] = _record(forecaster, frame)
    devices = [series(seed=s, gaps=True) for s in (4, 5)]
    panel = pd.concat(devices, keys=["d0", "d1"], names=["device", "time"])
    forecaster = FORECASTERS["RLinear"](**COMMON, random_state=4).pretrain(panel)
    out["RLinear-fleet"] = _record(forecaster.fit(frame.iloc[:200]), frame)
    return out


def main(path: str) -> None:
    torch.set_num_threads(1)
    with open(path, "w") as file:
        json.dump(cases(), file, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
