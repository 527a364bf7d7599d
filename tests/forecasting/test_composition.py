"""The forecasters inside sktime: tuning, backtesting, pipelines, parallel backends."""

from __future__ import annotations

import numpy as np
import pytest
from sktime.forecasting.compose import TransformedTargetForecaster
from sktime.forecasting.model_evaluation import evaluate
from sktime.forecasting.model_selection import ForecastingGridSearchCV
from sktime.split import ExpandingWindowSplitter, SlidingWindowSplitter
from sktime.transformations.series.impute import Imputer

from sae_forecast import LightSAERLinearForecaster
from sae_forecast.data import load_dataset
from tests.forecasting.conftest import TINY, make_frame

GRID = {"rank": [1, 3], "pool_size": [1, 2], "embedding": ["shared", "lightsae"]}


def _search(backend=None):
    forecaster = LightSAERLinearForecaster(**{**TINY, "max_epochs": 1})
    cv = SlidingWindowSplitter(fh=[1, 2, 3], window_length=100, step_length=30)
    return ForecastingGridSearchCV(
        forecaster, cv=cv, param_grid=GRID, backend=backend, error_score="raise"
    )


def test_forecasting_grid_search_over_rank_pool_size_embedding():
    frame = make_frame(n_rows=190)
    search = _search().fit(frame, fh=[1, 2, 3])
    assert set(search.best_params_) == set(GRID)
    assert len(search.cv_results_) == 8
    assert search.predict(fh=[1, 2, 3]).shape == (3, 3)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["loky", "threading"])
def test_grid_search_parallel_backends_match_serial(backend):
    frame = make_frame(n_rows=190)
    serial = _search().fit(frame, fh=[1, 2, 3]).cv_results_
    parallel = _search(backend=backend).fit(frame, fh=[1, 2, 3]).cv_results_
    score = next(c for c in serial.columns if c.startswith("mean_test"))
    np.testing.assert_array_equal(serial[score].to_numpy(), parallel[score].to_numpy())


def test_evaluate_with_expanding_window():
    frame = make_frame(n_rows=200)
    cv = ExpandingWindowSplitter(fh=[1, 2, 3], initial_window=120, step_length=30)
    results = evaluate(LightSAERLinearForecaster(**TINY), cv=cv, y=frame, return_data=True)
    assert len(results) == 3
    assert np.isfinite(results.iloc[:, 0]).all()
    assert results["y_pred"].iloc[0].shape == (3, 3)


def test_native_gaps_and_an_imputer_pipeline_on_real_gaps(data_home):
    frame = load_dataset("beijing_air", data_home)
    stations = frame.iloc[:600, :11]  # one station, 11 variables, with real gaps
    assert stations.isna().any().any()
    native = LightSAERLinearForecaster(**{**TINY, "seq_len": 48}).fit(stations)
    assert np.isfinite(native.predict(fh=[1, 2, 3]).to_numpy()).all()
    pipe = TransformedTargetForecaster(
        [
            ("impute", Imputer(method="ffill")),
            ("forecast", LightSAERLinearForecaster(**{**TINY, "seq_len": 48})),
        ]
    )
    y_pred = pipe.fit(stations).predict(fh=[1, 2, 3])
    assert y_pred.shape == (3, 11)
    assert np.isfinite(y_pred.to_numpy()).all()
