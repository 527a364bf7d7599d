"""Tests of sae_forecast.training.net: the reference protocol, reproducibility, sklearn use."""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit

from sae_forecast.data import sliding_windows
from sae_forecast.nn import RLinear, iTransformer
from sae_forecast.training import ForecastingNet, SeriesWindows, Targets

SEQ, PRED, N = 24, 6, 3


def _series(n_rows=400, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n_rows)[:, None]
    return (np.sin(t / 6 + np.arange(N)) + 0.1 * rng.normal(size=(n_rows, N))).astype(np.float32)


def _net(module=RLinear, **kwargs):
    options = dict(
        module__seq_len=SEQ,
        module__pred_len=PRED,
        module__n_channels=N,
        module__embedding="lightsae",
        module__rank=4,
        module__pool_size=2,
        max_epochs=4,
        lr=0.01,
        random_state=0,
    )
    options.update(kwargs)
    return ForecastingNet(module, **options)


def test_protocol_callbacks_are_installed():
    net = _net().initialize()
    names = [name for name, _ in net.callbacks_]
    assert {"early_stopping", "lr_scheduler", "gradient_clipping"} <= set(names)
    stopper = dict(net.callbacks_)["early_stopping"]
    assert (stopper.patience, stopper.threshold, stopper.threshold_mode, stopper.load_best) == (
        3,
        1e-4,
        "abs",
        True,
    )
    assert dict(net.callbacks_)["gradient_clipping"].gradient_clip_value == 1.0


def test_verbose_prints_epochs_and_2_adds_a_progress_bar(capsys):
    series = SeriesWindows(_series(), SEQ, PRED)
    _net(max_epochs=1).fit(series)
    assert capsys.readouterr().out == ""  # silent by default
    net = _net(max_epochs=2, verbose=1).fit(series)
    assert "valid_loss" in capsys.readouterr().out
    assert "progress_bar" not in dict(net.callbacks_)
    net = _net(max_epochs=1, verbose=2).fit(series)
    assert "progress_bar" in dict(net.callbacks_)


def test_learning_rate_halves_every_epoch():
    net = _net(max_epochs=4, patience=None).fit(SeriesWindows(_series(), SEQ, PRED))
    assert net.history[:, "event_lr"] == pytest.approx([0.01, 0.005, 0.0025, 0.00125])


def test_early_stopping_restores_the_best_weights():
    data = SeriesWindows(_series(), SEQ, PRED)
    net = _net(max_epochs=30, lr=0.05, patience=2).fit(data)
    valid_losses = net.history[:, "valid_loss"]
    assert len(valid_losses) < 30  # stopped early
    _, valid = net.train_split(data)
    X, y = valid.batch(torch.arange(len(valid)))
    with torch.no_grad():
        loss_now = torch.nn.functional.mse_loss(net.module_.eval()(X), y.values).item()
    assert loss_now == pytest.approx(min(valid_losses), rel=1e-4)


def test_validation_is_the_chronological_tail():
    data = SeriesWindows(_series(), SEQ, PRED)
    net = _net(max_epochs=1).fit(data)
    train_n = int(net.history[-1, "train_batch_count"])
    valid_n = int(net.history[-1, "valid_batch_count"])
    assert (train_n, valid_n) == (11, 2)  # 371 windows: 38 validation, 328 train


def test_same_random_state_is_bitwise_identical_and_seeds_differ():
    data = SeriesWindows(_series(), SEQ, PRED)
    X = data.batch(torch.arange(5))[0]
    a = _net(random_state=3).fit(data).predict(X)
    b = _net(random_state=3).fit(data).predict(X)
    c = _net(random_state=4).fit(data).predict(X)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_parallel_fits_in_threads_are_identical():
    data = SeriesWindows(_series(), SEQ, PRED)
    X = data.batch(torch.arange(5))[0]
    options = dict(
        module=iTransformer,
        module__d_model=8,
        module__n_heads=2,
        module__d_ff=8,
        module__n_layers=1,
        module__dropout=0.3,
        max_epochs=2,
    )
    serial = _net(**options).fit(data).predict(X)
    results = [None, None]

    def work(i):
        results[i] = _net(**options).fit(data).predict(X)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(serial, r) for r in results)


def test_results_do_not_depend_on_the_global_random_state():
    data = SeriesWindows(_series(), SEQ, PRED)
    X = data.batch(torch.arange(5))[0]
    torch.manual_seed(1)
    np.random.seed(1)  # noqa: NPY002 - the legacy global state must not matter either
    a = _net(max_epochs=2).fit(data).predict(X)
    torch.manual_seed(2)
    np.random.seed(2)  # noqa: NPY002
    assert np.array_equal(a, _net(max_epochs=2).fit(data).predict(X))


