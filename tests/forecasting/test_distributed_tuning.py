"""Grid searches on Dask and Ray workers equal the same searches run serially.

The forecasters and nets are picklable and seeded, so a search whose candidates run in other
processes (on other machines) gives bitwise the same scores and the same best parameters.
"""

from __future__ import annotations

import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sktime.forecasting.model_selection import ForecastingGridSearchCV
from sktime.split import SlidingWindowSplitter

from sae_forecast import LightSAERLinearForecaster
from sae_forecast.data import sliding_windows
from sae_forecast.nn import RLinear
from sae_forecast.training import ForecastingNet
from tests.forecasting.conftest import TINY, make_frame

GRID = {"rank": [1, 3], "pool_size": [1, 2]}
FH = [1, 2, 3]


@pytest.fixture(scope="module")
def dask_client():
    """A real local Dask cluster: two worker processes with one thread each."""
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture
def one_thread():
    """Serial runs use one torch thread, as the workers do."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _sktime_search(backend=None, backend_params=None):
    forecaster = LightSAERLinearForecaster(**{**TINY, "max_epochs": 1})
    cv = SlidingWindowSplitter(fh=FH, window_length=100, step_length=30)
    return ForecastingGridSearchCV(
        forecaster,
        cv=cv,
        param_grid=GRID,
        backend=backend,
        backend_params=backend_params,
        error_score="raise",
    )


def _sktime_results(search):
    search.fit(make_frame(n_rows=190), fh=FH)
    results = search.cv_results_
    score = next(c for c in results.columns if c.startswith("mean_test"))
    return search.best_params_, results[score].to_numpy(), search.predict(fh=FH).to_numpy()


def _window_net():
    frame = make_frame(n_rows=220)
    values = ((frame - frame.mean()) / frame.std()).to_numpy()
    X, y = sliding_windows(values, seq_len=12, pred_len=6)
    net = ForecastingNet(
        RLinear,
        module__seq_len=12,
        module__pred_len=6,
        module__n_channels=3,
        module__embedding="lightsae",
        max_epochs=2,
        lr=0.01,
        random_state=0,
    )
    return net, X, y


def _sklearn_results(n_jobs=None):
    net, X, y = _window_net()
    grid = {f"module__{name}": values for name, values in GRID.items()}
    search = GridSearchCV(net, grid, cv=TimeSeriesSplit(n_splits=2), n_jobs=n_jobs)  # net.score
    search.fit(X, y)
    splits = [f"split{i}_test_score" for i in range(2)]
    scores = np.stack([search.cv_results_[name] for name in splits])
    return search.best_params_, scores, search.predict(X[:2])


def _assert_same(serial, parallel):
    best, scores, forecast = serial
    assert parallel[0] == best
    np.testing.assert_array_equal(parallel[1], scores)  # bitwise, not approximately
    np.testing.assert_array_equal(parallel[2], forecast)


@pytest.mark.slow
def test_sktime_grid_search_on_dask_equals_serial(dask_client, one_thread):
    from dask.distributed import get_task_stream

    serial = _sktime_results(_sktime_search())
    with get_task_stream(dask_client) as tasks:
        on_dask = _sktime_results(_sktime_search(backend="dask"))
    _assert_same(serial, on_dask)
    assert len(tasks.data) >= len(GRID["rank"]) * len(GRID["pool_size"])  # ran on the cluster


@pytest.mark.slow
def test_sklearn_grid_search_under_joblib_dask_equals_serial(dask_client, one_thread):
    from dask.distributed import get_task_stream

    serial = _sklearn_results()
    with get_task_stream(dask_client) as tasks, joblib.parallel_backend("dask"):
        on_dask = _sklearn_results(n_jobs=-1)
    _assert_same(serial, on_dask)
    assert len(tasks.data) > 0  # ran on the cluster


@pytest.mark.slow
def test_grid_searches_on_ray_equal_serial(one_thread):
    ray = pytest.importorskip("ray")
    from ray.util.joblib import register_ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        params = {"ray_remote_args": {}, "shutdown_ray": False}
        on_ray = _sktime_results(_sktime_search(backend="ray", backend_params=params))
        register_ray()
        with joblib.parallel_backend("ray"):
            sklearn_on_ray = _sklearn_results(n_jobs=2)
    finally:
        ray.shutdown()
    _assert_same(_sktime_results(_sktime_search()), on_ray)
    _assert_same(_sklearn_results(), sklearn_on_ray)
