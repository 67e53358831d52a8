"""The row-major BLAS shim (``rnncore._kernels._blas.gemm_into``) against NumPy."""
import itertools

import numpy as np
import pytest

import rnncore._kernels as K
from rnncore._kernels._blas import gemm_into, gemm_packed_into, pgemm

DTYPES = [np.float32, np.float64]
TRANS = list(itertools.product([False, True], repeat=2))
# (m, n, k): odd sizes, sizes of 1, and empty edges
SHAPES = [(1, 1, 1), (3, 5, 7), (17, 1, 9), (1, 13, 1), (1, 1, 31), (65, 33, 129),
          (0, 4, 3), (4, 0, 3), (4, 3, 0), (0, 0, 0),
          # the recurrent kernels' per-step products, which skip BLAS for float when n is a
          # multiple of 8 and b small: whole and partial blocks of 8 rows, k = 1 and 32
          (64, 32, 8), (13, 8, 32), (9, 24, 1), (64, 64, 16), (513, 16, 8),
          # and the weight gradients Aᵀ·B of a few units (m <= 16, n <= 32, k >= 64):
          # every block size of rows (16 = 6+6+4, 13 = 6+6+1, 3 = 2+1; 8 = 8 for one vector)
          (16, 32, 200), (13, 24, 64), (3, 16, 300), (8, 8, 129), (17, 32, 64),
          # and mid-size per-step products a·b (k > 32, m <= 512, n·k <= 65536): blocks of
          # 6, 4, 2, 1 rows by 16 columns and a last 8
          (32, 256, 64), (7, 200, 50), (13, 24, 40), (5, 16, 256)]
# the AVX-512 loops' edges: n around whole 16-float vectors and the 64-column panels (1029 =
# 16 panels and a 5-wide one), m around blocks of 6 and 12 rows, k short and long; as each of
# rnncore's paths (small b, mid-size b, Aᵀ·B of a few units) and BLAS
EDGE_SHAPES = [(m, n, k) for m in (1, 7, 13) for n in (1, 15, 16, 17, 33, 1029)
               for k in (1, 3, 256)]
SCALARS = [(1.0, 0.0), (0.5, 1.0), (-2.0, 0.25), (0.0, 3.0)]


def _operands(rng, m, n, k, trans_a, trans_b, dtype):
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    c = rng.standard_normal((m, n)).astype(dtype)
    return a, b, c


def _expected(a, b, c, trans_a, trans_b, alpha, beta):
    a64, b64, c64 = (v.astype(np.float64) for v in (a, b, c))
    return alpha * ((a64.T if trans_a else a64) @ (b64.T if trans_b else b64)) + beta * c64


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("trans_a,trans_b", TRANS, ids=lambda t: "T" if t else "N")
@pytest.mark.parametrize("m,n,k", SHAPES, ids=lambda s: str(s))
def test_gemm_into_matches_numpy(rng, dtype, trans_a, trans_b, m, n, k):
    for alpha, beta in SCALARS:
        a, b, c = _operands(rng, m, n, k, trans_a, trans_b, dtype)
        expected = _expected(a, b, c, trans_a, trans_b, alpha, beta)
        a_before, b_before = a.copy(), b.copy()

        gemm_into(a, b, c, trans_a, trans_b, alpha, beta)

        assert c.dtype == dtype and c.shape == (m, n)
        # float32 accumulates k products in single precision
        rtol = 1e-12 if dtype == np.float64 else 1e-5 * max(1, k) ** 0.5
        scale = 1 + np.abs(expected).max(initial=0)
        np.testing.assert_allclose(c, expected, rtol=0, atol=rtol * scale,
                                   err_msg=f"alpha={alpha}, beta={beta}")
        # the inputs are read, never written
        np.testing.assert_array_equal(a, a_before)
        np.testing.assert_array_equal(b, b_before)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("trans_a,trans_b", TRANS, ids=lambda t: "T" if t else "N")