def test_grid_search_over_rank_and_pool_size_on_window_arrays():
    X, y = sliding_windows(_series(500), SEQ, PRED)
    search = GridSearchCV(
        _net(max_epochs=2),
        {"module__rank": [2, 4], "module__pool_size": [1, 3]},
        cv=TimeSeriesSplit(n_splits=2),
        error_score="raise",
    )
    search.fit(X, y)
    assert set(search.best_params_) == {"module__rank", "module__pool_size"}
    assert (
        search.best_estimator_.module_.embedding.pool_size
        == search.best_params_["module__pool_size"]
    )
    scores = search.cv_results_["mean_test_score"]
    assert search.best_score_ == scores.max()
    # negative MSE of models that learned: well under the targets' variance (0.51)
    assert ((scores < 0) & (-scores < 0.3 * np.var(y))).all()


def test_score_is_negative_mse():
    X, y = sliding_windows(_series(), SEQ, PRED)
    net = _net(max_epochs=1).fit(X, y)
    assert net.score(X[:50], y[:50]) == pytest.approx(-np.mean((net.predict(X[:50]) - y[:50]) ** 2))
    data = SeriesWindows(_series(), SEQ, PRED)
    assert net.score(data) == pytest.approx(net.score(X, y), rel=1e-5)


def test_clone_and_pickle_round_trip():
    data = SeriesWindows(_series(), SEQ, PRED)
    net = _net(max_epochs=1).fit(data)
    X = data.batch(torch.arange(4))[0]
    assert clone(net).get_params()["module__rank"] == 4
    restored = pickle.loads(pickle.dumps(net))
    assert np.array_equal(restored.predict(X), net.predict(X))


def test_masked_loss_ignores_unobserved_targets():
    net = _net().initialize()
    pred = torch.zeros(2, 3)
    target = torch.tensor([[1.0, 100.0, 1.0], [1.0, 1.0, 1.0]])
    weight = torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
    assert net.get_loss(pred, Targets(target, weight)).item() == pytest.approx(1.0)
    assert net.get_loss(pred, Targets(target, None)).item() == pytest.approx(100.0**2 / 6 + 5 / 6)


@pytest.mark.parametrize("counted", [False, True])  # Targets.n_observed given or not
@pytest.mark.parametrize("layout", ["contiguous", "strided"])
def test_masked_loss_and_its_gradient_are_bitwise_the_weighted_formula(layout, counted):
    """The fused path keeps the bits of ``((pred - target) ** 2 * weight).sum() /
    weight.sum()``, also for a weight that is a strided view, and leaves no gradient on
    unobserved targets."""
    net = _net().initialize()
    target = torch.randn(4, PRED, 3)
    weight = (torch.rand(4, 2 * PRED, 3) > 0.2).float()
    weight = weight[:, ::2] if layout == "strided" else weight[:, :PRED].contiguous()
    targets = Targets(target, weight, int(weight.sum()) if counted else None)
    pred = torch.randn(4, PRED, 3, requires_grad=True)
    net.get_loss(pred, targets).backward()
    reference = pred.detach().clone().requires_grad_()
    expected = ((reference - target).square() * weight).sum() / weight.sum()
    expected.backward()
    assert torch.equal(net.get_loss(pred, targets), expected)
    assert torch.equal(pred.grad, reference.grad)
    assert (pred.grad[weight == 0] == 0).all() and (pred.grad[weight == 1] != 0).all()


def test_masked_loss_at_weight_one_is_bitwise_the_plain_loss():
    """Batches without a gap carry no weight (SeriesWindows.batch): that switch must not
    change a bit of the loss or of the gradient."""
    net = _net().initialize()
    target = torch.randn(32, PRED, 7)
    pred = torch.randn(32, PRED, 7, requires_grad=True)
    plain = net.get_loss(pred, Targets(target, None))
    plain.backward()
    plain_grad, pred.grad = pred.grad, None
    weighted = net.get_loss(pred, Targets(target, torch.ones_like(target)))
    weighted.backward()
    assert torch.equal(weighted, plain) and torch.equal(pred.grad, plain_grad)


@pytest.mark.parametrize("n_observed", [None, 0])
def test_masked_loss_of_a_window_with_nothing_observed_is_zero(n_observed):
    net = _net().initialize()
    pred = torch.randn(2, PRED, 3, requires_grad=True)
    targets = Targets(torch.randn(2, PRED, 3), torch.zeros(2, PRED, 3), n_observed)
    loss = net.get_loss(pred, targets)
    loss.backward()
    assert loss.item() == 0.0 and not pred.grad.any()


def test_unmasked_loss_is_bitwise_the_criterion():
    net = _net().initialize()
    pred, target = torch.randn(4, PRED, 3), torch.randn(4, PRED, 3)
    expected = torch.nn.MSELoss()(pred, target)
    assert torch.equal(net.get_loss(pred, Targets(target, None)), expected)


def test_training_without_validation_monitors_train_loss():
    net = _net(train_split=None, max_epochs=2).initialize()
    assert dict(net.callbacks_)["early_stopping"].monitor == "train_loss"


