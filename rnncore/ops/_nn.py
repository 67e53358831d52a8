"""Keras's cross-entropies, ``moments`` and ``dot_product_attention`` in ``keras.ops``
(TensorFlow backend's formulas), written with the recorded ops so that their gradients come
from the ops'."""
import numpy as np

from . import _core as o
from ._tape import value_of
from .._config import epsilon as _eps


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
    output = o.clip(output, _eps(), 1.0 - _eps())
    return -(target * o.log(output) + (1 - target) * o.log(1 - output))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    _same_shape("categorical_crossentropy", target, output)
    if from_logits:
        return -o.sum(target * o.log_softmax(output, axis=axis), axis=axis)
    output = output / o.sum(output, axis=axis, keepdims=True)
    output = o.clip(output, _eps(), 1.0 - _eps())
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
        output = o.log(o.clip(output, _eps(), 1 - _eps()))
    picked = o.one_hot(ids, np.shape(value_of(output))[-1], dtype=np.asarray(
        value_of(output)).dtype)
    return -o.sum(picked * o.log_softmax(output, axis=-1), axis=-1)


def moments(x, axes, keepdims=False, synchronized=False):
    """Mean and variance of ``x`` over ``axes`` (TensorFlow's ``nn.moments``: the variance is
    the mean squared distance from the mean, the mean held constant in its gradient)."""
    axes = tuple(axes) if isinstance(axes, (list, tuple)) else axes
    mean = o.mean(x, axis=axes, keepdims=True)
    variance = o.mean(o.square(o.subtract(x, o.stop_gradient(mean))), axis=axes, keepdims=True)
    if not keepdims:
        mean, variance = o.squeeze(mean, axes), o.squeeze(variance, axes)
    return mean, variance


# the logit given to masked pairs (TensorFlow backend's: 0.7 of float32's largest, negated)
_MASKED_LOGIT = -0.7 * 3.38953e38


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None,
                          is_causal=False, flash_attention=None, attn_logits_soft_cap=None):
    """Scaled dot-product attention over heads: ``softmax(q·k / sqrt(H) + bias) · v``.

    Parameters
    ----------
    query : ``(batch, T, num_heads, head_dim)``.
    key, value : ``(batch, S, num_kv_heads, head_dim)``; fewer key/value heads than query heads
        are repeated (grouped attention), as Keras does.
    bias : added to the logits ``(batch, num_heads, T, S)`` (broadcast).
    mask : boolean, broadcast to ``(batch, num_heads, T, S)``; False pairs get a large negative
        logit.
    scale : the logits' factor, ``1 / sqrt(head_dim)`` by default.
    is_causal : also mask the pairs where the key comes after the query.

    Returns ``(batch, T, num_heads, head_dim)``.
    """
    if flash_attention:
        raise ValueError("dot_product_attention: flash attention is not supported by rnncore; "
                         f"received flash_attention={flash_attention}")
    if attn_logits_soft_cap is not None:
        raise ValueError("dot_product_attention: `attn_logits_soft_cap` needs flash attention; "
                         f"received attn_logits_soft_cap={attn_logits_soft_cap}")
    shapes = [np.shape(value_of(v)) for v in (query, key, value)]
    if len(shapes[0]) != 4:
        raise ValueError(f"dot_product_attention: only 4D inputs are supported; received "
                         f"query.shape={shapes[0]}, key.shape={shapes[1]}, "
                         f"value.shape={shapes[2]}")
    heads, kv_heads = shapes[0][2], shapes[1][2]
    if heads > kv_heads > 1:
        key = o.repeat(key, heads // kv_heads, axis=2)
        value = o.repeat(value, heads // kv_heads, axis=2)
    if scale is None:
        scale = 1.0 / np.sqrt(np.float32(shapes[1][-1]))
    dtype = np.asarray(value_of(query)).dtype
    logits = o.multiply(o.einsum("BTNH,BSNH->BNTS", query, key), np.asarray(scale, dtype))
    if bias is not None:
        logits = o.add(logits, o.cast(bias, dtype))
    keep = None if mask is None else np.asarray(value_of(mask)).astype(bool)
    if is_causal:
        T, S = shapes[0][1], shapes[1][1]
        causal = np.tril(np.ones((T, S), bool))[None, None]
        keep = causal if keep is None else keep & causal
    if keep is not None:
        keep = np.broadcast_to(keep, np.shape(value_of(logits)))
        logits = o.where(keep, logits, np.asarray(_MASKED_LOGIT, dtype))
    probs = o.softmax(logits, axis=-1)
    return o.einsum("BNTS,BSNH->BTNH", probs, value)
