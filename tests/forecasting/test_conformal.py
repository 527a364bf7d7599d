"""The pieces of every conformal method: the score window and adaptive conformal inference."""

from __future__ import annotations

import numpy as np
import pytest

from sae_forecast.forecasting._conformal import LevelTracker, QuantileTracker, ScoreWindow


def test_window_quantiles_use_the_conformal_ranks_and_skip_gaps():
    scores = np.arange(1.0, 10.0)[:, None, None].repeat(2, axis=2)  # 1..9, two channels
    scores[:4, 0, 1] = np.nan  # channel 1 keeps 5..9
    window = ScoreWindow(scores)
    assert window.counts.tolist() == [[9, 5]]
    # n=9: rank ceil(10 * 0.8) = 8 above the median, floor(10 * 0.2) = 2 below it
    assert window.quantile(0.8)[0, 0] == 8.0 and window.quantile(0.2)[0, 0] == 2.0
    assert window.quantile(0.8)[0, 1] == 9.0  # n=5: rank ceil(6 * 0.8) = 5
    assert window.quantile(1.0)[0, 0] == 9.0 and window.quantile(0.0)[0, 0] == 1.0  # clipped


def test_window_rolls_and_never_changes_the_callers_scores():
    first = np.zeros((3, 1, 1))
    window = ScoreWindow(first, size=3)
    window.extend(np.ones((2, 1, 1)))
    assert window.scores[:, 0, 0].tolist() == [0.0, 1.0, 1.0]
    assert (first == 0).all()


@pytest.mark.parametrize("pooled", [False, True])
def test_long_run_coverage_holds_on_a_sequence_that_drifts_without_end(pooled):
    """Scores whose scale grows tenfold: a fixed window covers ever less, the tracked
    levels keep the miss rate within the ACI bound (1 + step) / (step * T) of nominal."""
    rng = np.random.default_rng(0)
    n_rows, step = 3000, 0.02
    scores = rng.normal(size=(n_rows, 1, 2)) * np.linspace(1, 10, n_rows)[:, None, None]
    window = ScoreWindow(scores[:200], size=200)
    tracker = LevelTracker([0.9], (1, 2), step_size=step, pooled=pooled)
    covered, fixed = [], window.quantile(0.9)
    for row in scores[200:]:
        bound = tracker.bounds(window)[0]
        covered.append(row <= bound)
        tracker.observe(row[None], window)
        window.extend(row[None])
    share = np.mean(covered)
    assert abs(share - 0.9) <= (1 + step) / (step * (n_rows - 200))
    assert np.mean(scores[200:] <= fixed) < 0.7  # without adapting, far below


def test_a_miss_moves_the_level_up_a_hit_moves_it_down():
    window = ScoreWindow(np.arange(-4.0, 5.0)[:, None, None])
    tracker = LevelTracker([0.1, 0.5, 0.9], (1, 1), step_size=0.1)
    tracker.observe(np.full((1, 1, 1), 0.0), window)  # covered by 0.5 and 0.9, not by 0.1
    assert tracker.levels[:, 0, 0].round(6).tolist() == [0.1 + 0.01, 0.5, 0.9 - 0.01]
    shifted = tracker.adjusted([0.1, 0.3, 0.5, 0.7, 0.9, 0.975])[:, 0, 0]
    np.testing.assert_allclose(shifted, [0.11, 0.305, 0.5, 0.695, 0.89, 0.965])


