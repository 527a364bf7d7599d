"""compile=True: batches through a compiled forward, the module plain, an eager fallback.

The tests compile with backends that run the captured graph as it is (the same operations
in the same order as eager), so they check the plumbing bitwise and in seconds; the
forecasters' test (tests/forecasting/test_forecasters.py) compiles with the default
backend, inductor.
"""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch
from torch._dynamo.backends.common import aot_autograd  # torch's way to write a backend

from sae_forecast.nn import RMLP
from sae_forecast.training import ForecastingNet, SeriesWindows

SEQ, PRED, N = 16, 4, 3


@pytest.fixture(autouse=True)
def _fresh_compiler():
    torch.compiler.reset()  # no test reuses another's compiled graphs
    yield
    torch.compiler.reset()


def _windows() -> SeriesWindows:
    t = np.arange(200, dtype=np.float32)[:, None]
    values = np.sin(t / 5 + np.arange(N)) + 0.1 * np.cos(t / 3)
    return SeriesWindows(values, SEQ, PRED)


class CountingBackend:
    """A ``torch.compile`` backend that runs the captured graph unchanged and counts calls
    of the compiled graphs."""

    def __init__(self):
        self.compiled_graphs = 0
        self.calls = 0

    def __call__(self, graph_module, example_inputs):
        self.compiled_graphs += 1

        def run(*args):
            self.calls += 1
            return graph_module.forward(*args)

        return run


def failing_backend(graph_module, example_inputs):
    raise RuntimeError("no compiler here")


def _as_captured(graph_module, example_inputs):
    return graph_module


# compiles the forward, fails on the backward: the step has drawn its dropout masks by then
failing_backward = aot_autograd(fw_compiler=_as_captured, bw_compiler=failing_backend)


def _net(module=RMLP, **kwargs) -> ForecastingNet:
    sizes = {"module__d_model": 8, "module__dropout": 0.3} if module is RMLP else {}
    return ForecastingNet(
        module,
        module__seq_len=SEQ,
        module__pred_len=PRED,
        module__n_channels=N,
        module__pool_size=2,
        max_epochs=2,
        batch_size=16,
        lr=0.01,
        random_state=0,
        **sizes,
        **kwargs,
    )


def _weights(net) -> dict:
    return {name: value.clone() for name, value in net.module_.state_dict().items()}


def _assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0, msg=name)


def test_batches_run_through_the_compiled_forward_and_module_stays_plain():
    backend = CountingBackend()
    net = _net(compile=True, compile__backend=backend).fit(_windows())
    eager = _net().fit(_windows())
    assert net.compiled and backend.compiled_graphs > 0 and backend.calls > 0
    assert type(net.module_) is RMLP  # not torch.compile's wrapper
    _assert_same_weights(_weights(net), _weights(eager))  # same keys, same training
    calls = backend.calls
    np.testing.assert_array_equal(net.predict(_windows()), eager.predict(_windows()))
    assert backend.calls > calls  # forecasting went through it too


@pytest.mark.parametrize("backend", [failing_backend, failing_backward])
def test_a_failing_compiler_falls_back_to_eager_with_the_same_random_draws(backend):
    with pytest.warns(RuntimeWarning, match="torch.compile failed .*no compiler here"):
        net = _net(compile=True, compile__backend=backend).fit(_windows())
    assert not net.compiled
    _assert_same_weights(_weights(net), _weights(_net().fit(_windows())))  # dropout 0.3


def test_an_error_of_the_model_itself_is_raised_as_eager_raises_it():
    net = _net(compile=True, compile__backend=CountingBackend()).initialize()
    wrong = torch.zeros(2, SEQ, N + 1)  # one channel too many
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "compile failed" warning for the model's error
        with pytest.raises(ValueError, match="expected input of shape"):
            net.predict(wrong)


def test_a_compiled_net_pickles_and_copies_and_compiles_again():
    backend = CountingBackend()
    net = _net(compile=True, compile__backend=backend).fit(_windows())
    expected = net.predict(_windows())
    for clone in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net)):
        assert clone.compiled
        np.testing.assert_array_equal(clone.predict(_windows()), expected)


def test_compile_false_has_no_compiled_forward():
    net = _net().fit(_windows())
    assert not net.compiled
