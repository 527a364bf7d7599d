"""The covariates study: the EPF protocol, the three X modes, the page beside the published rows."""

from __future__ import annotations

import json

import pandas as pd

from sae_forecast.bench import covariates
from sae_forecast.bench.runner import main, parse_args


def test_cells_cover_the_modes_and_keep_cpu_keys_stable():
    _, args = parse_args(["covariates", "--markets", "NP", "--backbones", "RLinear"])
    cells = covariates.cells(args)
    labels = [cell.label for cell in cells]
    assert "EPF_NP RLinear lightsae X=future" in labels
    assert "beijing_air RLinear lightsae X=future gates" in labels
    assert "cost EPF_NP iTransformer" in labels
    _, on_gpu = parse_args(["covariates", "--markets", "NP", "--backbones", "RLinear",
                            "--device", "cuda"])  # fmt: skip
    assert not {c.key for c in cells} & {c.key for c in covariates.cells(on_gpu)}


def test_frames_split_targets_from_covariates(data_home):
    y, X = covariates.epf_frame("PJM", data_home)
    assert list(y.columns) == ["OT"] and X.shape == (52416, 2)
    y, X = covariates.beijing_frame(data_home)
    assert y.shape[1] == 12 and X.shape[1] == 60
    assert all(c.endswith("_PM2.5") for c in y.columns)


def test_best_rows_are_chosen_on_validation_not_test():
    fits = pd.DataFrame(
        {
            "dataset": ["EPF_NP"] * 2,
            "backbone": ["RLinear", "RMLP"],
            "embedding": ["lightsae"] * 2,
            "mode": ["future"] * 2,
            "valid_mse": [0.1, 0.2],
            "mse": [0.3, 0.2],  # the better test score belongs to the worse validation score
        }
    )
    best = covariates._best_against_timexer(fits).iloc[0]
    assert best["future: model"] == "RLinear lightsae" and best["future: test MSE"] == 0.3
    assert best["TimeXer (published)"] == 0.236 and best["future vs TimeXer"] == "+27.1%"


def test_smoke_run_writes_records_and_the_page(tmp_path, data_home):
    options = ["--markets", "NP", "--backbones", "RLinear", "--embeddings", "lightsae",
               "--modes", "none", "future", "--beijing-backbones", "--cost-backbones",
               "RLinear", "--cost-rounds", "1", "--max-epochs", "1"]  # fmt: skip
    main(["covariates", *options, "--data-home", str(data_home), "--out", str(tmp_path)])
    records = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    fits = {r["mode"]: r for r in records if r.get("table") != "cost"}
    assert fits["future"]["n_covariates"] == 2 and fits["none"]["n_covariates"] == 0
    assert fits["future"]["test_windows"] == fits["none"]["test_windows"] == 10460
    (cost,) = [r for r in records if r.get("table") == "cost"]
    assert cost["ratio"] > 0 and len(cost["seconds"]["with X"]) == 1
    page = (tmp_path / "covariates.md").read_text()
    assert "TimeXer" in page and "| RLinear" in page and "Cost of X" in page
