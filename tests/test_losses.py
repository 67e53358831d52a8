"""Losses against Keras 3: values and gradients, through Keras's cached-logits path and its
clipped-probability path, reductions, names, target checks."""
import numpy as np
import pytest

from rnncore import losses

N = 7


def _targets(kind, shape, rng, dtype):
    if kind == "binary":
        return (rng.random(shape) > 0.5).astype(dtype)
    if kind == "onehot":
        return np.eye(shape[-1], dtype=dtype)[rng.integers(0, shape[-1], shape[:-1])]
    if kind == "sparse":
        return rng.integers(0, shape[-1], shape[:-1])
    return rng.normal(size=shape).astype(dtype)


# (loss class, kwargs, activation, y_pred shape, target kind, target shape or None = same)
LOGIT_CASES = [
    ("BinaryCrossentropy", {}, "sigmoid", (N, 1), "binary", (N,)),
    ("BinaryCrossentropy", {}, "sigmoid", (N, 3), "binary", None),
    ("BinaryCrossentropy", {"label_smoothing": 0.2}, "sigmoid", (N, 1), "binary", None),
    ("BinaryCrossentropy", {}, "sigmoid", (N, 4, 1), "binary", (N, 4)),  # Keras drops logits
    ("CategoricalCrossentropy", {}, "softmax", (N, 5), "onehot", None),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, "softmax", (N, 3, 4), "onehot", None),
    ("SparseCategoricalCrossentropy", {}, "softmax", (N, 5), "sparse", None),
    ("SparseCategoricalCrossentropy", {}, "softmax", (N, 3, 4), "sparse", None),
    ("SparseCategoricalCrossentropy", {"ignore_class": 1}, "softmax", (N, 4), "sparse", None),
    ("MeanSquaredError", {}, "sigmoid", (N, 1), "binary", (N,)),
    ("MeanAbsoluteError", {}, "softmax", (N, 3), "onehot", None),
    ("Huber", {"delta": 0.3}, "sigmoid", (N, 2), "real", None),
]


def _keras_value_and_grad(keras, tf, kloss, y, x, activation=None, sample_weight=None):
    x = tf.Variable(x)
    with tf.GradientTape() as tape:
        out = getattr(keras.activations, activation)(x) if activation else tf.identity(x)
        value = kloss(y, out, sample_weight=sample_weight)
    return np.asarray(value), tape.gradient(value, x).numpy(), out.numpy()


def _assert_close(ours, theirs, dtype, grad=False):
    if dtype == np.float32:
        rtol, scale = (1e-5, 1e-5) if grad else (1e-6, 1e-6)
    else:
        rtol, scale = 1e-12, 1e-12
    theirs = np.asarray(theirs)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=scale * np.abs(theirs).max())


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs,act,shape,kind,tshape", LOGIT_CASES,
                         ids=[f"{c[0]}-{c[3]}-{'-'.join(c[1])}" for c in LOGIT_CASES])
def test_logits_path_matches_keras(keras, tf, name, kwargs, act, shape, kind, tshape, dtype,
                                   weighted, rng):
    logits = (rng.normal(size=shape) * 4).astype(dtype)
    logits.flat[0] = 40.0  # saturated: the logits path keeps the full loss, no clipping
    y = _targets(kind, shape, rng, dtype)
    if tshape is not None:
        y = y.reshape(tshape)
    # One weight per loss value: per sample, or per timestep for sequence outputs.
    values_shape = getattr(losses, name)(reduction="none", **kwargs)(y, np.full(shape, 0.5)).shape
    sw = rng.random(values_shape).astype(dtype) if weighted else None
    kloss = getattr(keras.losses, name)(dtype=np.dtype(dtype).name, **kwargs)
    kval, kgrad, probs = _keras_value_and_grad(keras, tf, kloss, y, logits, act, sw)
    loss = getattr(losses, name)(**kwargs)
    value, grad = loss.value_and_grad(y, probs, sample_weight=sw, logits=logits, activation=act)
    assert isinstance(value, float) and grad.shape == logits.shape and grad.dtype == dtype
    _assert_close(value, kval, dtype)
    _assert_close(grad, kgrad, dtype, grad=True)
    _assert_close(loss(y, probs, sample_weight=sw, logits=logits), kval, dtype)


