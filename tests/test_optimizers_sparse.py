"""Sparse (IndexedSlices) gradients against Keras 3's TensorFlow backend.

There an Embedding's gradient is a ``tf.IndexedSlices`` with one slice per token occurrence, and
the optimizers' ops keep it sparse where they can, so repeated ids change RMSprop's, Adam's and
Adagrad's second moments and what clipping does. rnncore must do the same.
"""
import warnings

import numpy as np
import pytest

import rnncore
from _parity import rel_err
from rnncore import optimizers
from rnncore._indexed_slices import IndexedSlices
from rnncore._variable import Variable
from rnncore.optimizers._base import _scatter_add, _scatter_add_squares

ROWS, COLS, N_IDS, STEPS = 10, 3, 15, 4

CASES = [
    ("SGD", {"learning_rate": 0.1}),
    ("SGD", {"momentum": 0.9}),
    ("SGD", {"momentum": 0.5, "nesterov": True, "clipnorm": 0.8}),
    ("RMSprop", {}),
    ("RMSprop", {"momentum": 0.9, "rho": 0.8}),
    ("RMSprop", {"centered": True}),
    ("RMSprop", {"centered": True, "momentum": 0.5, "clipvalue": 0.7}),
    ("RMSprop", {"global_clipnorm": 1.5}),
    ("Adam", {}),
    ("Adam", {"amsgrad": True, "clipnorm": 1.0}),
    ("Adam", {"learning_rate": 0.01, "weight_decay": 0.05, "clipvalue": 0.5}),
    ("Adam", {"global_clipnorm": 2.0, "beta_1": 0.8}),
    ("AdamW", {"weight_decay": 0.1, "amsgrad": True}),
    ("Adagrad", {}),
    ("Adagrad", {"learning_rate": 0.05, "initial_accumulator_value": 0.3, "clipnorm": 0.9}),
    ("Nadam", {}),
    ("Nadam", {"learning_rate": 0.01, "global_clipnorm": 1.0}),
    ("Lamb", {}),
    ("Lamb", {"weight_decay": 0.05, "clipnorm": 1.0}),
    ("Adafactor", {"learning_rate": 0.1}),
    ("Adafactor", {"learning_rate": 0.5, "clip_threshold": 0.05, "clipvalue": 0.5}),
]


def _ids(rng):
    # Repeats on purpose, and rows 7..9 (plus whatever the draw misses) get no slice.
    return rng.integers(0, 7, size=N_IDS)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{'-'.join(k)}" for n, k in CASES])
def test_steps_match_keras(keras, tf, name, kwargs, dtype, rng):
    init = {"embeddings": rng.normal(size=(ROWS, COLS)), "bias": rng.normal(size=(COLS,))}
    ours = [Variable(v.astype(dtype), name=k, path=f"layer/{k}") for k, v in init.items()]
    theirs = [keras.Variable(v.astype(dtype), name=k, dtype=np.dtype(dtype).name)
              for k, v in init.items()]
    opt, kopt = getattr(optimizers, name)(**kwargs), getattr(keras.optimizers, name)(**kwargs)
    for step in range(STEPS):
        ids = _ids(rng)
        values = (rng.normal(size=(N_IDS, COLS)) * 2.0).astype(dtype)
        bias_grad = rng.normal(size=COLS).astype(dtype)
        opt.apply_gradients([(IndexedSlices(ids, values, (ROWS, COLS)), ours[0]),
                             (bias_grad, ours[1])])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TF: "Converting sparse IndexedSlices to dense"
            kopt.apply_gradients([(tf.IndexedSlices(tf.constant(values), tf.constant(ids),
                                                    tf.constant([ROWS, COLS])), theirs[0]),
                                  (tf.constant(bias_grad), theirs[1])])
        for ov, kv in zip(ours, theirs):
            assert rel_err(ov.value, kv.numpy()) <= 1e-6, (ov.name, step)
            assert ov.value.dtype == dtype
    kvars = [np.asarray(v) for v in kopt.variables]
    assert len(opt.variables) == len(kvars)
    for o, k in zip(opt.variables, kvars):
        assert rel_err(o, k) <= 1e-6


