"""Forward + backward of one GRU batch (float32, many-to-one), both Keras variants, two sizes:

- ``seeds``: units 8 on (B=64, T=100, I=16), the tutorials' model size;
- ``large``: units 256 on (B=64, T=100, I=128).

Every engine computes the same thing from the same weights: the last output of the GRU and
the gradients of <w, output> w.r.t. kernel, recurrent kernel, bias and input.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python -m pytest \
        benchmarks/test_bench_gru.py

Engines: ``rnncore`` (compiled kernel, default threads), ``numpy`` (rnncore's NumPy twin),
``keras`` (keras.layers.GRU under tf.GradientTape inside tf.function, as ``fit`` runs it),
``torch`` (torch.nn.GRU, skipped when torch is not importable; PyTorch's GRU is Keras's
``reset_after=True`` variant, so it runs only there). The ``threads`` groups run rnncore with
1 and 2 kernel threads (batch blocks). The ``sgemm`` group times the gemms one forward+backward
makes, with the same shapes, through the BLAS the kernels call: the throughput reference
(``extra_info["gflop"]`` / time = GFLOP/s).
"""
import os

import numpy as np
import pytest

import rnncore
from rnncore import ops
from rnncore.layers import GRU
from rnncore.ops import _recurrent as R
from rnncore.ops._blas_threads import single_threaded_blas

SIZES = {"seeds": (64, 100, 16, 8), "large": (64, 100, 128, 256)}  # B, T, I, H
VARIANTS = {"reset_after": True, "reset_before": False}


def _problem(size, variant):
    B, T, I, H = SIZES[size]
    rng = np.random.default_rng(0)
    layer = GRU(H, reset_after=VARIANTS[variant])
    layer.build((B, T, I))
    layer.bias.assign(rng.uniform(-0.1, 0.1, layer.bias.shape).astype(np.float32))
    x = rng.standard_normal((B, T, I)).astype(np.float32)
    w = rng.standard_normal((B, H)).astype(np.float32)
    return layer, x, w


_PROBLEMS = {}


def problem_for(size, variant):
    if (size, variant) not in _PROBLEMS:
        _PROBLEMS[size, variant] = _problem(size, variant)
    return _PROBLEMS[size, variant]


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
        y, _, cache = ops.gru_forward(x, kernel, recurrent, bias, reset_after=layer.reset_after,
                                      engine="numpy")
        g = ops.gru_backward(cache, w)
        return y, [g["kernel"], g["recurrent_kernel"], g["bias"], g["x"]]
    return step


def _keras(problem):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    keras = pytest.importorskip("keras")
    import tensorflow as tf

    layer, x, w = problem
    k = keras.layers.GRU(layer.units, reset_after=layer.reset_after)
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
    if not layer.reset_after:
        pytest.skip("torch.nn.GRU has only the reset_after=True variant")
    kernel, recurrent, bias = (v.value for v in layer.weights)
    H = layer.units
    order = np.r_[H:2 * H, 0:H, 2 * H:3 * H]  # Keras z, r, h -> PyTorch r, z, n
    back = np.argsort(order)
    gru = torch.nn.GRU(x.shape[2], H, batch_first=True)
    with torch.no_grad():
        gru.weight_ih_l0.copy_(torch.from_numpy(kernel[:, order].T.copy()))
        gru.weight_hh_l0.copy_(torch.from_numpy(recurrent[:, order].T.copy()))
        gru.bias_ih_l0.copy_(torch.from_numpy(bias[0, order].copy()))
        gru.bias_hh_l0.copy_(torch.from_numpy(bias[1, order].copy()))
    xt, wt = torch.from_numpy(x), torch.from_numpy(w)

    def step():
        xg = xt.detach().requires_grad_(True)
        gru.zero_grad()
        out, _ = gru(xg)
        y = out[:, -1]
        (y * wt).sum().backward()
        grads = [gru.weight_ih_l0.grad.T.numpy()[:, back], gru.weight_hh_l0.grad.T.numpy()[:, back],
                 np.stack([gru.bias_ih_l0.grad.numpy()[back], gru.bias_hh_l0.grad.numpy()[back]]),
                 xg.grad.numpy()]
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
@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("size", list(SIZES))
def test_gru_forward_backward(benchmark, size, variant, engine):
    problem = problem_for(size, variant)
    step = ENGINES[engine](problem)
    _check_against_rnncore(problem, *step())  # also the warm-up (tf.function tracing)
    benchmark.group = f"gru {size} B,T,I,H={SIZES[size]} {variant} forward+backward"
    benchmark.extra_info.update(engine=engine, gflop=gemm_flops(size, variant) / 1e9)
    benchmark(step)


@pytest.mark.parametrize("n_threads", [1, 2], ids=["rnncore-1thread", "rnncore-2threads"])
@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("size", list(SIZES))
def test_gru_threads(benchmark, size, variant, n_threads):
    step = _rnncore(problem_for(size, variant))
    before = rnncore.get_num_threads()
    rnncore.set_num_threads(n_threads)
    try:
        step()
        benchmark.group = f"gru {size} {variant} rnncore threads"
        benchmark.extra_info["n_threads"] = n_threads
        benchmark(step)
    finally:
        rnncore.set_num_threads(None if before == rnncore._config._available_cpus() else before)


# ---- the throughput reference --------------------------------------------------------------
def _gemm_shapes(size, variant):
    """(m, n, k, count) of every gemm of one forward+backward, as rnncore makes them."""
    B, T, I, H = SIZES[size]
    G = 3 * H
    per_step = ([(B, G, H, T), (B, H, G, T)] if VARIANTS[variant] else
                [(B, 2 * H, H, T), (B, H, H, T), (B, H, H, T), (B, H, 2 * H, T)])
    return per_step + [(T * B, G, I, 1),        # x·W
                       (H, G, T * B, 1),        # dU
                       (I, G, T * B, 1),        # dW
                       (T * B, I, G, 1)]        # dX


def gemm_flops(size, variant):
    return sum(2 * m * n * k * c for m, n, k, c in _gemm_shapes(size, variant))


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("size", list(SIZES))
def test_sgemm_same_shapes(benchmark, size, variant):
    """The gemms alone (no activations, no Python between them) through the kernels' BLAS, as
    rnncore issues them: SciPy's OpenBLAS at one thread, the per-step products one after
    another, the big ones split over rnncore's threads (``_recurrent.gemm``). Meaningful for
    the large size; for the seeds' size Python's call overhead per product dominates."""
    rng = np.random.default_rng(0)
    products = []
    for m, n, k, count in _gemm_shapes(size, variant):
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        products.append((a, b, np.empty((m, n), np.float32), count))

    @single_threaded_blas
    def step():
        for a, b, c, count in products:
            for _ in range(count):
                R.gemm(a, b, c, n_threads=1 if count > 1 else None)
    step()
    benchmark.group = f"gru {size} {variant} sgemm of the same shapes"
    benchmark.extra_info["gflop"] = gemm_flops(size, variant) / 1e9
    benchmark(step)
