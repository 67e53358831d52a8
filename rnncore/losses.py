"""Losses: Keras 3's loss values and reductions, plus the gradient the trainer needs.

Two Keras behaviours decide the numbers a user sees:

* Probabilities are clipped to ``[1e-7, 1 - 1e-7]`` before the logarithm (``backend.epsilon()``);
  where that clip is active the gradient is zero.
* When the model's last layer is a sigmoid/softmax, Keras's TensorFlow backend reads the
  pre-activation logits off the output tensor and computes the crossentropy from them, with no
  clipping. Pass those logits as ``logits=`` to get the same value and the gradient with respect
  to them. Keras loses the logits (and so uses the clipped probabilities) when its loss wrapper
  has to squeeze or expand ``y_pred`` to the rank of ``y_true``, and with ``ignore_class``; the
  gradient then goes back through the activation named by ``activation=``.

Unlike Keras, which computes every loss in float32 (``floatx``), a loss with ``dtype=None``
works in ``y_pred``'s float dtype, so float64 models get float64 losses.
"""
import functools
import re

import numpy as np

from ._config import epsilon as _eps, floatx
from ._eager_scalar import EagerScalar
from ._kernels import _losses as _compiled

__all__ = ["Loss", "BinaryCrossentropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "MeanSquaredError", "MeanAbsoluteError", "Huber",
           "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
           "mean_squared_error", "mean_absolute_error", "huber", "mse", "MSE", "mae", "MAE",
           "get", "serialize",
           "deserialize", "squeeze_or_expand_to_same_rank"]

_REDUCTIONS = ("sum_over_batch_size", "sum", None, "none", "mean", "mean_with_sample_weight")


def _match_rank(s1, s2, expand_rank_1=True):
    """Keras's squeeze_or_expand_to_same_rank on shapes (tuples; None allowed)."""
    s1, s2, r1, r2 = tuple(s1), tuple(s2), len(s1), len(s2)
    if r1 == r2 + 1 and s1[-1] == 1:
        if r2 == 1 and expand_rank_1:
            s2 = s2 + (1,)
        else:
            s1 = s1[:-1]
    if r2 == r1 + 1 and s2[-1] == 1:
        if r1 == 1 and expand_rank_1:
            s1 = s1 + (1,)
        else:
            s2 = s2[:-1]
    return s1, s2


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Drop or add a trailing axis of size 1 so ``x1`` and ``x2`` have the same rank."""
    s1, s2 = _match_rank(np.shape(x1), np.shape(x2), expand_rank_1)
    return np.reshape(x1, s1), np.reshape(x2, s2)


def _shapes_equal(a, b):
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


def _sum_to(g, shape):
    """Sum a broadcast gradient back to ``shape``."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def _through_activation(g, p, activation):
    # TensorFlow's SigmoidGrad and softmax gradient, in their order of operations.
    if activation == "sigmoid":
        return g * p * (p.dtype.type(1) - p)
    if activation == "softmax":
        return (g - np.sum(g * p, axis=-1, keepdims=True)) * p
    raise ValueError("The loss needs the output's activation to send the gradient to the "
                     "logits; pass activation='sigmoid' or 'softmax'. Received: "
                     f"activation={activation!r}")