@pytest.mark.parametrize("m,n,k", EDGE_SHAPES, ids=lambda s: str(s))
def test_gemm_into_matches_numpy_at_vector_edges(rng, dtype, trans_a, trans_b, m, n, k):
    """Masked last vectors write their columns and nothing past them: c is a view of a wider
    array whose other columns must stay as they were."""
    for alpha, beta in [(1.0, 0.0), (1.0, 1.0)]:  # the products rnncore's own loops take
        a, b, _ = _operands(rng, m, n, k, trans_a, trans_b, dtype)
        wide = rng.standard_normal((m, n + 5)).astype(dtype)
        before = wide.copy()
        c = wide[:, 2:n + 2]
        expected = _expected(a, b, c, trans_a, trans_b, alpha, beta)
        pgemm(a, b, c, trans_a, trans_b, alpha, beta, 1)
        tol = 1e-12 if dtype == np.float64 else 1e-5 * max(1, k) ** 0.5
        scale = 1 + np.abs(expected).max(initial=0)
        np.testing.assert_allclose(c, expected, rtol=0, atol=tol * scale,
                                   err_msg=f"alpha={alpha}, beta={beta}")
        np.testing.assert_array_equal(wide[:, :2], before[:, :2])
        np.testing.assert_array_equal(wide[:, n + 2:], before[:, n + 2:])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_gemm_into_accumulates_with_beta_one(rng, dtype):
    """beta = 1 is how the kernels add h·U onto the hoisted x·W + b: repeated calls add up."""
    a = rng.standard_normal((6, 4)).astype(dtype)
    b = rng.standard_normal((4, 5)).astype(dtype)
    c = np.zeros((6, 5), dtype)
    for _ in range(3):
        gemm_into(a, b, c, False, False, 1.0, 1.0)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(c, 3 * (a.astype(np.float64) @ b), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_gemm_into_writes_into_a_view_of_a_larger_array(rng, dtype):
    """The kernels write step t's rows of a (T, B, H) block: only those rows may change."""
    block = rng.standard_normal((3, 4, 5)).astype(dtype)
    before = block.copy()
    a = rng.standard_normal((4, 5)).astype(dtype)
    u = rng.standard_normal((5, 5)).astype(dtype)
    gemm_into(a, u, block[1], False, False, 1.0, 1.0)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(block[1], before[1] + a.astype(np.float64) @ u, rtol=tol, atol=tol)
    np.testing.assert_array_equal(block[0], before[0])
    np.testing.assert_array_equal(block[2], before[2])


@pytest.mark.parametrize("a_shape,b_shape,c_shape,trans_a,trans_b", [
    ((3, 4), (5, 2), (3, 2), False, False),   # inner sizes differ
    ((3, 4), (4, 2), (2, 3), False, False),   # c has the transposed shape
    ((3, 4), (4, 2), (3, 2), True, False),    # op(a) is (4, 3)
    ((3, 4), (4, 2), (3, 2), False, True),    # op(b) is (2, 4)
])
def test_gemm_into_rejects_mismatched_shapes(a_shape, b_shape, c_shape, trans_a, trans_b):
    a, b, c = np.ones(a_shape), np.ones(b_shape), np.zeros(c_shape)
    with pytest.raises(ValueError, match=r"gemm_into: op\(a\) is"):
        gemm_into(a, b, c, trans_a, trans_b, 1.0, 0.0)
    np.testing.assert_array_equal(c, 0)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("k", [0, 3])
def test_gemm_into_beta_zero_ignores_garbage_in_c(rng, dtype, k):
    """With beta = 0 the old contents of c are not read: the kernels pass np.empty scratch."""
    a = rng.standard_normal((4, k)).astype(dtype)
    b = rng.standard_normal((k, 5)).astype(dtype)
    c = np.full((4, 5), np.nan, dtype)
    gemm_into(a, b, c, False, False, 1.0, 0.0)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(c, a.astype(np.float64) @ b, rtol=tol, atol=tol)


# pgemm: the same product cut into row blocks (m >= n) or column blocks (m < n) over threads
PSHAPES = [(7, 3, 5), (3, 7, 5), (1, 9, 4), (9, 1, 4), (2, 2, 3), (64, 33, 17), (5, 6, 0),
           (0, 3, 2)]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("trans_a,trans_b", TRANS, ids=lambda t: "T" if t else "N")
@pytest.mark.parametrize("m,n,k", PSHAPES, ids=lambda s: str(s))
def test_pgemm_matches_numpy(rng, dtype, trans_a, trans_b, m, n, k):
    # 16 threads: more threads than rows or columns
    for n_threads, (alpha, beta) in itertools.product([1, 2, 3, 16], SCALARS):
        a, b, c = _operands(rng, m, n, k, trans_a, trans_b, dtype)
        expected = _expected(a, b, c, trans_a, trans_b, alpha, beta)
        pgemm(a, b, c, trans_a, trans_b, alpha, beta, n_threads)
        tol = 1e-12 if dtype == np.float64 else 1e-5 * max(1, k) ** 0.5
        scale = 1 + np.abs(expected).max(initial=0)
        np.testing.assert_allclose(c, expected, rtol=0, atol=tol * scale,
                                   err_msg=f"n_threads={n_threads}, alpha={alpha}, beta={beta}")


def test_pgemm_rejects_mismatched_shapes():
    c = np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"pgemm: op\(a\) is \(3, 4\), op\(b\) is \(5, 2\)"):
        pgemm(np.ones((3, 4)), np.ones((5, 2)), c, False, False, 1.0, 0.0, 2)
    np.testing.assert_array_equal(c, 0)


