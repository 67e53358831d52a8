"""Weight regularizers, as Keras's: penalties added to the loss, and their gradients.

A layer built with ``kernel_regularizer=L2(0.01)`` (or ``recurrent_regularizer``,
``bias_regularizer``, ``embeddings_regularizer``) gives its weight that penalty. As in Keras's
``Trainer.compute_loss``, the training and evaluation loss is the compiled loss plus every
penalty of ``model.losses`` (in ``model.trainable_weights`` order), and each penalized weight's
gradient gains the penalty's gradient (an Embedding's sparse gradient then becomes dense, as
TensorFlow adds a dense gradient to IndexedSlices).

The arithmetic follows Keras's ops: ``L2``: ``l2 * sum(x**2)``, gradient ``l2 * (2 * x)``;
``L1``: ``l1 * sum(|x|)``, gradient ``l1 * sign(x)``; ``L1L2``: ``0 + l1 * sum(|x|) + l2 *
sum(x**2)``, the two gradients added. The factors are cast to the weight's dtype through
float32, as Keras's ``ops.cast`` of a Python float does. ``OrthogonalRegularizer`` penalises the
cosine similarities between a matrix's rows (or columns).
"""
import math

import numpy as np

from . import _configurable as _c

__all__ = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer", "l1", "l2", "l1_l2",
           "orthogonal_regularizer", "get", "serialize", "deserialize"]


def _factor(value, name):
    if (not isinstance(value, (float, int)) or isinstance(value, bool) or math.isinf(value)
            or math.isnan(value) or value < 0):
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float; "
                         f"received {name}={value!r}")
    return float(value)


def _cast(factor, dt):
    return dt(np.float32(factor))


class Regularizer(_c.Configurable):
    """Base class: ``regularizer(x)`` is the penalty of weight ``x``, ``gradient(x)`` its
    derivative (a subclass defines both, as rnncore computes gradients itself)."""

    def __call__(self, x):
        return np.zeros((), np.asarray(x).dtype)

    def gradient(self, x):
        return np.zeros_like(x)


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)`` (both factors 0 by default, as Keras)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor(0.0 if l1 is None else l1, "l1")
        self.l2 = _factor(0.0 if l2 is None else l2, "l2")

    def __call__(self, x):
        x = np.asarray(x)
        dt = x.dtype.type
        total = dt(0)
        if self.l1 != 0.0:
            total = dt(total + _cast(self.l1, dt) * np.sum(np.abs(x), dtype=x.dtype))
        if self.l2 != 0.0:
            total = dt(total + _cast(self.l2, dt) * np.sum(np.square(x), dtype=x.dtype))
        return total

    def gradient(self, x):
        x = np.asarray(x)
        dt = x.dtype.type
        grad = np.zeros_like(x)
        if self.l1 != 0.0:
            grad += _cast(self.l1, dt) * np.sign(x)
        if self.l2 != 0.0:
            grad += _cast(self.l2, dt) * (dt(2) * x)
        return grad

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """``l1 * sum(|x|)``, l1 = 0.01 by default."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """``l2 * sum(x**2)``, l2 = 0.01 by default."""

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (or columns) of a 2D weight towards orthogonality:
    ``factor * 0.5 * sum_{i != j} |n_i . n_j| / (size (size - 1) / 2)``, ``n_i`` the rows
    L2-normalised (scaled by ``min(1 / ||row||, 1e7)``, as Keras's ``normalize``), ``size``
    their number: ``factor`` times the mean absolute cosine similarity of the pairs.

    Parameters
    ----------
    factor : float >= 0, default 0.01. Kept in float32, as Keras's tensor.
    mode : {'rows', 'columns'}, default 'rows'. For a Dense kernel ``(input_dim, units)``,
        'rows' makes the input features' weight vectors orthogonal, 'columns' the units'.

    Examples
    --------
    >>> layer = Dense(4, kernel_regularizer=OrthogonalRegularizer(factor=0.01))  # doctest: +SKIP
    """

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = np.float32(_factor(factor, "factor"))
        if mode not in ("rows", "columns"):
            raise ValueError('Invalid value for argument `mode`. Expected one of {"rows", '
                             f'"columns"}}. Received: mode={mode}')
        self.mode = mode

    def _rows(self, x):
        x = np.asarray(x)
        if x.ndim != 2:
            raise ValueError("Inputs to OrthogonalRegularizer must have rank 2. Received: "
                             f"inputs.shape={x.shape}")
        return x if self.mode == "rows" else x.T

    def _parts(self, rows):
        dt = rows.dtype.type
        with np.errstate(divide="ignore"):
            inv = np.minimum(dt(1) / np.sqrt(np.sum(np.square(rows), axis=1, keepdims=True)),
                             dt(1.0 / 1e-7))
        normalized = rows * inv
        off_diagonal = dt(1) - np.eye(rows.shape[0], dtype=rows.dtype)
        product = (normalized @ normalized.T) * off_diagonal
        size = rows.shape[0]
        # Keras: (float32 factor * 0.5) * sum / (a Python float), in the weight's dtype
        scale = dt(self.factor * np.float32(0.5))
        return inv, normalized, product, scale, dt(size * (size - 1.0) / 2.0)

    def __call__(self, x):
        _, _, product, scale, pairs = self._parts(self._rows(x))
        return scale * np.sum(np.abs(product), dtype=product.dtype) / pairs

    def gradient(self, x):
        rows = self._rows(x)
        inv, normalized, product, scale, pairs = self._parts(rows)
        # d/d(product): the scale times sign(product) off the diagonal; the product is
        # symmetric, so d/d(normalized) = 2 G normalized
        g = np.sign(product) * (scale / pairs)
        d_normalized = (g + g.T) @ normalized
        # normalized = rows * inv, inv = rsqrt(sum(rows**2)) where below the 1e7 cap
        unclipped = inv < rows.dtype.type(1.0 / 1e-7)
        dot = np.sum(d_normalized * rows, axis=1, keepdims=True)
        grad = d_normalized * inv - np.where(unclipped, inv ** 3 * dot, 0) * rows
        return grad if self.mode == "rows" else grad.T

    def get_config(self):
        return {"factor": float(self.factor), "mode": self.mode}


l1, l2, l1_l2 = L1, L2, L1L2  # Keras's lower-case aliases of the classes
orthogonal_regularizer = OrthogonalRegularizer

_CLASSES = {cls.__name__: cls for cls in (Regularizer, L1, L2, L1L2, OrthogonalRegularizer)}
# Keras's string identifiers: the class names and their snake case ('l1l2', not 'l1_l2')
_NAMES = {**_CLASSES, "regularizer": Regularizer, "l1": L1, "l2": L2, "l1l2": L1L2,
          "orthogonal_regularizer": OrthogonalRegularizer}


def serialize(regularizer):
    return _c.serialize(regularizer)


def deserialize(config):
    return _c.deserialize(config, _CLASSES, "regularizer")


def get(identifier, argument="regularizer"):
    """A Regularizer from None, a name ('l1', 'l2', 'L1L2', ...), a config dict, a class or an
    instance."""
    obj = _c.resolve(identifier, Regularizer, _CLASSES, _NAMES, "regularizer", argument)
    if obj is not _c.NOT_RESOLVED:
        return obj
    raise ValueError(f"{argument}: expected None, a name, a config dict or a "
                     f"rnncore.regularizers.Regularizer (rnncore needs its gradient); received "
                     f"{identifier!r}")
