"""One layer called eagerly in Keras (under tf.GradientTape) and in rnncore (forward, then
backward), and a float64 finite-difference check of rnncore's backward.

The loss is ``Σ outputs · dy`` for a fixed random ``dy``, so its gradient w.r.t. the outputs
is ``dy``. Inputs are one array or a list of arrays; gradients come back as lists."""
import numpy as np

from _tolerance import (FD_EPS, FD_LAYER_TOL, KERAS_GRAD_FLOOR, KERAS_GRAD_RTOL,
                        KERAS_OUTPUT_ATOL)


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def keras_grads(tf, layer, xs, dy, training=False, mask=None, **call):
    """(outputs, input gradients, trainable-weight gradients) of a Keras layer; outputs is
    the first output when the layer returns several."""
    multi = isinstance(xs, (list, tuple))
    xt = [tf.constant(x) for x in _as_list(xs)]
    if mask is not None:
        call["mask"] = ([None if m is None else tf.constant(m) for m in mask]
                        if isinstance(mask, (list, tuple)) else tf.constant(mask))
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt if multi else xt[0], training=training, **call)
        y0 = y[0] if isinstance(y, (list, tuple)) else y
        loss = tf.reduce_sum(y0 * tf.constant(dy))
    grads = tape.gradient(loss, xt + list(layer.trainable_weights))
    grads = [np.zeros(v.shape, v.dtype.name) if g is None else np.asarray(g)
             for g, v in zip(grads, xt + list(layer.trainable_weights))]
    return np.asarray(y0), grads[:len(xt)], grads[len(xt):]


def rnncore_grads(layer, xs, dy, training=False, mask=None, **call):
    """The same for an rnncore layer: its eager call, then ``backward(dy)``."""
    if mask is not None:
        call["mask"] = mask
    y = layer(xs, training=training, **call)
    d = layer.backward([dy, None] if isinstance(y, list) else dy)
    y0 = y[0] if isinstance(y, list) else y
    return y0, _as_list(d), [v.grad for v in layer.trainable_weights]


def assert_close_to_keras(tf, k_layer, r_layer, xs, training=False, mask=None, weights=None,
                          seed=0, out_tol=KERAS_OUTPUT_ATOL, grad_tol=KERAS_GRAD_RTOL, **call):
    """Builds both layers on `xs` (an inference call), gives both Keras's weights (or
    `weights`), then compares one call: outputs ≤ `out_tol` absolute, every gradient ≤
    `grad_tol` relative to the largest entry of Keras's. Returns rnncore's outputs."""
    k_call = dict(call)
    if mask is not None:
        k_call["mask"] = mask
    k_out = keras_grads(tf, k_layer, xs, 0.0, training=False, **k_call)[0]
    if weights is not None:
        k_layer.set_weights(weights)
    r_layer(xs, training=False, **k_call)
    r_layer.set_weights(k_layer.get_weights())
    assert [w.name for w in r_layer.weights] == [w.name for w in k_layer.weights]
    dy = np.random.default_rng(seed).standard_normal(k_out.shape).astype(np.float32)
    k_y, k_dx, k_dw = keras_grads(tf, k_layer, xs, dy, training=training, **k_call)
    r_y, r_dx, r_dw = rnncore_grads(r_layer, xs, dy, training=training, **k_call)
    assert r_y.shape == k_y.shape
    assert np.max(np.abs(r_y - k_y), initial=0) <= out_tol
    assert len(r_dx) == len(k_dx) and len(r_dw) == len(k_dw)
    for r, k in zip(r_dx + r_dw, k_dx + k_dw):
        scale = max(np.max(np.abs(k), initial=0), KERAS_GRAD_FLOOR)
        assert np.max(np.abs(np.asarray(r) - k), initial=0) / scale <= grad_tol
    return r_y


def finite_difference_check(layer, xs, training=False, mask=None, seed=0, eps=FD_EPS,
                            tol=FD_LAYER_TOL, **call):
    """Central differences of ``Σ outputs · dy`` w.r.t. every input entry and every trainable
    weight entry of a float64 rnncore layer, against its backward."""
    rng = np.random.default_rng(seed)
    xs_list = [np.array(x, np.float64) for x in _as_list(xs)]
    multi = isinstance(xs, (list, tuple))
    if mask is not None:
        call["mask"] = mask

    def loss(dy):
        out = layer(xs_list if multi else xs_list[0], training=training, **call)
        out = out[0] if isinstance(out, (list, tuple)) else out
        return float(np.sum(out * dy)), out

    _, out = loss(0.0)
    dy = rng.standard_normal(out.shape)
    _, d_in, d_w = rnncore_grads(layer, xs_list if multi else xs_list[0], dy,
                                 training=training, **call)
    targets = [(x, g) for x, g in zip(xs_list, d_in)] + \
        [(v.value, g) for v, g in zip(layer.trainable_weights, d_w)]
    for arr, grad in targets:
        num = np.zeros(arr.shape)
        for i in np.ndindex(arr.shape):
            old = arr[i]
            arr[i] = old + eps
            up = loss(dy)[0]
            arr[i] = old - eps
            down = loss(dy)[0]
            arr[i] = old
            num[i] = (up - down) / (2 * eps)
        scale = max(np.max(np.abs(num), initial=0), 1.0)
        assert np.max(np.abs(np.asarray(grad) - num), initial=0) / scale <= tol
