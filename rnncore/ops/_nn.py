"""Keras's cross-entropies in ``keras.ops`` (TensorFlow backend's formulas), written with the
recorded ops so that their gradients come from the ops'."""
import numpy as np

from . import _core as o
from ._tape import value_of

EPSILON = 1e-7  # Keras's backend.epsilon()


def _same_shape(name, target, output):
    ts, os_ = np.shape(value_of(target)), np.shape(value_of(output))
    if ts != os_:
        raise ValueError(f"{name}: target and output must have the same shape; received "
                         f"target.shape={ts}, output.shape={os_}")


def binary_crossentropy(target, output, from_logits=False):
    """Element-wise binary cross-entropy; ``output`` is clipped to ``[eps, 1 - eps]``."""
    _same_shape("binary_crossentropy", target, output)
    if from_logits:
        # TensorFlow's sigmoid_cross_entropy_with_logits: max(x, 0) - x*z + log(1 + exp(-|x|))
        return o.relu(output) - output * target + o.log1p(o.exp(-o.abs(output)))
    output = o.clip(output, EPSILON, 1.0 - EPSILON)
    return -(target * o.log(output) + (1 - target) * o.log(1 - output))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    _same_shape("categorical_crossentropy", target, output)
    if from_logits:
        return -o.sum(target * o.log_softmax(output, axis=axis), axis=axis)
    output = output / o.sum(output, axis=axis, keepdims=True)
    output = o.clip(output, EPSILON, 1.0 - EPSILON)
    return -o.sum(target * o.log(output), axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    ids = np.asarray(value_of(target)).astype(np.int64)
    if ids.ndim == np.ndim(value_of(output)) and ids.shape[-1] == 1:
        ids = ids[..., 0]
    if ids.shape != np.shape(value_of(output))[:-1]:
        raise ValueError("sparse_categorical_crossentropy: target must have the shape of output "
                         f"up to its last dimension; received target.shape={ids.shape}, "
                         f"output.shape={np.shape(value_of(output))}")
    if not from_logits:
        output = o.log(o.clip(output, EPSILON, 1 - EPSILON))
    picked = o.one_hot(ids, np.shape(value_of(output))[-1], dtype=np.asarray(
        value_of(output)).dtype)
    return -o.sum(picked * o.log_softmax(output, axis=-1), axis=-1)