def test_user_callbacks_still_run_on_every_batch():
    from skorch.callbacks import Callback

    class CountBatches(Callback):
        def initialize(self):
            self.calls = 0
            return self

        def on_batch_end(self, net, **kwargs):
            self.calls += 1

    counter = CountBatches()
    net = _net(max_epochs=2, patience=None, callbacks=[("count", counter)])
    net.fit(SeriesWindows(_series(), SEQ, PRED))
    batches = sum(row["train_batch_count"] + row["valid_batch_count"] for row in net.history)
    assert counter.calls == batches == 26


def _mean_gate_entropy(net):
    gates = net.module_.embedding.gates().detach()
    return float(-(gates * gates.log()).sum(1).mean())


@pytest.mark.parametrize("masked", [False, True], ids=["plain", "masked"])
@pytest.mark.parametrize("kind", ["balance", "entropy"])
def test_gate_penalty_adds_exactly_weight_times_penalty_to_the_training_loss(kind, masked):
    weight = 0.7
    net = _net(gate_penalty=kind, gate_penalty_weight=weight).initialize()
    embedding = net.module_.embedding
    with torch.no_grad():  # uneven gates, so that both penalties are far from 0
        embedding.gate_logits.copy_(torch.tensor([[2.0, -1.0], [2.0, 0.5], [1.5, -2.0]]))
    X, y = SeriesWindows(_series(), SEQ, PRED).batch(torch.arange(32))
    y_true = Targets(y.values, torch.ones_like(y.values) if masked else None)
    y_pred = net.module_(X)
    mse = torch.nn.functional.mse_loss(y_pred, y.values).item()
    penalty = embedding.gate_penalty(kind).item()
    assert penalty > 0.05
    loss = net.get_loss(y_pred, y_true, X=X, training=True).item()
    assert loss - mse == pytest.approx(weight * penalty, abs=1e-6)
    # validation loss stays the plain MSE
    assert net.get_loss(y_pred, y_true, X=X, training=False).item() == pytest.approx(mse, abs=1e-6)


def test_gate_penalty_changes_training_at_the_same_lr_and_seed():
    data = SeriesWindows(_series(), SEQ, PRED)
    plain = _net(max_epochs=2, patience=None).fit(data)
    sharp = _net(max_epochs=2, patience=None, gate_penalty="entropy", gate_penalty_weight=1.0)
    sharp.fit(data)
    assert sharp.lr == plain.lr and sharp.random_state == plain.random_state
    assert not torch.allclose(
        plain.module_.embedding.gate_logits, sharp.module_.embedding.gate_logits
    )
    assert _mean_gate_entropy(sharp) < _mean_gate_entropy(plain)


def test_gate_penalty_needs_a_lightsae_embedding():
    net = _net(module__embedding="shared", gate_penalty="balance", max_epochs=1)
    with pytest.raises(ValueError, match=r"gate_penalty='balance' needs a module with a LightSAE"):
        net.fit(SeriesWindows(_series(), SEQ, PRED))


def test_a_torch_dataloader_iterator_trains_bitwise_like_the_batch_iterator():
    # in order: a shuffling DataLoader draws a worker seed from the generator first
    X, y = sliding_windows(_series(), SEQ, PRED)
    options = {"max_epochs": 2, "iterator_train__shuffle": False}
    ours = _net(**options).fit(X, y)
    loader = torch.utils.data.DataLoader
    stock = _net(**options, iterator_train=loader, iterator_valid=loader).fit(X, y)
    assert stock.history[:, "train_loss"] == ours.history[:, "train_loss"]
    assert stock.history[:, "valid_loss"] == ours.history[:, "valid_loss"]
    assert np.array_equal(stock.predict(X[:8]), ours.predict(X[:8]))


@pytest.mark.parametrize("module", [RLinear, iTransformer])
def test_batches_gathered_in_blocks_train_bitwise_like_one_at_a_time(monkeypatch, module):
    """SeriesWindows.batches (several batches per gather) against BLOCK_BYTES = 0 (one
    gather per batch, as before blocks): the same losses and weights, gaps included."""
    from sae_forecast.training import dataset as dataset_module

    observed = np.ones((400, N), dtype=bool)
    observed[100:104, 1] = False  # targets of a few windows: some batches take the masked loss

    def fit():
        small = {"module__d_model": 16, "module__n_heads": 2, "module__d_ff": 16, "max_epochs": 2}
        net = _net(module, **small) if module is iTransformer else _net()
        return net.fit(SeriesWindows(_series(), SEQ, PRED, observed=observed))

    blocks = fit()
    monkeypatch.setattr(dataset_module, "BLOCK_BYTES", 0)
    alone = fit()
    assert blocks.history[:, "train_loss"] == alone.history[:, "train_loss"]
    assert blocks.history[:, "valid_loss"] == alone.history[:, "valid_loss"]
    for (name, got), want in zip(
        blocks.module_.state_dict().items(), alone.module_.state_dict().values(), strict=True
    ):
        assert torch.equal(got, want), name
