"""One layer against its Keras twin (forward, input and weight gradients) and against finite
differences: the checks every test_layers_* file of issue 12's layers runs."""
import copy
import pickle

import numpy as np
import pytest

import rnncore
from _tolerance import (FD_EPS, FD_LAYER_TOL, KERAS_GRAD_RTOL, KERAS_OUTPUT_ATOL,
                        rel_err)


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def upstream(shape, dtype="float32"):
    """A fixed, non-uniform gradient arriving at a layer's output."""
    n = int(np.prod(shape))
    return np.cos(np.arange(n) * 0.7).reshape(shape).astype(dtype)


def keras_pass(tf, layer, x, mask=None, mask_kwarg=True, training=False):
    """Keras's output, input gradients, trainable-weight gradients and output mask for the
    loss sum(y · upstream). A list `mask` is attached to the input tensors (how Keras hands
    masks to merge layers); a single one is passed as ``mask=`` (or attached, without
    `mask_kwarg`)."""
    from keras.src import backend

    xs = [tf.constant(a) for a in _as_list(x)]
    if isinstance(mask, list):
        for t, m in zip(xs, mask):
            if m is not None:
                backend.set_keras_mask(t, tf.constant(m))
        kwargs = {}
    elif mask is not None and not mask_kwarg:
        backend.set_keras_mask(xs[0], tf.constant(mask))
        kwargs = {}
    else:
        kwargs = {} if mask is None else {"mask": tf.constant(mask)}
    if training:
        kwargs["training"] = True
    with tf.GradientTape(persistent=True) as tape:
        for t in xs:
            tape.watch(t)
        y = layer(xs if isinstance(x, (list, tuple)) else xs[0], **kwargs)
        dy = upstream(y.shape)
        loss = tf.reduce_sum(y * dy)
    dxs = tape.gradient(loss, xs)
    dws = tape.gradient(loss, [w.value for w in layer.trainable_weights])
    out_mask = backend.get_keras_mask(y)
    return (y.numpy(), [None if d is None else d.numpy() for d in dxs],
            [d.numpy() for d in dws], None if out_mask is None else out_mask.numpy())


def rnncore_pass(layer, x, mask=None, training=False):
    """rnncore's output, input gradients, weight gradients and output mask, as keras_pass."""
    y = layer.forward(x if not isinstance(x, tuple) else list(x), training=training, mask=mask)
    dx = layer.backward(upstream(y.shape, y.dtype))
    primary = x if not isinstance(x, (list, tuple)) else list(x)
    return y, _as_list(dx), [v.grad for v in layer.trainable_weights], \
        layer.compute_mask(primary, mask)


def build_both(k_layer, r_layer, x):
    shapes = [a.shape for a in _as_list(x)]
    shape = shapes if isinstance(x, (list, tuple)) else shapes[0]
    k_layer.build(shape)
    r_layer._maybe_build(shape)
    r_layer.set_weights(k_layer.get_weights())


def assert_matches_keras(tf, k_layer, r_layer, x, mask=None, mask_kwarg=True):
    """Outputs and gradients within _tolerance's Keras bounds, and the same output mask."""
    build_both(k_layer, r_layer, x)
    ky, kdx, kdw, kmask = keras_pass(tf, k_layer, x, mask, mask_kwarg)
    ry, rdx, rdw, rmask = rnncore_pass(r_layer, x, mask)
    assert ry.shape == ky.shape
    np.testing.assert_allclose(ry, ky, atol=KERAS_OUTPUT_ATOL, rtol=0)
    assert len(rdx) == len(kdx)
    for r, k in zip(rdx, kdx):
        assert r.shape == k.shape
        assert rel_err(r, k) <= KERAS_GRAD_RTOL
    assert len(rdw) == len(kdw)
    for r, k in zip(rdw, kdw):
        assert rel_err(r, k) <= KERAS_GRAD_RTOL
    if kmask is None:
        assert rmask is None
    else:
        np.testing.assert_array_equal(rmask, kmask)
    return ry


