"""The pieces of every conformal method: the score window and adaptive conformal inference."""

from __future__ import annotations

import numpy as np
import pytest

from sae_forecast.forecasting._conformal import (
    LOSS_STRIDE,
    LevelTracker,
    QuantileTracker,
    ScoreWindow,
    TrackerMixture,
)


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
    its forecast's origin was the last row seen (the reference for the vectorised one).
    Returns the final values and the pinball loss of the issued quantiles summed over
    every ``LOSS_STRIDE``-th step, per level and channel."""
    values = np.array(values, np.float64)
    loss = np.zeros((len(nominal), values.shape[2]))
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
                    quantile = np.float32(snapshot[-1][:, h, c])
                    below = row[h, c] <= quantile
                    step[:, h, c] += nominal - below
                    if h % LOSS_STRIDE == 0:
                        error = row[h, c] - quantile
                        loss[:, c] += np.maximum(nominal * error, (nominal - 1) * error)
        values = values + gains * step * (nominal != 0.5)[:, None, None]
        seen += len(batch)
        issued.append((seen, values.copy()))
    return values, loss


def test_tracker_counts_each_miss_against_the_quantile_issued_at_its_origin():
    rng = np.random.default_rng(3)
    nominal = np.array([0.1, 0.5, 0.9])
    start = rng.normal(size=(3, 6, 2))
    gains = rng.uniform(0.01, 0.1, size=(3, 6, 2))
    batches = [rng.normal(size=(n, 6, 2)).astype(np.float32) for n in (3, 1, 6, 2, 5, 4)]
    batches[2][1, 0, 1] = np.nan  # a gap moves nothing and adds no loss
    tracker = QuantileTracker(nominal, start, gains, track_loss=True)
    for batch in batches:
        tracker.observe(batch)
    expected, loss = _issued_loop(start, gains, nominal, batches)
    np.testing.assert_allclose(tracker.values, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(tracker.loss, loss, rtol=1e-5)
    assert tracker.loss_count.tolist() == [21 * 2, 21 * 2 - 1]  # steps 0 and 4 of 6
    assert tracker.rows_seen == 21
    assert len(tracker._issued) <= 7  # only the snapshots a later score can still need


def test_mixture_of_one_step_is_that_tracker():
    rng = np.random.default_rng(4)
    nominal, start = np.array([0.1, 0.5, 0.9]), rng.normal(size=(3, 5, 2))
    gains = rng.uniform(0.01, 0.1, size=(3, 5, 2))
    alone = QuantileTracker(nominal, start, 0.3 * gains)
    mixture = TrackerMixture(nominal, start, gains, steps=(0.3,), unit=np.ones(2))
    for n in (4, 1, 7):
        batch = rng.normal(size=(n, 5, 2))
        alone.observe(batch)
        mixture.observe(batch)
    np.testing.assert_array_equal(mixture.values, alone.values)
    assert mixture.trackers[0].loss is None  # one tracker: no loss is summed


@pytest.mark.parametrize(("jump", "winner", "least"), [(0.0, 0, 0.55), (8.0, 1, 0.99)])
def test_mixture_weighs_the_tracker_whose_issued_quantiles_lost_less(jump, winner, least):
    """Stable errors: the small step, which jitters less, loses less; errors that jump
    eightfold: the large step, which gets there first. The mixed quantile sits by the
    winner's, and the weights follow the formula of the summed losses."""
    rng = np.random.default_rng(5)
    scores = rng.normal(size=(1200, 4, 1))
    scores[200:] *= 1.0 + jump
    start = np.quantile(scores[:200], [0.1, 0.9], axis=0)
    gains = np.ones((2, 4, 1))
    mixture = TrackerMixture([0.1, 0.9], start, gains, steps=(0.002, 0.3), unit=np.ones(1))
    for first in range(200, 1200, 24):
        mixture.observe(scores[first : first + 24])
    weights = mixture.weights
    assert (weights[winner] > least).all(), weights[:, :, 0]
    np.testing.assert_allclose(weights.sum(axis=0), 1.0)
    mean = np.stack([t.loss for t in mixture.trackers]) / mixture.trackers[0].loss_count
    expected = np.exp(-(mean - mean.min(axis=0)) * np.sqrt(1000 * 4))
    np.testing.assert_allclose(weights, expected / expected.sum(axis=0), rtol=1e-12)
    gap = np.abs(mixture.values - mixture.trackers[winner].values)
    assert (gap <= np.abs(mixture.values - mixture.trackers[1 - winner].values)).all()
    uniform = TrackerMixture([0.1, 0.9], start, gains, steps=(0.002, 0.3), unit=np.ones(1))
    uniform.learning_rate = 0.0
    assert (uniform.weights == 0.5).all()


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