@pytest.mark.parametrize("n_threads", [1, 2, 3])
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_pgemm_on_gate_columns(rng, dtype, trans_a, trans_b, n_threads):
    """One gate's column block of a (rows, 3H) array, read and written in place."""
    m, n, k, H = 7, 5, 11, 5
    wide_a = rng.standard_normal((k, 3 * m) if trans_a else (m, 3 * k)).astype(dtype)
    wide_b = rng.standard_normal((n, 3 * k) if trans_b else (k, 3 * n)).astype(dtype)
    wide_c = rng.standard_normal((m, 3 * n)).astype(dtype)
    a = wide_a[:, m:2 * m] if trans_a else wide_a[:, k:2 * k]
    b = wide_b[:, k:2 * k] if trans_b else wide_b[:, 2 * n:]
    c = wide_c[:, n:2 * n]
    before = wide_c.copy()
    want = (a.T if trans_a else a) @ (b.T if trans_b else b) + 0.5 * c
    pgemm(a, b, c, trans_a, trans_b, 1.0, 0.5, n_threads)
    np.testing.assert_allclose(c, want, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5 if dtype == np.float32 else 1e-12)
    np.testing.assert_array_equal(np.delete(wide_c, np.s_[n:2 * n], axis=1),
                                  np.delete(before, np.s_[n:2 * n], axis=1))


def test_pgemm_rejects_strided_elements():
    a = np.zeros((4, 6))
    with pytest.raises(ValueError, match=r"a must have contiguous rows"):
        pgemm(a[:, ::2], np.zeros((3, 2)), np.zeros((4, 2)))


@pytest.mark.parametrize("beta", [0.0, 1.0])
@pytest.mark.parametrize("trans_b", [False, True])
def test_small_float_products_on_gate_columns(rng, trans_b, beta):
    """The per-step products the kernels make without BLAS (float, n a multiple of 8, alpha 1,
    beta 0 or 1), on one gate's columns of wider arrays: only those columns change."""
    m, n, k = 19, 8, 8
    wide_a = rng.standard_normal((m, 3 * k)).astype(np.float32)
    wide_b = rng.standard_normal((n, 3 * k) if trans_b else (k, 3 * n)).astype(np.float32)
    wide_c = rng.standard_normal((m, 4 * n)).astype(np.float32)
    a = wide_a[:, k:2 * k]
    b = wide_b[:, 2 * k:] if trans_b else wide_b[:, n:2 * n]
    c = wide_c[:, 2 * n:3 * n]
    before = wide_c.copy()
    want = a.astype(np.float64) @ (b.T if trans_b else b) + beta * c
    pgemm(a, b, c, False, trans_b, 1.0, beta, 1)
    np.testing.assert_allclose(c, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.delete(wide_c, np.s_[2 * n:3 * n], axis=1),
                                  np.delete(before, np.s_[2 * n:3 * n], axis=1))


@pytest.mark.parametrize("m,n,k", [(6400, 32, 16), (13, 8, 1), (7, 24, 32),
                                   # n off whole vectors: taken by the AVX-512 build only
                                   (5, 12, 4), (13, 1, 3), (7, 17, 8), (1, 33, 30)])
def test_gemm_bias_into_adds_the_bias_row(rng, m, n, k):
    from rnncore._kernels._blas import gemm_bias_into
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    c = np.full((m, n), np.nan, np.float32)
    taken = gemm_bias_into(a, b, bias, c)
    if taken:
        np.testing.assert_allclose(c, a.astype(np.float64) @ b + bias, rtol=1e-5, atol=1e-5)
    else:  # no AVX2/FMA, or n not a multiple of 8 without AVX-512: nothing written, the
        # caller uses BLAS
        assert K.ISA == "baseline" or (n % 8 and K.ISA == "avx2")
        assert np.isnan(c).all()


