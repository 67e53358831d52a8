"""Normalization: Keras's preprocessing layer that standardises features with a mean and a
variance given or learnt by ``adapt``."""
import math

import numpy as np

from ._tf_data import TFDataLayer
from .._config import epsilon as _eps


def _batch_of(item):
    # a dataset of (x, y) or (x, y, sample_weight) batches is adapted on its x
    return item[0] if isinstance(item, tuple) else item


class Normalization(TFDataLayer):
    """Standardises its inputs feature by feature: ``(x - mean) / max(sqrt(variance), 1e-7)``,
    or with ``invert=True`` the reverse, ``mean + x * max(sqrt(variance), 1e-7)``.

    Parameters
    ----------
    axis : int, tuple of ints or None
        The axes that keep their own mean and variance (-1: one per feature of the last axis);
        the statistics are taken over all the others. ``None``: one mean and variance for
        everything.
    mean, variance : scalar or array-like, optional
        The statistics, given together; without them, call :meth:`adapt` on data before using
        the layer. Given ones are fixed: the layer then has no weights.
    invert : bool
        Undo a normalisation instead (e.g. to bring predictions back to the data's scale).

    Adapted statistics live in non-trainable weights ``mean``, ``variance`` (shape: the kept
    axes) and ``count`` (int64, unused, as in Keras), so ``get_weights``/``set_weights`` and
    ``.keras`` files carry them. Masks pass through. The gradient with respect to the inputs
    is the output's scaled by the same factor.

    Example
    -------
    >>> norm = Normalization()
    >>> norm.adapt(np.array([[1.0, 10.0], [3.0, 30.0]], "float32"))
    >>> norm(np.array([[2.0, 20.0]], "float32"))
    array([[0., 0.]], dtype=float32)
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
            axis = (int(axis),)
        else:
            try:
                axis = tuple(int(a) for a in axis)
            except (TypeError, ValueError):
                raise TypeError(f"Normalization: `axis` must be an int, a tuple of ints or "
                                f"None. Received: axis={axis!r}") from None
        self.axis = axis
        if (mean is None) != (variance is None):
            raise ValueError("Normalization: when setting values directly, both `mean` and "
                             f"`variance` must be set. Received: mean={mean} and "
                             f"variance={variance}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError("Normalization: `mean` and `variance` must have the same "
                                 f"shape. Received: mean shape {np.shape(mean)} and variance "
                                 f"shape {np.shape(variance)}")
            if np.ndim(mean) > len(self.axis):
                raise ValueError(f"Normalization: the rank of `mean` must be at most the number "
                                 f"of axes ({len(self.axis)}). Received: mean shape "
                                 f"{np.shape(mean)} for axis={self.axis}")
        self.input_mean, self.input_variance = mean, variance
        self.invert = bool(invert)
        self.supports_masking = True
        self._build_input_shape = None
        self.adapt_mean = self.adapt_variance = self.count = None

    # ---- building --------------------------------------------------------------------------
    def build(self, input_shape):
        shape = tuple(input_shape)
        ndim = len(shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(f"Normalization {self.name!r}: all `axis` values must be in the "
                             f"range [-ndim, ndim). Received inputs with ndim={ndim}, while "
                             f"axis={self.axis}")
        self._build_input_shape = shape
        self._keep_axis = tuple(sorted(a % ndim for a in self.axis))
        for a in self._keep_axis:
            if shape[a] is None:
                raise ValueError(f"Normalization {self.name!r}: all `axis` values to be kept "
                                 f"must have a known shape. Received axis={self.axis}, "
                                 f"inputs.shape={shape}, with unknown axis at index {a}")
        self._reduce_axis = tuple(a for a in range(ndim) if a not in self._keep_axis)
        self._broadcast_shape = tuple(shape[a] if a in self._keep_axis else 1
                                      for a in range(ndim))
        stats_shape = tuple(shape[a] for a in self._keep_axis)
        self._stats_shape = stats_shape
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(stats_shape, "zeros", "mean", trainable=False)
            self.adapt_variance = self.add_weight(stats_shape, "ones", "variance",
                                                  trainable=False)
            self.count = self.add_weight((), "zeros", "count", trainable=False, dtype="int64")
        else:
            self._given = tuple(self._place(np.asarray(v, self.dtype))
                                for v in (self.input_mean, self.input_variance))
        self.built = True

    def _place(self, stats):
        """Given statistics, their trailing axes matched to the kept axes, broadcast to the
        inputs' rank."""
        expanded = [1] * len(self._broadcast_shape)
        for i in range(1, stats.ndim + 1):
            expanded[self._keep_axis[-i]] = stats.shape[-i]
        return np.broadcast_to(stats.reshape(expanded), self._broadcast_shape)

    def _statistics(self):
        if self.input_mean is not None:
            return self._given
        return (self.adapt_mean.value.reshape(self._broadcast_shape),
                self.adapt_variance.value.reshape(self._broadcast_shape))

    # ---- adapting --------------------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None):
        """Learn ``mean`` and ``variance`` from ``data``: an array, or an iterable of batches
        (a list of arrays, a generator, a dataset of ``x`` or ``(x, y)`` batches), whose
        statistics are combined batch by batch as Keras combines them."""
        if isinstance(data, np.ndarray) or hasattr(data, "__array__"):
            batches, first = None, np.asarray(data)
        elif hasattr(data, "__iter__"):
            batches = iter(data)
            first = next(batches, None)
            if first is None:
                raise ValueError("Normalization.adapt() received an empty iterable (no "
                                 "batches); expected at least one batch")
            first = np.asarray(_batch_of(first))
        else:
            raise TypeError(f"Normalization.adapt(): unsupported data type "
                            f"{type(data).__name__}; give an array or an iterable of batches")
        if not self.built:
            self._maybe_build(first.shape)
        self._check_adapt_shape(first.shape)
        if self.input_mean is not None:
            raise ValueError(f"Normalization {self.name!r} was given `mean` and `variance`; "
                             "adapt() has nothing to learn")
        if batches is None:
            mean = np.mean(first, axis=self._reduce_axis)
            variance = np.var(first, axis=self._reduce_axis)
        else:
            mean = np.zeros(self._stats_shape, self.dtype)
            variance = np.zeros(self._stats_shape, self.dtype)
            count = 0
            for batch in _chain(first, batches):
                batch = np.asarray(_batch_of(batch), self.dtype)
                self._check_adapt_shape(batch.shape)
                b_mean = np.mean(batch, axis=self._reduce_axis)
                b_var = np.var(batch, axis=self._reduce_axis)
                n = math.prod(batch.shape[a] for a in self._reduce_axis)
                count += n
                w_new = float(n) / count
                w_old = 1.0 - w_new
                new_mean = mean * w_old + b_mean * w_new
                variance = (variance + (mean - new_mean) ** 2) * w_old + (
                    b_var + (b_mean - new_mean) ** 2) * w_new
                mean = new_mean
        self.adapt_mean.assign(np.asarray(mean, self.dtype).reshape(self._stats_shape))
        self.adapt_variance.assign(np.asarray(variance, self.dtype).reshape(self._stats_shape))

    def _check_adapt_shape(self, shape):
        if len(shape) != len(self._build_input_shape) or any(
                shape[a] != self._build_input_shape[a] for a in self._keep_axis):
            raise ValueError(f"Normalization {self.name!r}: the layer was built with "
                             f"input_shape={self._build_input_shape}, but adapt() is being "
                             f"called with data of an incompatible shape, data.shape="
                             f"{tuple(shape)}")

    # ---- forward and backward ---------------------------------------------------------------
    def compute_output_shape(self, input_shape):
        return input_shape

    def forward(self, inputs, training=False, mask=None):
        mean, variance = self._statistics()
        scale = np.maximum(np.sqrt(variance), np.asarray(_eps(), variance.dtype))
        self._scale = scale
        if self.invert:
            return (mean + inputs * scale).astype(inputs.dtype, copy=False)
        return ((inputs - mean) / scale).astype(inputs.dtype, copy=False)

    def backward(self, d_outputs):
        d = d_outputs * self._scale if self.invert else d_outputs / self._scale
        return d.astype(d_outputs.dtype, copy=False)

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis, "invert": self.invert,
                       "mean": np.array(self.input_mean).tolist(),
                       "variance": np.array(self.input_variance).tolist()})
        return config


def _chain(first, rest):
    yield first
    yield from rest