class Loss:
    """Base loss. A user's loss overrides ``call(y_true, y_pred)`` with :mod:`rnncore.ops`, as
    in Keras (or ``__call__(y_true, y_pred, sample_weight=None)`` for the reduced value); the
    ops it runs are recorded for the gradient. rnncore's built-in losses implement
    ``_forward(y_true, x, from_logits)`` instead, returning the per-sample values, an optional
    mask and a function from d(values) to d(x).

    Example
    -------
    >>> class ScaledSquaredError(Loss):
    ...     def call(self, y_true, y_pred):
    ...         return 2.0 * ops.mean(ops.square(y_pred - y_true), axis=-1)

    Parameters
    ----------
    name : str
    reduction : {'sum_over_batch_size', 'sum', 'mean', 'mean_with_sample_weight', 'none', None}
        Keras's default ``'sum_over_batch_size'`` divides the weighted sum by the number of
        per-sample values (batch size, times timesteps for sequence outputs).
    dtype : str or None. None: ``y_pred``'s float dtype.
    """

    from_logits = False
    _keeps_logits = False  # crossentropies read Keras's cached logits

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"Invalid value for argument `reduction`. Expected one of "
                             f"{_REDUCTIONS}. Received: reduction={reduction!r}")
        self.name = name or re.sub(r"(?<!^)(?=[A-Z])", "_", type(self).__name__).lower()
        self.reduction = reduction
        self.dtype = dtype

    def _dtype_for(self, y_pred):
        if self.dtype is not None:
            return np.dtype(self.dtype)
        dt = np.asarray(y_pred).dtype
        return dt if dt in (np.float32, np.float64) else np.dtype(floatx())

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("__call__")
        if own is not None and not getattr(own, "_passes_trainer_arguments", False):
            cls.__call__ = _user_dunder_call(own)

    def call(self, y_true, y_pred):
        """Per-sample loss values, unreduced (Keras's ``Loss.call``).

        A subclass may override it, as Keras documents, with a function of ``y_true`` and
        ``y_pred`` written with :mod:`rnncore.ops`; its gradient comes from recording those
        ops. ``y_true`` and ``y_pred`` reach it in the loss's dtype, with their shapes as
        given (the built-in losses first match their ranks)."""
        from .ops._tape import Tensor, is_recording, make, value_of

        dtype = self._dtype_for(value_of(y_pred))
        shape = np.shape(value_of(y_pred))
        t, p = squeeze_or_expand_to_same_rank(np.asarray(value_of(y_true), dtype),
                                              np.asarray(value_of(y_pred), dtype))
        values, _, backward = self._forward(t, p, self.from_logits)
        if not (is_recording() and isinstance(y_pred, Tensor)):
            return values

        # on a recorded y_pred (a compute_loss override calling keras.losses.<function>),
        # the per-sample values are recorded, their gradient the loss's own backward
        def vjp(g):
            grad = backward(np.asarray(g, values.dtype))
            if grad.shape != p.shape:
                grad = _sum_to_shape(grad, p.shape)
            return [grad.reshape(shape)]
        return make(values, [y_pred], vjp, name=self.name)

    def __call__(self, y_true, y_pred, sample_weight=None, logits=None, mask=None):
        """The reduced loss: a float (an array with ``reduction='none'``).

        ``logits``: the pre-activation values of a sigmoid/softmax output, as Keras uses them.
        ``mask``: booleans shaped like the per-sample losses (Keras's mask on ``y_pred``, e.g.
        the padding mask of a sequence output); masked entries are left out of the mean.
        """
        from .ops._tape import Tensor, is_recording, make, value_of

        if is_recording() and isinstance(y_pred, Tensor) and \
                self.reduction not in (None, "none"):
            # called inside a recorded call (Keras's endpoint layer: `self.add_loss(
            # self.loss_fn(targets, logits))`): the loss is a recorded tensor whose gradient
            # reaches y_pred
            p = value_of(y_pred)
            loss, grad = self._compute(value_of(y_true), p, value_of(sample_weight), None,
                                       None, True, mask)
            return make(np.asarray(loss, self._dtype_for(p)), [y_pred],
                        lambda g: [grad * g], name=self.name)
        loss = self._compute(value_of(y_true), value_of(y_pred), value_of(sample_weight),
                             logits, None, False, mask)[0]
        if np.ndim(loss) == 0:
            return EagerScalar(loss, getattr(loss, "dtype", np.float32))
        return loss

    def value_and_grad(self, y_true, y_pred, sample_weight=None, logits=None, activation=None,
                       mask=None):
        """Reduced loss and its gradient for the trainer.

        Parameters
        ----------
        y_true : array-like, the targets.
        y_pred : ndarray, the model's output.
        sample_weight : array-like, optional, one weight per sample.
        logits : ndarray, optional. The output layer's pre-activation values when
            ``y_pred = activation(logits)``; the gradient is then with respect to them.
        activation : {'sigmoid', 'softmax'}, optional. The output activation, needed only when
            Keras would not use the logits (see the module notes); width-1 outputs default to
            'sigmoid'.
        mask : ndarray of bool, optional. As in ``__call__``.

        Returns
        -------
        (float, ndarray) : the loss, and its gradient shaped like ``logits`` (or ``y_pred``).
        """
        if self.reduction in (None, "none"):
            raise ValueError("value_and_grad needs a reducing loss; received reduction="
                             f"{self.reduction!r}")
        user = getattr(type(self).__call__, "__wrapped__", None)
        if user is not None:
            return _recorded_value_and_grad(self, user, y_true, y_pred, sample_weight)
        return self._compute(y_true, y_pred, sample_weight, logits, activation, True, mask)

    def _compute(self, y_true, y_pred, sample_weight, logits, activation, need_grad,
                 in_mask=None):
        dtype = self._dtype_for(y_pred)
        p_in = np.asarray(y_pred, dtype)
        if self._writes_call():
            # the user's `call` (also over a built-in loss it subclasses) sees the shapes as
            # given, as in Keras, and its recorded ops give the gradient
            t, x, use_logits = np.asarray(y_true, dtype), p_in, False
            values, mask, backward = _recorded_forward(self.call, t, x, self)
        else:
            t, p = squeeze_or_expand_to_same_rank(np.asarray(y_true, dtype), p_in)
            use_logits = logits is not None and self._keeps_logits and p.shape == p_in.shape \
                and getattr(self, "ignore_class", None) is None
            x = np.asarray(logits, dtype) if use_logits else p
            values, mask, backward = self._forward(t, x, self.from_logits or use_logits)
        if in_mask is not None:
            in_mask = np.asarray(in_mask, bool).reshape(values.shape)
            mask = in_mask if mask is None else (mask & in_mask)
        loss, dvalues = _reduce(values, sample_weight, mask, self.reduction, need_grad)
        if not need_grad:
            return loss, None
        grad = backward(dvalues)
        if grad.shape != x.shape:
            # targets that broadcast against the outputs (mse of (batch, 3) targets against
            # a (batch, 1) output, as Keras allows): each output's gradient sums its copies
            grad = _sum_to_shape(grad, x.shape)
        grad = grad.reshape(p_in.shape)
        if logits is not None and not use_logits:
            if activation is None and p_in.shape[-1] == 1:
                activation = "sigmoid"
            grad = _through_activation(grad, p_in, activation)
        return float(loss), grad

    def _writes_call(self):
        """Whether a subclass overrides ``call`` (Keras's way to write a loss)."""
        return type(self).call is not Loss.call

    def _forward(self, t, x, from_logits):
        """The built-in losses' values, mask and backward (see the class notes)."""
        raise NotImplementedError(f"{type(self).__name__} must implement `call(self, y_true, "
                                  "y_pred)` returning the per-sample losses.")

    def check_targets(self, y_true, output_shape):
        """Raise ValueError when targets ``y`` cannot be used against outputs of
        ``output_shape`` (its batch entry may be None). Here: broadcast-compatible shapes."""
        t = _numeric_targets(y_true)
        ts, ps = _match_rank(t.shape[1:], tuple(output_shape)[1:])
        try:
            np.broadcast_shapes(tuple(1 if n is None else n for n in ts),
                                tuple(1 if n is None else n for n in ps))
        except ValueError:
            raise ValueError(f"`y` has shape {t.shape}, which does not fit the model's output "
                             f"shape {tuple(output_shape)} for loss '{self.name}'.") from None

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


