"""Forward + backward of one LSTM batch (float32, many-to-one), two sizes:

- ``seeds``: units 8 on (B=64, T=100, I=16), the tutorials' model size;
- ``large``: units 256 on (B=64, T=100, I=128).

Every engine computes the same thing from the same weights: the last output of the LSTM and
the gradients of <w, output> w.r.t. kernel, recurrent kernel, bias and input.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python -m pytest \
        benchmarks/test_bench_lstm.py

Engines: ``rnncore`` (compiled kernel, default threads), ``numpy`` (rnncore's NumPy twin),
``keras`` (keras.layers.LSTM under tf.GradientTape inside tf.function, as ``fit`` runs it),
``torch`` (torch.nn.LSTM, whose gates i, f, g, o are Keras's order; skipped when torch is not
importable). The ``threads`` groups run rnncore's ops with 1 and 2 kernel threads, forced (for
the large size, two threads split the hidden units, see ``rnncore.ops._lstm``).
The ``sgemm`` group times the gemms one forward+backward makes, with the same shapes, through
the BLAS the kernels call: the throughput reference.
"""
import os

import numpy as np
import pytest

from rnncore import ops
from rnncore._kernels import _blas
from rnncore.layers import LSTM
from rnncore.ops._recurrent import Workspace

SIZES = {"seeds": (64, 100, 16, 8), "large": (64, 100, 128, 256)}  # B, T, I, H

_PROBLEMS = {}


def problem_for(size):
    if size not in _PROBLEMS:
        B, T, I, H = SIZES[size]
        rng = np.random.default_rng(0)
        layer = LSTM(H)
        layer.build((B, T, I))
        layer.bias.assign(layer.bias.value + rng.uniform(-0.1, 0.1, layer.bias.shape))
        x = rng.standard_normal((B, T, I)).astype(np.float32)
        w = rng.standard_normal((B, H)).astype(np.float32)
        _PROBLEMS[size] = layer, x, w
    return _PROBLEMS[size]


def _rnncore(problem):
    layer, x, w = problem

    def step():
        y = layer(x)
        dx = layer.backward(w)
        return y, [v.grad for v in layer.trainable_weights] + [dx]
    return step


def _numpy(problem):
    layer, x, w = problem
    kernel, recurrent, bias = (v.value for v in layer.weights)

    def step():
        y, _, cache = ops.lstm_forward(x, kernel, recurrent, bias, engine="numpy")
        g = ops.lstm_backward(cache, w)
        return y, [g["kernel"], g["recurrent_kernel"], g["bias"], g["x"]]
    return step


def _keras(problem):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    keras = pytest.importorskip("keras")
    import tensorflow as tf

    layer, x, w = problem
    k = keras.layers.LSTM(layer.units)
    k.build(x.shape)
    k.set_weights(layer.get_weights())
    xt, wt = tf.constant(x), tf.constant(w)

    @tf.function
    def train_step(xt):
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = k(xt)
            loss = tf.reduce_sum(y * wt)
        return y, tape.gradient(loss, list(k.trainable_weights) + [xt])

    def step():
        y, grads = train_step(xt)
        return y.numpy(), [g.numpy() for g in grads]
    return step


def _torch(problem):
    torch = pytest.importorskip("torch")
    layer, x, w = problem
    kernel, recurrent, bias = (v.value for v in layer.weights)
    lstm = torch.nn.LSTM(x.shape[2], layer.units, batch_first=True)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.from_numpy(kernel.T.copy()))
        lstm.weight_hh_l0.copy_(torch.from_numpy(recurrent.T.copy()))
        lstm.bias_ih_l0.copy_(torch.from_numpy(bias))
        lstm.bias_hh_l0.zero_()
    xt, wt = torch.from_numpy(x), torch.from_numpy(w)

    def step():
        xg = xt.detach().requires_grad_(True)
        lstm.zero_grad()
        out, _ = lstm(xg)
        y = out[:, -1]
        (y * wt).sum().backward()
        grads = [lstm.weight_ih_l0.grad.T.numpy(), lstm.weight_hh_l0.grad.T.numpy(),
                 lstm.bias_ih_l0.grad.numpy(), xg.grad.numpy()]
        return y.detach().numpy(), grads
    return step


ENGINES = {"rnncore": _rnncore, "numpy": _numpy, "keras": _keras, "torch": _torch}


def _check_against_rnncore(problem, y, grads):
    """Benchmark only engines that compute the same numbers."""
    y_ref, g_ref = _rnncore(problem)()
    np.testing.assert_allclose(y, y_ref, atol=1e-4)
    for a, b in zip(grads, g_ref):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3 * np.abs(b).max())


@pytest.mark.parametrize("engine", list(ENGINES), ids=list(ENGINES))
@pytest.mark.parametrize("size", list(SIZES))
def test_lstm_forward_backward(benchmark, size, engine):
    problem = problem_for(size)
    step = ENGINES[engine](problem)
    _check_against_rnncore(problem, *step())  # also the warm-up (tf.function tracing)
    benchmark.group = f"lstm {size} B,T,I,H={SIZES[size]} forward+backward"
    benchmark.extra_info.update(engine=engine, gflop=gemm_flops(size) / 1e9)
    benchmark(step)


@pytest.mark.parametrize("n_threads", [1, 2], ids=["rnncore-1thread", "rnncore-2threads"])
@pytest.mark.parametrize("size", list(SIZES))
def test_lstm_threads(benchmark, size, n_threads):
    """The kernels' batch blocks, forced: by default a small recurrence runs as one block."""
    layer, x, w = problem_for(size)
    kernel, recurrent, bias = (v.value for v in layer.weights)
    workspace = Workspace()

    def step():
        y, _, cache = ops.lstm_forward(x, kernel, recurrent, bias, n_threads=n_threads,
                                       workspace=workspace)
        return y, ops.lstm_backward(cache, w)
    step()
    benchmark.group = f"lstm {size} rnncore threads"
    benchmark.extra_info["n_threads"] = n_threads
    benchmark(step)


# ---- the throughput reference --------------------------------------------------------------
def _gemm_shapes(size):
    """(m, n, k, count) of every gemm of one forward+backward, as rnncore makes them."""
    B, T, I, H = SIZES[size]
    G = 4 * H
    return [(B, G, H, T),            # h·U, every step
            (B, H, G, T),            # dz·Uᵀ, every step
            (T * B, G, I, 1),        # x·W
            (H, G, T * B, 1),        # dU
            (I, G, T * B, 1),        # dW
            (T * B, I, G, 1)]        # dX


def gemm_flops(size):
    return sum(2 * m * n * k * c for m, n, k, c in _gemm_shapes(size))


@pytest.mark.parametrize("size", list(SIZES))
def test_sgemm_same_shapes(benchmark, size):
    """The gemms alone (no activations, no Python between them), through the kernels' BLAS."""
    rng = np.random.default_rng(0)
    ops_ = []
    for m, n, k, count in _gemm_shapes(size):
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        c = np.empty((m, n), np.float32)
        ops_.append((a, b, c, count))

    def step():
        for a, b, c, count in ops_:
            for _ in range(count):
                _blas.gemm_into(a, b, c)
    step()
    benchmark.group = f"lstm {size} sgemm of the same shapes"
    benchmark.extra_info["gflop"] = gemm_flops(size) / 1e9
    benchmark(step)