@pytest.mark.parametrize("size", [7, 40, None])
def test_merged_window_equals_a_fresh_sort_of_the_same_rows(size):
    """Extended in place by search, delete and insert: the same sorted columns, counts and
    quantiles as sorting the rows kept, with gaps, ties and signed zeros in them."""
    rng = np.random.default_rng(1)
    rows = rng.integers(-3, 4, size=(120, 4, 3)).astype(np.float32)  # many ties
    rows[rng.random(rows.shape) < 0.1] = np.nan
    rows[rng.random(rows.shape) < 0.05] = -0.0
    window = ScoreWindow(rows[:20], size=size)
    end = 20
    for m in (1, 5, 24, 3, 50, 17):
        window.extend(rows[end : end + m])
        end += m
        fresh = ScoreWindow(window.scores)
        kept = rows[:end][-(size or 20) :] if size else rows[:end][-20:]
        np.testing.assert_array_equal(window.scores, rows[:end][-len(window.scores) :])
        assert len(window.scores) == len(kept)
        np.testing.assert_array_equal(window.sorted, fresh.sorted)
        np.testing.assert_array_equal(window.counts, fresh.counts)
        for level in (0.05, 0.3, 0.5, 0.9):
            np.testing.assert_array_equal(window.quantile(level), fresh.quantile(level))
        np.testing.assert_array_equal(fresh.sorted, np.sort(window.scores + np.float32(0), axis=0))


def _issued_loop(values, gains, nominal, batches):
    """Quantile tracking written per score: each score against the quantile issued when
    its forecast's origin was the last row seen (the reference for the vectorised one)."""
    values = np.array(values, np.float64)
    issued = [(0, values.copy())]
    seen = 0
    for batch in batches:
        step = np.zeros_like(values)
        for i, row in enumerate(batch):
            for h in range(batch.shape[1]):
                origin = seen + i - h
                snapshot = [v for rows, v in issued if rows <= origin] or [issued[0][1]]
                for c in range(batch.shape[2]):
                    if np.isnan(row[h, c]):
                        continue
                    below = row[h, c] <= np.float32(snapshot[-1][:, h, c])
                    step[:, h, c] += nominal - below
        values = values + gains * step * (nominal != 0.5)[:, None, None]
        seen += len(batch)
        issued.append((seen, values.copy()))
    return values


def test_tracker_counts_each_miss_against_the_quantile_issued_at_its_origin():
    rng = np.random.default_rng(3)
    nominal = np.array([0.1, 0.5, 0.9])
    start = rng.normal(size=(3, 4, 2))
    gains = rng.uniform(0.01, 0.1, size=(3, 4, 2))
    batches = [rng.normal(size=(n, 4, 2)).astype(np.float32) for n in (3, 1, 6, 2, 5, 4)]
    batches[2][1, 0, 1] = np.nan  # a gap moves nothing
    tracker = QuantileTracker(nominal, start, gains)
    for batch in batches:
        tracker.observe(batch)
    expected = _issued_loop(start, gains, nominal, batches)
    np.testing.assert_allclose(tracker.values, expected, rtol=0, atol=1e-12)
    assert tracker.rows_seen == 21
    assert len(tracker._issued) <= 4  # only the snapshots a later score can still need


def test_tracked_quantiles_keep_long_run_coverage_and_pass_the_largest_score():
    """Scores whose scale grows tenfold, seen 24 rows at a time: the issued upper quantile
    covers 90% over the run (a fixed one far less) and ends above every calibration score,
    where ACI's window quantile is capped."""
    rng = np.random.default_rng(0)
    n_rows, refresh = 4800, 24
    scores = rng.normal(size=(n_rows, 1, 2)) * np.linspace(1, 10, n_rows)[:, None, None]
    start = np.quantile(scores[:200], 0.9, axis=0)[None]
    tracker = QuantileTracker([0.9], start, np.full((1, 1, 2), 0.5))
    covered = []
    for first in range(200, n_rows, refresh):
        rows = scores[first : first + refresh]
        covered.append(rows <= tracker.bounds()[0])
        tracker.observe(rows)
    share = np.mean(np.concatenate(covered))
    assert abs(share - 0.9) < 0.02, share
    assert np.mean(scores[200:] <= start[0]) < 0.7  # without tracking, far below
    assert (tracker.values > scores[:200].max(axis=0)).all()


def test_tracker_without_gains_keeps_its_first_quantiles():
    tracker = QuantileTracker([0.05, 0.95], np.ones((2, 3, 1)), np.zeros((2, 3, 1)))
    tracker.observe(np.full((10, 3, 1), 50.0))
    assert (tracker.values == 1.0).all()
