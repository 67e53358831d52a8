"""Keras's ``keras.random`` functions over NumPy's generator.

The numbers differ from TensorFlow's streams (no two backends share them), but each function
has Keras's signature, default dtype (``floatx()``, ``int32`` for integers), ranges and
seeding: an int seed gives the same numbers at every call, a :class:`SeedGenerator` a new
draw each time, None rnncore's shared generator. The results are NumPy arrays, which a
recorded training step treats as constants (``dropout`` records its product with the input).
"""
import numpy as np

from .._config import floatx
from ._seed_generator import draw_generator


def _shape(shape, name="shape"):
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        shape = tuple(int(n) for n in shape)
    except (TypeError, ValueError):
        raise ValueError(f"Argument `{name}` must be a tuple of ints. Received: "
                         f"{name}={shape!r}") from None
    if any(n < 0 for n in shape):
        raise ValueError(f"Argument `{name}` must not hold negative sizes. Received: "
                         f"{name}={shape}")
    return shape


def _float_dtype(dtype, fn):
    dt = np.dtype(dtype or floatx())
    if dt.kind != "f":
        raise ValueError(f"`keras.random.{fn}` requires a floating point `dtype`. "
                         f"Received: dtype={dtype}")
    return dt


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of a normal distribution, shape ``shape``, dtype ``dtype`` (default floatx)."""
    dt = _float_dtype(dtype, "normal")
    return draw_generator(seed).normal(mean, stddev, size=_shape(shape)).astype(dt)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples of the uniform distribution on ``[minval, maxval)``."""
    dt = _float_dtype(dtype, "uniform")
    u = draw_generator(seed).random(size=_shape(shape))
    out = (minval + (maxval - minval) * u).astype(dt)
    # rounding to a narrower dtype may reach maxval, which the range excludes
    return np.where(out >= dt.type(maxval), np.nextafter(dt.type(maxval), dt.type(minval)),
                    out) if maxval > minval else out


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Random integers in ``[minval, maxval)``."""
    dt = np.dtype(dtype)
    if dt.kind not in "iu":
        raise ValueError("`keras.random.randint` requires an integer `dtype`. "
                         f"Received: dtype={dtype}")
    if not maxval > minval:
        raise ValueError(f"randint needs minval < maxval. Received: minval={minval}, "
                         f"maxval={maxval}")
    return draw_generator(seed).integers(minval, maxval, size=_shape(shape)).astype(dt)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal samples, redrawn where farther than two standard deviations from the mean."""
    dt = _float_dtype(dtype, "truncated_normal")
    rng, shape = draw_generator(seed), _shape(shape)
    z = rng.normal(size=shape)
    bad = np.abs(z) > 2
    while bad.any():
        z[bad] = rng.normal(size=int(bad.sum()))
        bad = np.abs(z) > 2
    return (mean + stddev * z).astype(dt)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zero each entry with probability ``rate`` and scale the others by ``1 / (1 - rate)``.

    ``noise_shape``: the shape of the kept/dropped mask, broadcast against ``inputs``
    (None entries take the input's size). Inside a recorded training step the product is
    recorded, so the gradient flows through the kept entries."""
    from .. import ops

    if not 0 <= rate <= 1:
        raise ValueError(f"Argument `rate` must be in [0, 1]. Received: rate={rate}")
    x_shape = np.shape(inputs)
    if rate == 1:
        return ops.multiply(inputs, np.zeros((), np.asarray(inputs).dtype))
    if rate == 0:
        return inputs
    if noise_shape is None:
        mask_shape = x_shape
    else:
        if len(noise_shape) != len(x_shape):
            raise ValueError(f"Argument `noise_shape` must have the rank of the inputs "
                             f"({len(x_shape)}). Received: noise_shape={noise_shape}")
        mask_shape = tuple(x if n is None else int(n) for n, x in zip(noise_shape, x_shape))
    dt = np.asarray(inputs).dtype
    dt = dt if dt.kind == "f" else np.dtype(floatx())
    keep = draw_generator(seed).random(size=mask_shape) >= rate
    scale = keep.astype(dt) * dt.type(1.0 / (1.0 - rate))
    return ops.multiply(inputs, scale)


def shuffle(x, axis=0, seed=None):
    """``x`` with its entries along ``axis`` in a random order."""
    from .. import ops

    n = np.shape(x)[axis]
    return ops.take(x, draw_generator(seed).permutation(n), axis=axis)


def categorical(logits, num_samples, dtype="int32", seed=None):
    """``num_samples`` class indices per row of the ``(batch, classes)`` unnormalized
    log-probabilities ``logits``; returns ``(batch, num_samples)``."""
    logits = np.asarray(logits, np.float64)
    if logits.ndim != 2:
        raise ValueError("`logits` should be a 2-D tensor with shape [batch_size, num_classes]. "
                         f"Received: logits.shape={logits.shape}")
    rng = draw_generator(seed)
    z = logits - logits.max(axis=-1, keepdims=True)
    p = np.exp(z)
    cdf = np.cumsum(p / p.sum(axis=-1, keepdims=True), axis=-1)
    u = rng.random((logits.shape[0], int(num_samples)))
    idx = np.array([np.searchsorted(c, row, side="right") for c, row in zip(cdf, u)])
    return np.minimum(idx.reshape(logits.shape[0], int(num_samples)),
                      logits.shape[1] - 1).astype(dtype)


def gamma(shape, alpha, dtype=None, seed=None):
    """Samples of the gamma distribution with concentration ``alpha`` and scale 1."""
    dt = _float_dtype(dtype, "gamma")
    return draw_generator(seed).gamma(alpha, 1.0, size=_shape(shape)).astype(dt)


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Numbers of successes in ``counts`` trials of probability ``probabilities``
    (as floats of ``dtype``)."""
    dt = _float_dtype(dtype, "binomial")
    return draw_generator(seed).binomial(np.asarray(counts, np.int64), probabilities,
                                         size=_shape(shape)).astype(dt)


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Samples of the beta distribution with concentrations ``alpha`` and ``beta``."""
    dt = _float_dtype(dtype, "beta")
    return draw_generator(seed).beta(alpha, beta, size=_shape(shape)).astype(dt)