def _user_dunder_call(user):
    """A subclass's own ``__call__(y_true, y_pred, sample_weight=None)`` (Keras's test harness
    writes one), callable as the trainer calls every loss: the trainer's extra keywords
    (``logits``, ``mask``) are dropped, since a Keras loss that overrides ``__call__`` never
    sees them either, and a 0-d result becomes a float."""
    @functools.wraps(user)
    def __call__(self, y_true, y_pred, sample_weight=None, logits=None, mask=None, **kwargs):
        if sample_weight is not None:
            kwargs["sample_weight"] = sample_weight
        from .ops._tape import value_of

        out = np.asarray(value_of(user(self, y_true, y_pred, **kwargs)))
        return EagerScalar(out, out.dtype) if out.ndim == 0 else out
    __call__._passes_trainer_arguments = True
    return __call__


def _recorded_value_and_grad(loss, user, y_true, y_pred, sample_weight):
    """The value of a subclass's own ``__call__`` and its gradient with respect to
    ``y_pred``, from recording the rnncore.ops it runs."""
    from .ops._tape import Tensor, backward as replay, recording, value_of

    p = np.asarray(y_pred, loss._dtype_for(y_pred))
    kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
    with recording(True):
        leaf = Tensor(p)
        out = user(loss, y_true, leaf, **kwargs)
    value = np.asarray(value_of(out))
    if value.ndim != 0 or value.dtype.kind not in "biuf":
        raise ValueError(f"{type(loss).__name__}.__call__ must return a scalar loss computed "
                         f"with rnncore.ops; it returned shape {value.shape}, dtype "
                         f"{value.dtype}.")
    g = replay([out], [np.ones((), value.dtype)]).of(leaf) if isinstance(out, Tensor) else None
    grad = np.zeros_like(p) if g is None else np.asarray(g, p.dtype).reshape(p.shape)
    return float(value), grad


def _sum_to_shape(grad, shape):
    """`grad` of a broadcast result summed back onto an operand of `shape`."""
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


def _numeric_targets(y):
    t = np.asarray(y)
    if t.dtype.kind not in "biuf":
        raise ValueError(f"`y` must hold numbers; received an array of dtype {t.dtype}.")
    if t.ndim == 0:
        raise ValueError("`y` must have a batch axis; received a scalar.")
    return t


def _reduce(values, sample_weight, mask, reduction, need_grad):
    """Keras's reduce_weighted_values (with apply_mask), and d(loss)/d(values)."""
    dt = values.dtype.type
    sw = None if sample_weight is None else np.asarray(sample_weight, values.dtype)
    if mask is not None:
        if reduction in ("mean", "sum_over_batch_size"):
            valid = dt(mask.sum())
            fmask = np.where(mask, dt(mask.size) / valid if valid else dt(0), dt(0))
        else:
            fmask = mask.astype(values.dtype)
        if sw is not None:
            fmask, sw = squeeze_or_expand_to_same_rank(fmask, sw)
            sw = sw * fmask
        else:
            sw = fmask
    v = values
    if sw is not None:
        v, sw = squeeze_or_expand_to_same_rank(values, sw)
        try:
            weighted = v * sw
        except ValueError:
            raise ValueError(f"`sample_weight` of shape {np.shape(sample_weight)} does not fit "
                             f"the per-sample losses of shape {values.shape}.") from None
    else:
        weighted = v
    if reduction in (None, "none") or weighted.shape in ((), (0,)):
        return weighted, (np.ones_like(values) if sw is None else sw) if need_grad else None
    loss = np.sum(weighted, dtype=values.dtype)
    scale = dt(1)
    if reduction != "sum":
        divisor = (dt(np.sum(sw)) if reduction == "mean_with_sample_weight" and sw is not None
                   else dt(weighted.size))
        scale = dt(1) / divisor if divisor else dt(0)
        loss = loss / divisor if divisor else dt(0)
    if not need_grad:
        return loss, None
    dv = np.broadcast_to(scale if sw is None else scale * sw, weighted.shape)
    return loss, _sum_to(dv, v.shape).reshape(values.shape)