@pytest.mark.parametrize("m,n,k", [(5, 8, 33), (5, 40, 32), (0, 8, 4)])
def test_gemm_bias_into_declines_other_shapes(rng, m, n, k):
    # k above 32, b above 1024 floats, no rows
    from rnncore._kernels._blas import gemm_bias_into
    c = np.full((m, n), np.nan, np.float32)
    assert not gemm_bias_into(rng.standard_normal((m, k)).astype(np.float32),
                              rng.standard_normal((k, n)).astype(np.float32),
                              np.zeros(n, np.float32), c)
    assert np.isnan(c).all()


# b packed once for many products (the recurrent kernels' U): with AVX2 panels of 16 columns
# and a last 8-wide one, blocks of 6, 4, 2 and 1 rows; with AVX-512 panels of 64 columns, the
# last one padded to whole vectors, blocks of up to 6 (4 vectors) to 12 rows (1 or 2). b of
# at most 1024 floats with k <= 32 is left to the small-product loop, and with AVX2 n not a
# multiple of 8 to BLAS. `packs`: whether the AVX2 build packs it, then the AVX-512 build.
@pytest.mark.parametrize("beta", [0.0, 1.0])
@pytest.mark.parametrize("trans_b", [False, True], ids=["N", "T"])
@pytest.mark.parametrize("m,n,k,packs", [(64, 128, 256, (True, True)),
                                         (13, 24, 40, (True, True)),
                                         (7, 8, 100, (True, True)), (1, 40, 33, (True, True)),
                                         (5, 16, 8, (False, False)),
                                         (6, 20, 64, (False, True)),
                                         (13, 1029, 3, (False, True)),
                                         (7, 1, 1025, (False, True)),
                                         (64, 1024, 256, (True, True)),
                                         (32, 768, 256, (True, True)),
                                         (64, 256, 1024, (True, True))],
                         ids=lambda v: str(v))
def test_packed_products_match_numpy(rng, m, n, k, packs, trans_b, beta):
    a, b, c = _operands(rng, m, n, k, False, trans_b, np.float32)
    if beta == 0:
        c[...] = np.nan  # never read
    want = _expected(a, b, np.nan_to_num(c), False, trans_b, 1.0, beta)
    packed = gemm_packed_into(a, b, c, trans_b, beta)
    assert packed == {"avx2": packs[0], "avx512": packs[1]}.get(K.ISA, False)
    np.testing.assert_allclose(c, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("m,n,k", [(32, 256, 64), (13, 33, 40), (7, 100, 64)])
def test_packed_products_give_the_bits_of_the_loop_that_reads_b_in_place(rng, m, n, k):
    """Packing changes where b is read from, not the order of the sums: the mid-size loop
    (b in place) and the packed one give the same floats."""
    a, b, _ = _operands(rng, m, n, k, False, False, np.float32)
    c_in_place = np.zeros((m, n), np.float32)
    gemm_into(a, b, c_in_place)
    c_packed = np.zeros((m, n), np.float32)
    if gemm_packed_into(a, b, c_packed) and (n % 8 == 0 or K.ISA == "avx512"):
        np.testing.assert_array_equal(c_packed, c_in_place)



@pytest.mark.parametrize("m,n,k", [(8, 32, 6400), (16, 24, 64), (8, 20, 6400), (64, 64, 6400),
                                   (65, 32, 6400), (8, 72, 6400), (8, 32, 63), (33, 60, 200)])
def test_the_weight_gradient_loop_says_which_shapes_it_takes(rng, m, n, k):
    """ops' gemm asks tn_small_takes before choosing NumPy's BLAS for a weight gradient: the
    loop's limits (_gemm.h) are m <= 64, n <= 64, k >= 64, whole 8-float vectors with AVX2
    (masked tails with AVX-512), and no loop in the baseline build; either way the product
    is right."""
    from rnncore._kernels import _blas

    fits = m <= 64 and n <= 64 and k >= 64
    expected = {"baseline": False, "avx2": fits and n % 8 == 0, "avx512": fits}[K.ISA]
    assert _blas.tn_small_takes(m, n, k) == expected
    a = rng.standard_normal((k, m)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    c = np.full((m, n), np.nan, np.float32)
    pgemm(a, b, c, True, False, 1.0, 0.0, 1)
    np.testing.assert_allclose(c, a.T.astype(np.float64) @ b, rtol=1e-4, atol=1e-3)