PROB_CASES = [
    ("BinaryCrossentropy", {}, (N, 1), "binary", (N,)),
    ("BinaryCrossentropy", {"label_smoothing": 0.3}, (N, 2), "binary", None),
    ("CategoricalCrossentropy", {}, (N, 4), "onehot", None),
    ("SparseCategoricalCrossentropy", {}, (N, 4), "sparse", (N, 1)),
    ("SparseCategoricalCrossentropy", {"ignore_class": 0}, (N, 4), "sparse", None),
    ("MeanSquaredError", {}, (N, 3), "real", None),
    ("MeanAbsoluteError", {}, (N, 1), "real", (N,)),
]


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs,shape,kind,tshape", PROB_CASES,
                         ids=[f"{c[0]}-{c[2]}-{'-'.join(c[1])}" for c in PROB_CASES])
def test_probability_path_and_clipping_match_keras(keras, tf, name, kwargs, shape, kind, tshape,
                                                    dtype, reduction, rng):
    probs = rng.uniform(0.05, 0.95, size=shape).astype(dtype)
    eps = dtype(1e-7)
    # Saturated and boundary values: clipped ones get a zero gradient, the bounds themselves not.
    specials = [0.0, 1.0, eps, dtype(1 - 1e-7), 1e-9, 1 - 1e-9]
    probs.flat[:len(specials)] = specials
    y = _targets(kind, shape, rng, dtype)
    if tshape is not None:
        y = y.reshape(tshape)
    sw = rng.random(N).astype(dtype)
    kloss = getattr(keras.losses, name)(reduction=reduction, dtype=np.dtype(dtype).name, **kwargs)
    kval, kgrad, _ = _keras_value_and_grad(keras, tf, kloss, y, probs, None, sw)
    loss = getattr(losses, name)(reduction=reduction, **kwargs)
    value, grad = loss.value_and_grad(y, probs, sample_weight=sw)
    _assert_close(value, kval, dtype)
    _assert_close(grad, kgrad, dtype, grad=True)


def test_reduction_none_returns_per_sample_values(keras, rng):
    probs = rng.uniform(0.1, 0.9, size=(N, 1)).astype(np.float32)
    y = _targets("binary", (N,), rng, np.float32)
    ours = losses.BinaryCrossentropy(reduction="none")(y, probs)
    theirs = keras.losses.BinaryCrossentropy(reduction="none")(y, probs)
    assert ours.shape == (N,)
    _assert_close(ours, theirs, np.float32)
    _assert_close(losses.binary_crossentropy(y, probs), theirs, np.float32)


def test_from_logits_argument_matches_keras(keras, rng):
    logits = rng.normal(size=(N, 5)).astype(np.float32) * 3
    y = rng.integers(0, 5, N)
    theirs = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits)
    ours = losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits)
    _assert_close(ours, theirs, np.float32)


# identifier -> (class, name) as compile() names the loss
GET_TABLE = {
    "binary_crossentropy": ("BinaryCrossentropy", "binary_crossentropy"),
    "bce": ("BinaryCrossentropy", "bce"),
    "categorical_crossentropy": ("CategoricalCrossentropy", "categorical_crossentropy"),
    "sparse_categorical_crossentropy": ("SparseCategoricalCrossentropy",
                                        "sparse_categorical_crossentropy"),
    "mse": ("MeanSquaredError", "mse"),
    "MSE": ("MeanSquaredError", "MSE"),
    "mean_squared_error": ("MeanSquaredError", "mean_squared_error"),
    "mae": ("MeanAbsoluteError", "mae"),
    "mean_absolute_error": ("MeanAbsoluteError", "mean_absolute_error"),
    "BinaryCrossentropy": ("BinaryCrossentropy", "binary_crossentropy"),
    "Huber": ("Huber", "huber_loss"),
}


@pytest.mark.parametrize("identifier", sorted(GET_TABLE))
def test_compile_resolves_keras_names(keras, identifier):
    cls, name = GET_TABLE[identifier]
    loss = losses._for_compile(identifier)
    assert type(loss).__name__ == cls and loss.name == name
    keras.losses.get(identifier)  # Keras knows the same string