def _sigmoid_output_loss(y_true, y_pred, logits, dtype):
    """The trainer's usual case, a (batch, 1) sigmoid output with its logits and one target
    per sample, unweighted: ``(loss, grad)`` from one compiled call, the same arithmetic as
    the NumPy path (which handles everything else; None sends the caller there)."""
    if (type(y_pred) is not np.ndarray or type(logits) is not np.ndarray
            or y_pred.dtype != dtype or logits.dtype != dtype or y_pred.ndim != 2
            or y_pred.shape[1] != 1 or logits.shape != y_pred.shape or not y_pred.shape[0]):
        return None
    t = np.asarray(y_true)
    if t.dtype.kind not in "biuf" or t.shape not in ((y_pred.shape[0],), y_pred.shape):
        return None
    n, dt = y_pred.shape[0], dtype.type
    t = np.ascontiguousarray(t.reshape(n), dtype)
    grad = np.empty((n, 1), dtype)
    total = _compiled.binary_crossentropy_logits(t, np.ascontiguousarray(logits.reshape(n)),
                                                  dt(1) / dt(n), grad.reshape(n))
    return float(dt(total) / dt(n)), grad


def _clip(p):
    dt = p.dtype.type
    lo, hi = dt(_eps()), dt(1.0 - _eps())
    return np.clip(p, lo, hi), (p >= lo) & (p <= hi)


def _check_same_shape(t, x, name):
    if t.shape != x.shape:
        raise ValueError(f"{name}: `y_true` and `y_pred` must have the same shape. Received: "
                         f"y_true.shape={t.shape}, y_pred.shape={x.shape}")