def central_difference(loss, array, index, eps=FD_EPS):
    """d loss / d array[index] by central differences; `loss()` reads `array`, which is
    perturbed in place and restored."""
    old = array[index]
    array[index] = old + eps
    up = loss()
    array[index] = old - eps
    down = loss()
    array[index] = old
    return (up - down) / (2 * eps)


def assert_gradients_finite_difference(layer, x, mask=None, eps=FD_EPS, tol=FD_LAYER_TOL):
    """Central differences of sum(y · upstream) in float64 against backward, for every input
    entry and every trainable weight entry."""
    x = [np.array(a, np.float64) for a in _as_list(x)] if isinstance(x, (list, tuple)) \
        else np.array(x, np.float64)
    layer._maybe_build([a.shape for a in x] if isinstance(x, list) else x.shape)

    def loss():
        y = layer.forward(x, mask=mask)
        return float(np.sum(y * upstream(y.shape, np.float64)))

    y = layer.forward(x, mask=mask)
    dxs = _as_list(layer.backward(upstream(y.shape, np.float64)))
    dws = [v.grad.copy() for v in layer.trainable_weights]
    targets = list(zip(_as_list(x), dxs)) + [(v.value, g) for v, g in
                                             zip(layer.trainable_weights, dws)]
    for array, grad in targets:
        numeric = np.zeros_like(array)
        for i in np.ndindex(array.shape):
            numeric[i] = central_difference(loss, array, i, eps)
        np.testing.assert_allclose(grad, numeric, atol=tol, rtol=tol)


def assert_bad_argument(make_layer, error, text):
    """``make_layer(rnncore.layers)`` raises `error`, its message holding `text` (a test's BAD
    rows name the argument and the value received)."""
    with pytest.raises(error) as info:
        make_layer(rnncore.layers)
    assert text in str(info.value)


def assert_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(copy.deepcopy(config))
    assert clone.get_config() == config
    return clone


def assert_pickles(layer, x, training=True):
    """A layer pickles and deep-copies after forward and backward, without the arrays of that
    forward, and the copy computes the same."""
    y = layer(x, training=training)
    layer.backward(np.ones_like(y))
    size = len(pickle.dumps(layer))
    big = [np.repeat(a, 50, axis=0) for a in _as_list(x)]
    y = layer(big if isinstance(x, (list, tuple)) else big[0], training=training)
    layer.backward(np.ones_like(y))
    assert len(pickle.dumps(layer)) < size + 2_000
    for clone in (pickle.loads(pickle.dumps(layer)), copy.deepcopy(layer)):
        assert clone.name == layer.name
        assert [w.path for w in clone.weights] == [w.path for w in layer.weights]
        np.testing.assert_array_equal(clone(x), layer(x))


def save_load_predict(model, x, tmp_path):
    """model.save then rnncore.models.load_model: the loaded model predicts the same."""
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = rnncore.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    # as in Keras, a loaded Sequential's weights are built outside its name scope: their
    # paths lack the model's name that those built inside it have
    assert [w.path for w in loaded.weights] == [
        w.path.removeprefix(model.name + "/") for w in model.weights]
    return loaded


def assert_loads_across(keras, r_model, k_model, x, tmp_path, **tolerance):
    """rnncore's model saved loads in Keras, and Keras's saved loads in rnncore, each
    predicting `x` as the model that was saved (`tolerance`: assert_allclose's rtol/atol).
    Returns rnncore's load of Keras's model."""
    r_model.save(tmp_path / "r.keras")
    theirs = keras.models.load_model(tmp_path / "r.keras")
    np.testing.assert_allclose(theirs.predict(x, verbose=0), r_model.predict(x, verbose=0),
                               **tolerance)
    k_model.save(tmp_path / "k.keras")
    ours = rnncore.models.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(ours.predict(x, verbose=0), k_model.predict(x, verbose=0),
                               **tolerance)
    return ours