@pytest.mark.parametrize("name", ["RMSprop", "Adam", "Adagrad"])
def test_repeated_ids_square_per_occurrence(name, rng):
    # The second moment gets sum_k g_k**2, not (sum_k g_k)**2: the sparse step differs from
    # the step on the summed gradient, row by row, exactly where ids repeat.
    ids = np.array([0, 0, 1, 3])
    g = IndexedSlices(ids, rng.normal(size=(4, 2)).astype(np.float32), (5, 2))
    results = []
    for grad in (g, g.to_dense()):
        var = Variable(np.ones((5, 2), np.float32), name="embeddings")
        getattr(optimizers, name)(learning_rate=0.1).apply_gradients([(grad, var)])
        results.append(var.value)
    sparse, dense = results
    np.testing.assert_array_equal(sparse[1:], dense[1:])
    assert not np.allclose(sparse[0], dense[0], rtol=1e-3)


def test_loss_scale_factor_divides_the_slices(rng):
    # Keras's TF backend raises a TypeError here (IndexedSlices / float); rnncore unscales.
    g = IndexedSlices([0, 0, 2], rng.normal(size=(3, 2)).astype(np.float32), (4, 2))
    results = []
    for grad, factor in ((g, None), (g.with_values(g.values * 4), 4.0)):
        var = Variable(np.ones((4, 2), np.float32), name="embeddings")
        optimizers.Adam(0.1, loss_scale_factor=factor).apply_gradients([(grad, var)])
        results.append(var.value)
    np.testing.assert_allclose(results[1], results[0], rtol=1e-6)