class BinaryCrossentropy(Loss):
    """Binary crossentropy, averaged over ``axis``: ``-(t log p + (1 - t) log(1 - p))``.

    Parameters
    ----------
    from_logits : bool, default False.
    label_smoothing : float in [0, 1]: targets become ``t (1 - s) + s / 2``.
    axis : int, default -1.
    reduction, name, dtype : as :class:`Loss`.

    Examples
    --------
    >>> BinaryCrossentropy()(np.array([[0.], [1.]]), np.array([[0.2], [0.9]]))
    0.164252033486018
    """

    _keeps_logits = True

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="binary_crossentropy", dtype=None):
        super().__init__(name, reduction, dtype)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis

    def value_and_grad(self, y_true, y_pred, sample_weight=None, logits=None, activation=None,
                       mask=None):
        if (logits is not None and sample_weight is None and mask is None
                and not self._writes_call()
                and not self.from_logits and not self.label_smoothing
                and self.reduction == "sum_over_batch_size"):
            fast = _sigmoid_output_loss(y_true, y_pred, logits, self._dtype_for(y_pred))
            if fast is not None:
                return fast
        return super().value_and_grad(y_true, y_pred, sample_weight, logits, activation, mask)

    def _forward(self, t, x, from_logits):
        dt = x.dtype.type
        _check_same_shape(t, x, self.name)
        if self.label_smoothing:
            t = t * dt(1.0 - self.label_smoothing) + dt(0.5 * self.label_smoothing)
        k = dt(x.shape[self.axis])
        if from_logits:  # tf.nn.sigmoid_cross_entropy_with_logits
            pos = x >= 0
            e = np.exp(np.where(pos, -x, x))
            elem = (np.where(pos, x, dt(0)) - x * t) + np.log1p(e)
        else:
            c, inside = _clip(x)
            elem = -(t * np.log(c) + (dt(1) - t) * np.log(dt(1) - c))

        def backward(dv):
            de = np.expand_dims(dv, self.axis) / k
            if from_logits:
                gl = (de * (dt(1) / (dt(1) + e))) * e
                return np.where(pos, de, dt(0)) + (-de) * t + np.where(pos, -gl, gl)
            gc = (-de * t) * (dt(1) / c) - (-de * (dt(1) - t)) * (dt(1) / (dt(1) - c))
            return np.where(inside, gc, dt(0))
        return np.mean(elem, axis=self.axis), None, backward

    def check_targets(self, y_true, output_shape):
        t = _numeric_targets(y_true)
        ts, ps = _match_rank(t.shape, (t.shape[0],) + tuple(output_shape)[1:])
        if not _shapes_equal(ts, ps):
            raise ValueError(f"`y` has shape {t.shape} but the model's output has shape "
                             f"{tuple(output_shape)}; '{self.name}' needs one target per "
                             "output unit (the same shape as the output).")

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class CategoricalCrossentropy(BinaryCrossentropy):
    """Categorical crossentropy ``-sum(t log p)`` over ``axis`` with one-hot (or soft)
    targets; probabilities are renormalised to sum to 1 first, as Keras does.

    Parameters
    ----------
    from_logits, label_smoothing, axis, reduction, name, dtype : as
        :class:`BinaryCrossentropy`; smoothing gives ``t (1 - s) + s / n_classes``.
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy", dtype=None):
        super().__init__(from_logits, label_smoothing, axis, reduction, name, dtype)

    def _forward(self, t, x, from_logits):
        dt, axis = x.dtype.type, self.axis
        _check_same_shape(t, x, self.name)
        if self.label_smoothing:
            t = t * dt(1.0 - self.label_smoothing) + dt(self.label_smoothing) / dt(x.shape[-1])
        if from_logits:  # tf.nn.softmax_cross_entropy_with_logits (the fused kernel)
            xm, tm = np.moveaxis(x, axis, -1), np.moveaxis(t, axis, -1)
            shifted = xm - xm.max(axis=-1, keepdims=True)
            ex = np.exp(shifted)
            sum_exp = ex.sum(axis=-1, keepdims=True)
            values = np.sum(tm * (np.log(sum_exp) - shifted), axis=-1)
            return values, None, lambda dv: np.moveaxis(dv[..., None] * (ex / sum_exp - tm),
                                                        -1, axis)
        total = np.sum(x, axis=axis, keepdims=True)
        c, inside = _clip(x / total)

        def backward(dv):
            gq = np.where(inside, (-np.expand_dims(dv, axis) * t) * (dt(1) / c), dt(0))
            return gq / total + np.sum(gq * ((-x / total) / total), axis=axis, keepdims=True)
        return -np.sum(t * np.log(c), axis=axis), None, backward

    def check_targets(self, y_true, output_shape):
        t = _numeric_targets(y_true)
        try:
            super().check_targets(t, output_shape)
        except ValueError as exc:
            hint = ""
            if t.ndim == 1 or (t.ndim == len(output_shape) and t.shape[-1] == 1):
                hint = (" For integer class labels use 'sparse_categorical_crossentropy', or "
                        "one-hot encode them with to_categorical.")
            raise ValueError(f"{exc} It expects one-hot targets.{hint}") from None


class SparseCategoricalCrossentropy(Loss):
    """Categorical crossentropy with integer class labels of shape ``y_pred.shape[:-1]``.

    Parameters
    ----------
    from_logits : bool, default False.
    ignore_class : int, optional. Labels equal to it add nothing to the loss, and the mean is
        taken over the other labels.
    axis : int, only -1 is supported (as Keras's TensorFlow backend).
    reduction, name, dtype : as :class:`Loss`.
    """

    _keeps_logits = True

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 axis=-1, name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(name, reduction, dtype)
        if axis != -1:
            raise ValueError(f"Only axis=-1 is currently supported. Received: axis={axis}")
        self.from_logits, self.ignore_class, self.axis = from_logits, ignore_class, axis

    def _forward(self, t, x, from_logits):
        dt = x.dtype.type
        if t.ndim == x.ndim and t.shape[-1] == 1:
            t = t[..., 0]
        if t.shape != x.shape[:-1]:
            raise ValueError(f"{self.name}: `y_true` must have shape y_pred.shape[:-1]. "
                             f"Received: y_true.shape={t.shape}, y_pred.shape={x.shape}")
        labels = t.astype(np.int64)  # truncation, as tf.cast
        valid = None
        if self.ignore_class is not None:
            valid = t != dt(self.ignore_class)
            labels = np.where(valid, labels, 0)
            x = np.where(valid[..., None], x, dt(0))
        if labels.size and (labels.min() < 0 or labels.max() >= x.shape[-1]):
            bad = labels[(labels < 0) | (labels >= x.shape[-1])].flat[0]
            raise ValueError(f"{self.name}: `y_true` holds the label {bad}, outside the valid "
                             f"range [0, {x.shape[-1]}) of the {x.shape[-1]} output classes.")
        if from_logits:
            z = x
        else:
            c, inside = _clip(x)
            z = np.log(c)
        shifted = z - z.max(axis=-1, keepdims=True)
        ex = np.exp(shifted)
        sum_exp = ex.sum(axis=-1, keepdims=True)
        picked = np.take_along_axis(shifted, labels[..., None], axis=-1)[..., 0]
        values = np.log(sum_exp[..., 0]) - picked
        if valid is not None:
            values = np.where(valid, values, dt(0))

        def backward(dv):
            if valid is not None:
                dv = np.where(valid, dv, dt(0))
            bp = ex / sum_exp
            np.put_along_axis(bp, labels[..., None],
                              np.take_along_axis(bp, labels[..., None], axis=-1) - dt(1), axis=-1)
            g = dv[..., None] * bp
            return g if from_logits else np.where(inside, g * (dt(1) / c), dt(0))
        return values, valid, backward

    def check_targets(self, y_true, output_shape):
        t = _numeric_targets(y_true)
        out = tuple(output_shape)
        expect = (t.shape[0],) + out[1:-1]
        shape = t.shape[:-1] if t.ndim == len(out) and t.shape[-1] == 1 else t.shape
        if not _shapes_equal(shape, expect):
            hint = (" These look like one-hot targets: use 'categorical_crossentropy'."
                    if _shapes_equal(t.shape, (t.shape[0],) + out[1:]) else "")
            raise ValueError(f"`y` has shape {t.shape} but '{self.name}' needs one integer label "
                             f"per sample, shape {expect} (the output shape {out} without its "
                             f"last axis).{hint}")
        if t.dtype.kind == "f" and not np.all(np.isfinite(t) & (t == np.round(t))):
            raise ValueError(f"`y` must hold integer class labels for '{self.name}'; it holds "
                             f"non-integer values such as {t[t != np.round(t)].flat[0]!r}.")
        n_classes = out[-1]
        valid = t if self.ignore_class is None else t[t != self.ignore_class]
        if n_classes is not None and valid.size and (valid.min() < 0 or valid.max() >= n_classes):
            raise ValueError(f"`y` holds class labels in [{valid.min()}, {valid.max()}] but the "
                             f"model has {n_classes} output classes: labels must lie in "
                             f"[0, {n_classes}).")

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "ignore_class": self.ignore_class}


class MeanSquaredError(Loss):
    """``mean((y_true - y_pred)**2, axis=-1)``. Arguments as :class:`Loss`."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(name, reduction, dtype)

    def _forward(self, t, x, from_logits):
        diff = t - x  # targets may broadcast against the outputs: average over diff's axis
        k = x.dtype.type(diff.shape[-1])
        return (np.mean(np.square(diff), axis=-1), None,
                lambda dv: -((dv[..., None] / k) * (diff * x.dtype.type(2))))


class MeanAbsoluteError(Loss):
    """``mean(|y_true - y_pred|, axis=-1)``. Arguments as :class:`Loss`."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(name, reduction, dtype)

    def _forward(self, t, x, from_logits):
        diff = t - x
        k = x.dtype.type(diff.shape[-1])
        return (np.mean(np.abs(diff), axis=-1), None,
                lambda dv: -((dv[..., None] / k) * np.sign(diff)))


class Huber(Loss):
    """Huber loss: ``e**2 / 2`` for ``|e| <= delta``, else ``delta (|e| - delta / 2)``, with
    ``e = y_pred - y_true``, averaged over the last axis."""

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss",
                 dtype=None):
        super().__init__(name, reduction, dtype)
        self.delta = delta

    def _forward(self, t, x, from_logits):
        dt = x.dtype.type
        delta, half, err = dt(self.delta), dt(0.5), x - t
        small = np.abs(err) <= delta
        elem = np.where(small, half * np.square(err), delta * np.abs(err) - half * delta * delta)

        def backward(dv):
            de = dv[..., None] / dt(err.shape[-1])
            return (np.where(small, (de * half) * (err * dt(2)), dt(0))
                    + np.where(small, dt(0), de * delta) * np.sign(err))
        return np.mean(elem, axis=-1), None, backward

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


def _function(cls, **defaults):
    def fn(y_true, y_pred, **kwargs):
        return cls(**{**defaults, **kwargs}).call(y_true, y_pred)
    fn.__name__ = fn.__qualname__ = cls(**defaults).name
    fn.__doc__ = f"Per-sample values of :class:`{cls.__name__}` (keyword arguments as the class)."
    # compile(loss=fn) trains with the class (which has a gradient), named after fn as in Keras
    fn._loss_class = cls
    return fn


binary_crossentropy = _function(BinaryCrossentropy)
categorical_crossentropy = _function(CategoricalCrossentropy)
sparse_categorical_crossentropy = _function(SparseCategoricalCrossentropy)
mean_squared_error = _function(MeanSquaredError)
mean_absolute_error = _function(MeanAbsoluteError)
huber = _function(Huber)
huber.__name__ = huber.__qualname__ = "huber"
# Keras 2's short names (tf.keras.losses.mse …): the same functions, named by their long name
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
_FUNCTIONS = {fn.__name__: fn for fn in (binary_crossentropy, categorical_crossentropy,
                                         sparse_categorical_crossentropy, mean_squared_error,
                                         mean_absolute_error, huber)}

_CLASSES = {c.__name__: c for c in (BinaryCrossentropy, CategoricalCrossentropy,
                                    SparseCategoricalCrossentropy, MeanSquaredError,
                                    MeanAbsoluteError, Huber)}
_ALIASES = {"binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
            "BCE": BinaryCrossentropy, "categorical_crossentropy": CategoricalCrossentropy,
            "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
            "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
            "MSE": MeanSquaredError, "mean_absolute_error": MeanAbsoluteError,
            "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError, "huber": Huber}


def get(identifier, output_shape=None, target_shape=None):
    """Keras's ``losses.get``: the loss function for a function's name or alias
    (``get('mse') is mean_squared_error``), an instance for a class name
    (``get('MeanSquaredError')``) or a config dict, None for None; a Loss or a function
    comes back as it is, a Loss class as an instance.

    Given ``output_shape`` or ``target_shape`` (an rnncore extension), it resolves as
    ``compile(loss=...)`` does instead: see :func:`_for_compile`.
    """
    if output_shape is not None or target_shape is not None:
        return _for_compile(identifier, output_shape, target_shape)
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, str) and identifier not in _CLASSES and identifier in _ALIASES:
        return _function_of(_ALIASES[identifier])
    if callable(identifier) and not isinstance(identifier, (str, dict)):
        return identifier
    return _for_compile(identifier)


def _function_of(cls):
    """The loss function (``mean_squared_error``) that computes `cls`'s per-sample values."""
    return next(fn for fn in _FUNCTIONS.values() if fn._loss_class is cls)


def _for_compile(identifier, output_shape=None, target_shape=None):
    """The :class:`Loss` that ``compile(loss=identifier)`` trains with: from a Keras name, a
    config dict, a Loss or a callable.

    Names are case-sensitive as in Keras: class names (``'BinaryCrossentropy'``) give the
    default name; function names and aliases (``'mse'``) name the loss after the string, as
    ``compile`` does. ``'crossentropy'``/``'ce'`` (any case) pick binary, sparse or categorical
    crossentropy from ``output_shape`` and ``target_shape`` as Keras 3's compile does.
    A plain callable ``fn(y_true, y_pred) -> per-sample values`` is wrapped, differentiated
    on the record.
    """
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier.lower() in ("crossentropy", "ce"):
            return _resolve_crossentropy(identifier, output_shape, target_shape)
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
        if identifier in _ALIASES:
            return _ALIASES[identifier](name=identifier)
    elif callable(identifier):
        cls = _builtin_function_class(identifier)
        if cls is not None:
            return cls(name=identifier.__name__)
        return _FunctionLoss(identifier)
    known = sorted(_ALIASES) + sorted(_CLASSES) + ["crossentropy"]
    raise ValueError(f"Could not interpret loss identifier: received loss={identifier!r}. "
                     f"Expected one of {known}, a Loss instance or a callable.")


def _builtin_function_class(fn):
    """The Loss class behind one of our loss functions, or behind Keras's function of the same
    name (``keras.losses.binary_crossentropy``), so that both train with a gradient."""
    cls = getattr(fn, "_loss_class", None)
    if cls is not None:
        return cls
    name = getattr(fn, "__name__", None)
    if str(getattr(fn, "__module__", "")).split(".")[0] in ("keras", "tf_keras") \
            and name in _FUNCTIONS:
        return _FUNCTIONS[name]._loss_class
    return None


def _resolve_crossentropy(identifier, output_shape, target_shape):
    if output_shape is None or target_shape is None:
        raise ValueError(f"loss={identifier!r} is resolved from the shapes of `y` and of the "
                         "output; pass output_shape and target_shape.")
    binary = output_shape[-1] == 1
    sparse = len(target_shape) < len(output_shape) or (target_shape[-1] == 1
                                                       and output_shape[-1] > 1)
    cls = (BinaryCrossentropy if binary else
           SparseCategoricalCrossentropy if sparse else CategoricalCrossentropy)
    return cls(name=identifier)


class _CrossentropyByShapes(Loss):
    """compile's ``loss='crossentropy'`` (or ``'ce'``) before the shapes are known: on the
    first targets and outputs it becomes the crossentropy Keras picks for them (binary,
    sparse or categorical), named after the string."""

    def __init__(self, identifier):
        super().__init__(name=identifier)
        self._identifier = identifier

    def _become(self, target_shape, output_shape):
        resolved = _resolve_crossentropy(self._identifier, tuple(output_shape),
                                         tuple(target_shape))
        self.__class__, self.__dict__ = type(resolved), resolved.__dict__

    def check_targets(self, y_true, output_shape):
        self._become(np.shape(y_true), output_shape)
        self.check_targets(y_true, output_shape)

    def _compute(self, y_true, y_pred, *args, **kwargs):
        self._become(np.shape(y_true), np.shape(y_pred))
        return self._compute(y_true, y_pred, *args, **kwargs)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}


