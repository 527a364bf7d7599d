"""The functions that write the benchmark pages."""

from __future__ import annotations

import pandas as pd

from sae_forecast.bench.tables import (
    add_derived_columns,
    configuration_markdown,
    headline_markdown,
    reference_mse,
    results_markdown,
    write_pages,
)


def _records(**changes) -> pd.DataFrame:
    rows = pd.DataFrame(
        {
            "dataset": ["ETTh1"] * 3,
            "backbone": ["RLinear"] * 3,
            "embedding": ["shared", "sae", "lightsae"],
            "horizon": [96] * 3,
            "seed": [0] * 3,
            "precision": ["fp32"] * 3,
            "lr_grid": [[0.01, 0.005]] * 3,
            "lr": [0.01, 0.01, 0.005],
            "n_channels": [7] * 3,
            "mse": [0.40, 0.41, 0.38],
            "mae": [0.4] * 3,
            "params": [100, 200, 104],
            "epochs": [5] * 3,
            "max_epochs": [30] * 3,
            "s_per_epoch": [1.0] * 3,
            "infer_ms_per_window": [0.1] * 3,
            "parameters": [{"pool_size": 3, "d_model": 8}] * 3,
            "pool_size": [3] * 3,
            "rank": [25] * 3,
        }
    )
    return rows.assign(**changes)


def test_changes_are_taken_against_shared_of_the_same_grid():
    rows = add_derived_columns(_records())
    assert rows["mse_change_pct"].round(1).tolist() == [0.0, 2.5, -5.0]
    assert rows["param_overhead_pct"].round(1).tolist() == [0.0, 100.0, 4.0]
    other_grid = add_derived_columns(_records(lr_grid=[[0.01]] * 2 + [[0.005]]))
    assert other_grid["mse_change_pct"].isna().tolist() == [False, False, True]


def test_published_and_authors_figures_join_the_right_rows():
    rows = add_derived_columns(_records())
    assert rows["published_mse"].notna().tolist() == [True, False, False]
    authors = reference_mse().query(
        "dataset == 'ETTh1' and backbone == 'RLinear' and embedding == 'lightsae' and lr == 0.005"
    )
    assert rows["reference_mse"].iloc[2] == authors["mse"].iloc[0]


def test_headline_lists_the_three_embeddings_with_their_changes():
    table = headline_markdown(add_derived_columns(_records()))
    lines = table.splitlines()
    assert [cell.strip() for cell in lines[0].split("|")[1:-1]] == [
        "dataset", "N", "backbone", "H", "shared", "SAE", "LightSAE", "published (shared)",
    ]  # fmt: skip
    assert "0.4100 (+2.5%)" in table and "0.3800 (-5.0%)" in table and "0.386" in table


def test_results_and_configuration_tables():
    rows = add_derived_columns(_records())
    table = results_markdown(rows)
    assert "-5.0%" in table and "+4.0%" in table and "5/30" in table
    assert "precision" not in table.splitlines()[0]
    assert "d_model=8" in configuration_markdown(rows)
    assert "pool_size" not in configuration_markdown(rows)


def test_write_pages(tmp_path):
    records = _records()
    write_pages(tmp_path, "Header.\n\n", add_derived_columns(records), protocol="P")
    page = (tmp_path / "results.md").read_text()
    assert page.startswith("# Accuracy benchmark\n\nHeader.\n\nProtocol: P.\n\n## Summary")
    assert "![MSE change vs shared](gains.png)" in page
    assert "grid" not in records  # the caller's frame is not modified
    assert "## Configuration" in page and (tmp_path / "gains.png").stat().st_size > 5_000
    assert (tmp_path / "headline.md").read_text().startswith("Header.")