@pytest.mark.parametrize("id_dtype", [np.int64, np.int32, np.int16])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows,cols", [(7, 5), (500, 16)])
def test_to_dense_matches_tensorflow_bit_for_bit(tf, rows, cols, dtype, id_dtype, rng):
    ids = rng.integers(0, rows // 2 + 1, size=640).astype(id_dtype)
    values = rng.normal(size=(640, cols)).astype(dtype)
    ours = IndexedSlices(ids, values, (rows, cols))
    np.testing.assert_array_equal(ours.to_dense(),
                                  tf.math.unsorted_segment_sum(values, ids, rows).numpy())
    np.testing.assert_array_equal(np.asarray(ours), ours.to_dense())


@pytest.mark.parametrize("scale", [None, 0.1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_squares_to_dense_matches_tensorflow_bit_for_bit(tf, dtype, scale, rng):
    ids = rng.integers(0, 40, size=640).astype(np.int32)
    values = rng.normal(size=(640, 7)).astype(dtype)
    squares = tf.square(values) if scale is None else dtype(scale) * tf.square(values)
    expected = tf.math.unsorted_segment_sum(squares, ids, 60).numpy()
    got = IndexedSlices(ids, values, (60, 7)).squares_to_dense(
        None if scale is None else dtype(scale))
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("scale", [None, 0.5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_sums_and_squares_into_equal_the_two_tables_bit_for_bit(dtype, scale, rng):
    # the one pass rnncore.distributed scatters into its buffer: the same bits as the two
    # separate scatters, written into the views it is given
    ids = rng.integers(0, 40, size=640).astype(np.int64)
    g = IndexedSlices(ids, rng.normal(size=(640, 2, 3)).astype(dtype), (60, 2, 3))
    buffer = np.zeros(2 * 60 * 6 + 5, dtype)
    sums, squares = buffer[:360].reshape(60, 2, 3), buffer[360:720].reshape(60, 2, 3)
    g.sums_and_squares_into(sums, squares, None if scale is None else dtype(scale))
    np.testing.assert_array_equal(sums, g.to_dense())
    np.testing.assert_array_equal(squares,
                                  g.squares_to_dense(None if scale is None else dtype(scale)))
    assert not buffer[720:].any()


@pytest.mark.parametrize("shape", [(9,), (9, 2, 3)])
@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_to_dense_of_any_rank_and_float16_sums_each_row(shape, dtype, rng):
    ids = np.array([3, 0, 3, 8, 3])
    values = rng.normal(size=(5,) + shape[1:]).astype(dtype)
    expected = np.zeros(shape, dtype)
    np.add.at(expected, ids, values)
    dense = IndexedSlices(ids, values, shape).to_dense()
    assert dense.dtype == dtype
    np.testing.assert_array_equal(dense, expected)
    np.testing.assert_array_equal(IndexedSlices(ids[:0], values[:0], shape).to_dense(),
                                  np.zeros(shape, dtype))


def test_indexed_slices_validates_its_arguments():
    with pytest.raises(ValueError, match=r"`values` must have shape \(2, 3\)"):
        IndexedSlices([0, 1], np.zeros((2, 4)), (5, 3))
    with pytest.raises(ValueError, match=r"`indices` must lie in \[0, 5\)"):
        IndexedSlices([0, 5], np.zeros((2, 3)), (5, 3))
    with pytest.raises(ValueError, match="`indices` must be integers"):
        IndexedSlices([0.0, 1.0], np.zeros((2, 3)), (5, 3))


def test_embedding_gradient_is_one_slice_per_occurrence(keras, tf, rng):
    ids = rng.integers(0, 6, size=(4, 5))
    layer = rnncore.layers.Embedding(10, 3)
    out = layer(ids)
    d_out = rng.normal(size=out.shape).astype(np.float32)
    layer.backward(d_out)
    grad = layer.embeddings.grad
    assert isinstance(grad, IndexedSlices)
    np.testing.assert_array_equal(grad.indices, ids.reshape(-1))
    np.testing.assert_array_equal(grad.values, d_out.reshape(-1, 3))
    k_layer = keras.layers.Embedding(10, 3)
    k_layer.build((4, 5))
    with tf.GradientTape() as tape:
        k_out = k_layer(ids)
        loss = tf.reduce_sum(k_out * d_out)
    k_grad = tape.gradient(loss, k_layer.embeddings.value)
    assert isinstance(k_grad, tf.IndexedSlices)
    np.testing.assert_array_equal(grad.indices, k_grad.indices.numpy())
    np.testing.assert_array_equal(grad.to_dense(), tf.convert_to_tensor(k_grad).numpy())


MODEL_OPTIMIZERS = {
    "sgd-momentum": ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    "rmsprop": ("RMSprop", {"learning_rate": 0.01}),
    # rho=0.99: with 0.9, v - a**2 (sum of squares against square of sums) turns negative
    # for ids this frequent; Keras then takes divide's zero-or-NaN-divisor path, which breaks
    # on repeated indices (InvalidArgumentError), and rnncore gets NaN.
    "rmsprop-centered-momentum": ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5,
                                              "centered": True, "rho": 0.99}),
    "adam": ("Adam", {"learning_rate": 0.01}),
    "adam-amsgrad": ("Adam", {"learning_rate": 0.01, "amsgrad": True}),
    "adagrad": ("Adagrad", {"learning_rate": 0.1}),
    "adam-clipnorm": ("Adam", {"learning_rate": 0.01, "clipnorm": 0.05}),
    "rmsprop-clipvalue": ("RMSprop", {"learning_rate": 0.01, "clipvalue": 0.002}),
    "adam-global-clipnorm": ("Adam", {"learning_rate": 0.01, "global_clipnorm": 0.05}),
    "lamb": ("Lamb", {"learning_rate": 0.01}),
    "adafactor": ("Adafactor", {"learning_rate": 0.1}),
}


def _model(lib):
    return lib.Sequential([lib.Input(shape=(12,), dtype="int32"), lib.layers.Embedding(40, 8),
                           lib.layers.Flatten(), lib.layers.Dense(1, activation="sigmoid")])


@pytest.mark.parametrize("opt", list(MODEL_OPTIMIZERS))
def test_embedding_model_trains_like_keras(keras, rng, opt):
    k_model, r_model = _model(keras), _model(rnncore)
    r_model.set_weights(k_model.get_weights())
    cls, kwargs = MODEL_OPTIMIZERS[opt]
    k_model.compile(getattr(keras.optimizers, cls)(**kwargs), "binary_crossentropy")
    r_model.compile(getattr(rnncore.optimizers, cls)(**kwargs), "binary_crossentropy")
    x = rng.integers(1, 9, size=(32, 12)).astype("int32")  # ~48 repeats of each of 8 ids
    y = (x[:, :3].mean(axis=1) > 4.5).astype("float32")
    for step in range(4):
        k_loss = k_model.train_on_batch(x, y)
        r_loss = r_model.train_on_batch(x, y)
        assert rel_err(r_loss, k_loss) <= 1e-5, (step, r_loss, k_loss)
    for r_w, k_w in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(r_w, k_w) <= 1e-5


RMSPROP_VARIANTS = [{}, {"momentum": 0.9}, {"centered": True, "rho": 0.99},
                    {"centered": True, "momentum": 0.5, "rho": 0.99}]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows,n_ids,cols", [(50, 300, 8), (400, 120, 8), (3000, 1100, 72)])
@pytest.mark.parametrize("kwargs", RMSPROP_VARIANTS, ids=["plain", "momentum", "centered",
                                                          "centered-momentum"])
def test_sparse_rmsprop_is_keras_to_the_bit(keras, tf, kwargs, rows, n_ids, cols, dtype, rng,
                                            request):
    # The compiled sparse step (_rows.rmsprop_rows) follows Keras's ops one rounding at a
    # time: the slices summed per row in order, w[i_k] -= lr * g_k / d one slice at a time.
    # More ids than rows (every row repeats) and fewer (most rows untouched); 72 columns and
    # 1100 ids: threads take blocks of columns (32 + 32 + 8 with three threads).
    rnncore.set_num_threads(3)
    request.addfinalizer(lambda: rnncore.set_num_threads(None))
    _assert_sparse_steps_match_keras(keras, tf, optimizers.RMSprop(learning_rate=0.01, **kwargs),
                                     keras.optimizers.RMSprop(learning_rate=0.01, **kwargs),
                                     rows, n_ids, cols, dtype, rng)


def _assert_sparse_steps_match_keras(keras, tf, opt, kopt, rows, n_ids, cols, dtype, rng):
    """Four steps of `opt` and Keras's `kopt` on the same Embedding slices (int32 and int64
    ids, most rows touched more than once or not at all): the same bits in the weights and in
    every slot after each."""
    w0 = rng.normal(size=(rows, cols)).astype(dtype)
    ours = Variable(w0.copy(), name="embeddings", path="embedding/embeddings")
    theirs = keras.Variable(w0.copy(), name="embeddings", dtype=np.dtype(dtype).name)
    for step in range(4):
        ids = rng.integers(0, rows * 4 // 5, size=n_ids).astype(np.int32 if step % 2 else np.int64)
        values = rng.normal(size=(n_ids, cols)).astype(dtype)
        opt.apply_gradients([(IndexedSlices(ids, values, (rows, cols)), ours)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TF: "Converting sparse IndexedSlices to dense"
            kopt.apply_gradients([(tf.IndexedSlices(tf.constant(values), tf.constant(ids),
                                                    tf.constant([rows, cols])), theirs)])
        np.testing.assert_array_equal(ours.value, theirs.numpy(), err_msg=f"step {step}")
    for o, k in zip(opt.variables, kopt.variables):
        np.testing.assert_array_equal(o, np.asarray(k))


@pytest.mark.parametrize("kwargs", RMSPROP_VARIANTS)
def test_sparse_rmsprop_dense_fallback_agrees_with_the_compiled_step(kwargs, rng):
    # Variables the compiled step does not take (float16, ...) go through NumPy's ops: the
    # same operations in the same order, so the same bits.
    ids = rng.integers(0, 30, size=200)
    values = rng.normal(size=(200, 6)).astype(np.float32)
    results = []
    for method in ("_sparse_update_step", "_sparse_update_step_dense"):
        var = Variable(np.ones((40, 6), np.float32), name="embeddings")
        opt = optimizers.RMSprop(learning_rate=0.01, **kwargs)
        opt.build([var])
        for _ in range(3):
            getattr(opt, method)(IndexedSlices(ids, values, (40, 6)), var.value,
                                 np.float32(0.01), 0)
        results.append(var.value)
    np.testing.assert_array_equal(results[1], results[0])


SCATTERING = {"sgd": ("SGD", {"learning_rate": 0.1}),
              "adagrad": ("Adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.2})}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows,n_ids,cols", [(50, 300, 8), (400, 120, 8), (1000, 600, 16)])
@pytest.mark.parametrize("opt_name", list(SCATTERING))
def test_scattering_sparse_steps_are_keras_to_the_bit(keras, tf, opt_name, rows, n_ids, cols,
                                                      dtype, rng):
    # SGD without momentum and Adagrad end in assign_add/assign_sub of slices, which Keras's
    # TensorFlow backend does as scatter_add/scatter_sub: one slice at a time, in order, only
    # into the rows the ids name. Summing the slices first, as rnncore once did, rounds
    # differently wherever an id repeats.
    name, kwargs = SCATTERING[opt_name]
    _assert_sparse_steps_match_keras(keras, tf, getattr(optimizers, name)(**kwargs),
                                     getattr(keras.optimizers, name)(**kwargs), rows, n_ids,
                                     cols, dtype, rng)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scatters_numpy_fallback_agrees_with_the_compiled_one(dtype, rng):
    # Tables the compiled scatters do not take (float16, not C-contiguous) go through
    # np.add.at, which also adds one slice at a time in order: the same bits.
    g = IndexedSlices(rng.integers(0, 30, size=200), rng.normal(size=(200, 6)).astype(dtype),
                      (40, 6))
    table = rng.normal(size=(40, 6)).astype(dtype)
    compiled, fallback = table.copy(), np.asfortranarray(table)
    for dense in (compiled, fallback):
        _scatter_add_squares(dense, g)
        _scatter_add(dense, g, g.values * dtype(-0.1))
    assert not np.array_equal(compiled, table)
    np.testing.assert_array_equal(fallback, compiled)


@pytest.mark.parametrize("name,options", [
    ("RMSprop", {}), ("RMSprop", {"centered": True}), ("RMSprop", {"momentum": 0.9}),
    ("Adam", {}), ("Adam", {"amsgrad": True}), ("AdamW", {}), ("Adagrad", {}), ("SGD", {}),
    ("SGD", {"momentum": 0.9}), ("SGD", {"momentum": 0.9, "nesterov": True})],
    ids=["rmsprop", "rmsprop-centered", "rmsprop-momentum", "adam", "adam-amsgrad", "adamw",
         "adagrad", "sgd", "sgd-momentum", "sgd-nesterov"])
def test_an_embedding_gradient_as_row_sums_gives_the_slices_result(name, options):
    """rnncore.distributed hands these optimizers a small table's gradient as per-row sums of
    the slices and of their squares (one fixed-size message for all ranks): the step must be
    the slices' step, up to the order of the sums."""
    from rnncore._indexed_slices import RowSums

    rng = np.random.default_rng(3)
    table = rng.standard_normal((50, 4))
    ids = rng.integers(0, 30, 400)  # rows 30-49 untouched: they only decay
    results = []
    for as_sums in (False, True):
        w = Variable(table.copy(), name="embeddings", path="embedding/embeddings")
        opt = getattr(optimizers, name)(0.01, **options)
        assert opt.takes_row_sums
        for step in range(3):
            g = IndexedSlices(ids, np.random.default_rng(step).standard_normal((400, 4)), (50, 4))
            grad = RowSums(g.to_dense(), g.squares_to_dense()) if as_sums else g
            opt.apply([grad], [w])
        results.append((w.value.copy(), [np.array(s) for s in opt.variables]))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-12, atol=1e-12)
    for a, b in zip(results[1][1], results[0][1]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert not np.allclose(results[0][0], table)