class _FunctionLoss(Loss):
    """A user function ``fn(y_true, y_pred)`` returning per-sample values, written with
    :mod:`rnncore.ops` as a Keras loss is with ``keras.ops`` (Keras's LossFunctionWrapper).

    Its gradient comes from recording the ops the function runs on ``y_pred`` and replaying
    them backward (``rnncore.ops``'s define-by-run differentiation).
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None):
        super().__init__(name or re.sub(r"(?<!^)(?=[A-Z])", "_", getattr(
            fn, "__name__", type(fn).__name__)).lower(), reduction)
        self.fn = fn

    def _forward(self, t, x, from_logits):
        return _recorded_forward(self.fn, t, x, self.fn)


def _recorded_forward(fn, t, x, who):
    """``fn(t, x)``'s per-sample values, computed with rnncore.ops on a recorded ``x``, and
    the backward that replays the record: how a loss written by the user gets its gradient."""
    from .ops._tape import Tensor, backward as replay, recording, value_of

    with recording(True):
        leaf = Tensor(x)
        out = fn(t, leaf)
    values = np.asarray(value_of(out))
    if values.dtype == object or values.dtype.kind not in "biuf":
        raise TypeError(f"loss={who!r} must return an array of per-sample losses computed "
                        f"with rnncore.ops, got {type(out).__name__}")

    def backward(dv):
        g = replay([out], [np.asarray(dv, values.dtype)]).of(leaf) \
            if isinstance(out, Tensor) else None
        return np.zeros_like(x) if g is None else np.asarray(g, x.dtype)
    return values.astype(x.dtype, copy=False), None, backward


def serialize(loss):
    """A loss as Keras's serialized dict (``module``, ``class_name``, ``config``)."""
    return {"module": "keras.losses", "class_name": type(loss).__name__,
            "config": loss.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """Inverse of :func:`serialize`; also reads Keras's form for a loss given by name.
    ``custom_objects`` (``{name: class or function}``) and registered classes resolve the
    program's own losses."""
    if isinstance(config, str):
        return _for_compile(config)
    name = config.get("class_name") if isinstance(config, dict) else None
    if name == "function" and isinstance(config.get("config"), str):
        if config["config"] in _FUNCTIONS or config["config"] in _ALIASES:
            return _for_compile(config["config"])
    if name not in _CLASSES and isinstance(config, dict):
        from ._serialization import deserialize_keras_object

        return deserialize_keras_object(config, custom_objects)
    if name not in _CLASSES:
        raise ValueError(f"Could not interpret loss config: received loss={config!r}. "
                         f"Known class names: {sorted(_CLASSES)}.")
    return _CLASSES[name].from_config(config.get("config", {}))


# Keras's other losses (rnncore._losses_more), registered under Keras's names and aliases
from . import _losses_more  # noqa: E402
from ._losses_more import (BinaryFocalCrossentropy, CategoricalHinge,  # noqa: E402
                           CosineSimilarity, Hinge, KLDivergence, LogCosh, MeanAbsolutePercentageError,
                           MeanSquaredLogarithmicError, Poisson, SquaredHinge)

kl_divergence = _function(KLDivergence)
log_cosh = _function(LogCosh)
hinge = _function(Hinge)
squared_hinge = _function(SquaredHinge)
categorical_hinge = _function(CategoricalHinge)
mean_absolute_percentage_error = _function(MeanAbsolutePercentageError)
mean_squared_logarithmic_error = _function(MeanSquaredLogarithmicError)
poisson = _function(Poisson)
cosine_similarity = _function(CosineSimilarity)
binary_focal_crossentropy = _function(BinaryFocalCrossentropy)
kld = KLD = kl_divergence
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
_MORE_FUNCTIONS = (kl_divergence, log_cosh, hinge, squared_hinge, categorical_hinge,
                   mean_absolute_percentage_error, mean_squared_logarithmic_error, poisson,
                   cosine_similarity, binary_focal_crossentropy)
_FUNCTIONS.update({fn.__name__: fn for fn in _MORE_FUNCTIONS})
_CLASSES.update({c.__name__: c for c in (getattr(_losses_more, n) for n in _losses_more.__all__)})
_ALIASES.update({fn.__name__: fn._loss_class for fn in _MORE_FUNCTIONS})
_ALIASES.update({"kld": KLDivergence, "KLD": KLDivergence, "mape": MeanAbsolutePercentageError,
                 "MAPE": MeanAbsolutePercentageError, "msle": MeanSquaredLogarithmicError,
                 "MSLE": MeanSquaredLogarithmicError})
__all__ += list(_losses_more.__all__) + [fn.__name__ for fn in _MORE_FUNCTIONS] + [
    "kld", "KLD", "mape", "MAPE", "msle", "MSLE"]
# CategoricalFocalCrossentropy, Dice and Tversky (rnncore._losses_recorded)
from . import _losses_recorded  # noqa: E402
from ._losses_recorded import CategoricalFocalCrossentropy, Dice, Tversky  # noqa: E402

categorical_focal_crossentropy = _function(CategoricalFocalCrossentropy)
dice = _function(Dice)
tversky = _function(Tversky)
_RECORDED_FUNCTIONS = (categorical_focal_crossentropy, dice, tversky)
_FUNCTIONS.update({fn.__name__: fn for fn in _RECORDED_FUNCTIONS})
_CLASSES.update({c.__name__: c for c in (CategoricalFocalCrossentropy, Dice, Tversky)})
_ALIASES.update({fn.__name__: fn._loss_class for fn in _RECORDED_FUNCTIONS})
__all__ += list(_losses_recorded.__all__) + [fn.__name__ for fn in _RECORDED_FUNCTIONS]
# CTC (rnncore._losses_ctc)
from ._losses_ctc import CTC  # noqa: E402

ctc = _function(CTC)
_FUNCTIONS["ctc"], _CLASSES["CTC"], _ALIASES["ctc"] = ctc, CTC, CTC
__all__ += ["CTC", "ctc"]

# Circle (rnncore._losses_circle) and CategoricalGeneralizedCrossEntropy
from ._losses_circle import Circle, circle  # noqa: E402
from ._losses_recorded import CategoricalGeneralizedCrossEntropy  # noqa: E402

circle._loss_class = Circle  # compile(loss=circle) trains with the class, named 'circle'
categorical_generalized_cross_entropy = _function(CategoricalGeneralizedCrossEntropy)
_FUNCTIONS.update({"circle": circle, categorical_generalized_cross_entropy.__name__:
                   categorical_generalized_cross_entropy})
_CLASSES.update({"Circle": Circle,
                 "CategoricalGeneralizedCrossEntropy": CategoricalGeneralizedCrossEntropy})
# Keras 3 knows "circle" as a name but not "categorical_generalized_cross_entropy"
_ALIASES["circle"] = Circle
__all__ += ["Circle", "circle", "categorical_generalized_cross_entropy"]