@pytest.mark.parametrize("out_shape,y_shape,expected", [
    ((N, 1), (N,), "BinaryCrossentropy"),
    ((N, 1), (N, 1), "BinaryCrossentropy"),
    ((N, 4), (N,), "SparseCategoricalCrossentropy"),
    ((N, 4), (N, 1), "SparseCategoricalCrossentropy"),
    ((N, 4), (N, 4), "CategoricalCrossentropy"),
    ((N, 3, 4), (N, 3), "SparseCategoricalCrossentropy"),
])
def test_crossentropy_shortcut_resolves_as_keras_compile(keras, out_shape, y_shape, expected):
    from keras.src.trainers.compile_utils import get_loss
    theirs = get_loss("ce", np.zeros(y_shape), np.zeros(out_shape))
    ours = losses.get("ce", output_shape=out_shape, target_shape=y_shape)
    assert type(ours).__name__ == expected and ours.name == "ce"
    assert theirs.fn.__name__ == losses._CLASSES[expected]().name


@pytest.mark.parametrize("name", ["BinaryCrossentropy", "CategoricalCrossentropy",
                                  "SparseCategoricalCrossentropy", "MeanSquaredError",
                                  "MeanAbsoluteError", "Huber"])
def test_config_and_serialization_match_keras(keras, name):
    ours, theirs = getattr(losses, name)(), getattr(keras.losses, name)()
    assert ours.name == theirs.name
    kser = keras.losses.serialize(theirs)
    ser = losses.serialize(ours)
    if name == "Huber":  # Keras leaves `delta` out of its config (and so loses it); we keep it
        assert ser["config"].pop("delta") == 1.0
    assert ser == kser
    assert losses.deserialize(kser).get_config() == ours.get_config()


def test_deserialize_reads_keras_function_form(keras):
    # Keras stores a loss given by string as its function; it comes back as the class.
    loss = losses.deserialize(keras.losses.serialize(keras.losses.get("mse")))
    assert isinstance(loss, losses.MeanSquaredError) and loss.name == "mean_squared_error"


@pytest.mark.parametrize("name,y,out_shape", [
    ("binary_crossentropy", np.zeros(N), (None, 1)),
    ("binary_crossentropy", np.zeros((N, 1)), (None, 1)),
    ("binary_crossentropy", np.zeros((N, 5)), (None, 5, 1)),
    ("categorical_crossentropy", np.eye(3)[np.arange(N) % 3], (None, 3)),
    ("sparse_categorical_crossentropy", np.arange(N) % 3, (None, 3)),
    ("sparse_categorical_crossentropy", (np.arange(N) % 3.0)[:, None], (None, 3)),
    ("sparse_categorical_crossentropy", np.zeros((N, 4), int), (None, 4, 3)),
    ("mse", np.zeros(N), (None, 1)),
])
def test_check_targets_accepts_what_keras_trains_on(name, y, out_shape):
    losses._for_compile(name).check_targets(y, out_shape)


@pytest.mark.parametrize("loss,y,out_shape,match", [
    (losses.BinaryCrossentropy(), np.zeros((N, 2)), (None, 1), r"`y` has shape \(7, 2\)"),
    (losses.CategoricalCrossentropy(), np.arange(N) % 3, (None, 3), r"sparse_categorical"),
    (losses.SparseCategoricalCrossentropy(), np.arange(N) % 5, (None, 3),
     r"`y` holds class labels in \[0, 4\].*\[0, 3\)"),
    (losses.SparseCategoricalCrossentropy(), np.full(N, 0.5), (None, 3), r"`y` must hold integer"),
    (losses.SparseCategoricalCrossentropy(), np.eye(3)[np.arange(N) % 3], (None, 3),
     r"`y` has shape.*categorical_crossentropy"),
    (losses.MeanSquaredError(), np.zeros((N, 2)), (None, 3), r"`y` has shape"),
    (losses.MeanSquaredError(), np.array(["a"] * N), (None, 1), r"`y` must hold numbers"),
])
def test_check_targets_rejects_bad_labels(loss, y, out_shape, match):
    with pytest.raises(ValueError, match=match):
        loss.check_targets(y, out_shape)


@pytest.mark.parametrize("call,match", [
    (lambda: losses.get("binary_cross_entropy"), r"loss='binary_cross_entropy'.*'mse'"),
    (lambda: losses.get("ce"), r"target_shape"),
    (lambda: losses.BinaryCrossentropy(reduction="avg"), r"reduction='avg'"),
    (lambda: losses.SparseCategoricalCrossentropy()(np.array([3]), np.full((1, 3), 1 / 3)),
     r"label 3.*\[0, 3\)"),
    (lambda: losses.BinaryCrossentropy()(np.zeros((2, 2)), np.full((2, 1), 0.5)),
     r"y_true.shape=\(2, 2\), y_pred.shape=\(2, 1\)"),
    (lambda: losses.MeanSquaredError().value_and_grad(np.zeros((2, 3)), np.zeros((2, 3)),
                                                      logits=np.zeros((2, 3))), r"activation"),
])
def test_bad_arguments_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_plain_function_loss_gives_value_and_recorded_gradient():
    # np.abs and np.mean on the recorded prediction run as rnncore.ops: the gradient is
    # mean absolute error's
    def my_loss(y_true, y_pred):
        return np.mean(np.abs(y_true - y_pred), axis=-1)
    loss = losses._for_compile(my_loss)
    assert loss.name == "my_loss"
    assert loss(np.zeros((2, 1)), np.ones((2, 1))) == 1.0
    value, grad = loss.value_and_grad(np.zeros((2, 1)), np.array([[1.0], [-2.0]]))
    assert value == 1.5
    np.testing.assert_array_equal(grad, [[0.5], [-0.5]])


def test_a_loss_function_that_returns_no_array_says_so():
    loss = losses._for_compile(lambda y_true, y_pred: "high")
    with pytest.raises(TypeError, match="must return an array of per-sample losses"):
        loss.value_and_grad(np.zeros((2, 1)), np.ones((2, 1)))


@pytest.mark.parametrize("labels", ["float", "column", "int", "bool"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_sigmoid_output_loss_matches_numpy_path_and_keras(keras, tf, dtype, labels,
                                                                     rng):
    # The trainer's usual case, (batch, 1) logits, goes through one compiled call; it must
    # give what the NumPy path gives (the same operations) and what Keras gives.
    logits = (rng.normal(size=(64, 1)) * 4).astype(dtype)
    logits[:4, 0] = [40.0, -40.0, 0.0, -0.0]
    y = rng.random(64) > 0.5
    y = {"float": y.astype(dtype), "column": y.astype(dtype)[:, None], "int": y.astype(np.int64),
         "bool": y}[labels]
    probs = (1 / (1 + np.exp(-logits.astype(np.float64)))).astype(dtype)
    loss = losses.BinaryCrossentropy()
    value, grad = loss.value_and_grad(y, probs, logits=logits)
    general = losses.Loss.value_and_grad(loss, y, probs, logits=logits)
    assert isinstance(value, float) and grad.shape == (64, 1) and grad.dtype == dtype
    np.testing.assert_allclose(value, general[0], rtol=1e-6 if dtype == np.float32 else 1e-14)
    np.testing.assert_allclose(grad, general[1], rtol=1e-6 if dtype == np.float32 else 1e-14)
    kloss = keras.losses.BinaryCrossentropy(dtype=np.dtype(dtype).name)
    kval, kgrad, _ = _keras_value_and_grad(keras, tf, kloss, y.astype(dtype), logits, "sigmoid")
    _assert_close(value, kval, dtype)
    _assert_close(grad, kgrad, dtype, grad=True)


@pytest.mark.parametrize("name", ["MeanSquaredError", "MeanAbsoluteError", "Huber"])
@pytest.mark.parametrize("pred_shape, y_shape", [((N, 1), (N, 3)), ((N, 4, 1), (N, 4, 3)),
                                                  ((N, 3), (N, 1))])
def test_targets_that_broadcast_against_the_output_match_keras(keras, tf, rng, name,
                                                               pred_shape, y_shape):
    # Keras averages the broadcast differences; each output's gradient sums its copies
    y_pred = rng.normal(size=pred_shape).astype(np.float64)
    y_true = rng.normal(size=y_shape).astype(np.float64)
    value, grad = getattr(losses, name)().value_and_grad(y_true, y_pred)
    p = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        expected = getattr(keras.losses, name)(dtype="float64")(y_true, p)
    np.testing.assert_allclose(value, expected.numpy(), rtol=1e-12)
    np.testing.assert_allclose(grad, tape.gradient(expected, p).numpy(), rtol=1e-10, atol=1e-15)
