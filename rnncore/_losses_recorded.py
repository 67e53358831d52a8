"""Keras 3's CategoricalFocalCrossentropy, CategoricalGeneralizedCrossEntropy, Dice and Tversky
losses.

Each is written once, with :mod:`rnncore.ops`, as Keras writes it; the trainer's gradient
comes from recording those ops (the way a user's ``Loss.call`` gets its gradient), so the
formula and its derivative cannot drift apart.

    loss                            per-sample value
    CategoricalFocalCrossentropy    sum(alpha (1 - q)**gamma (-t log q)), q = p / sum(p) clipped
                                    to [1e-7, 1 - 1e-7] (p = softmax(logits) with from_logits)
    CategoricalGeneralizedCrossEntropy  (1 - p[t]**q) / q, p[t] the probability of the
                                    integer label t
    Dice                            1 - 2 sum(t p) / (sum(t) + sum(p) + 1e-7)
    Tversky                         1 - sum(t p) / (sum(t p) + alpha sum((1 - p) t)
                                    + beta sum(p (1 - t)) + 1e-7)

Dice and Tversky sum over ``axis`` (None: every axis, one value for the whole batch).
"""
import warnings

from . import losses as _losses
from ._config import epsilon as _eps

__all__ = ["CategoricalFocalCrossentropy", "CategoricalGeneralizedCrossEntropy", "Dice",
           "Tversky"]


class _Recorded(_losses.Loss):
    """A built-in loss whose per-sample values are ``self._formula(ops, t, x)``."""

    def _forward(self, t, x, from_logits):
        from . import ops

        return _losses._recorded_forward(lambda t_, x_: self._formula(ops, t_, x_), t, x, self)


def _check_axis(axis):
    if isinstance(axis, bool) or not (axis is None or isinstance(axis, int)
                                      or isinstance(axis, (tuple, list))):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis} of type "
                         f"{type(axis)}")


class CategoricalFocalCrossentropy(_Recorded):
    """Categorical crossentropy scaled by ``alpha (1 - q)**gamma`` per class, so that
    well-classified examples weigh less (Lin et al., 2017).

    Parameters
    ----------
    alpha : float, default 0.25: weight of every class's term.
    gamma : float, default 2.0: focusing exponent (0: alpha times crossentropy).
    from_logits : bool, default False: ``y_pred`` are logits (softmax applied first).
    label_smoothing : float in [0, 1], default 0.
    axis : int, default -1: the class axis.
    reduction, name, dtype : as :class:`rnncore.losses.Loss`.

    Example
    -------
    >>> CategoricalFocalCrossentropy()([[0., 1., 0.]], [[0.1, 0.8, 0.1]])  # doctest: +ELLIPSIS
    0.0022...
    """

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_focal_crossentropy",
                 dtype=None):
        _check_axis(axis)
        super().__init__(name, reduction, dtype)
        self.alpha, self.gamma, self.from_logits = alpha, gamma, from_logits
        self.label_smoothing, self.axis = label_smoothing, axis

    def _formula(self, ops, t, x):
        if x.shape[-1] == 1:
            warnings.warn("In loss categorical_focal_crossentropy, expected y_pred.shape to be "
                          "(batch_size, num_classes) with num_classes > 1. Received: "
                          f"y_pred.shape={tuple(x.shape)}. Consider using "
                          "'binary_crossentropy' if you only have 2 classes.", SyntaxWarning,
                          stacklevel=4)
        dt = x.dtype.type
        if self.label_smoothing:
            t = t * dt(1.0 - self.label_smoothing) + dt(self.label_smoothing) / dt(t.shape[-1])
        p = ops.softmax(x, axis=self.axis) if self.from_logits else x
        q = ops.clip(p / ops.sum(p, axis=self.axis, keepdims=True), dt(_eps()), dt(1.0 - _eps()))
        cce = -t * ops.log(q)
        focal = ops.power(dt(1.0) - q, dt(self.gamma)) * dt(self.alpha)
        return ops.sum(focal * cce, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis,
                "alpha": self.alpha, "gamma": self.gamma}


class CategoricalGeneralizedCrossEntropy(_Recorded):
    """Generalized cross entropy (Zhang & Sabuncu, 2018), robust to noisy labels:
    ``(1 - p**q) / q`` of the probability ``p`` given to the integer label. ``q -> 0`` tends
    to the crossentropy, ``q = 1`` is the mean absolute error.

    Parameters
    ----------
    q : float in (0, 1), default 0.5.
    reduction, name, dtype : as :class:`rnncore.losses.Loss`.

    Notes
    -----
    ``y_true`` holds integer labels ``(batch,)`` against probabilities ``(batch, classes)``.
    Labels shaped ``(batch, 1)`` broadcast against the probabilities, as in Keras, giving a
    ``(batch, batch)`` loss.
    """

    def __init__(self, q=0.5, reduction="sum_over_batch_size",
                 name="categorical_generalized_cross_entropy", dtype=None):
        if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 < q < 1:
            raise ValueError(f"q must be in the interval (0, 1). Received: q={q!r}")
        super().__init__(name, reduction, dtype)
        self.q = q

    def _formula(self, ops, t, x):
        dt = x.dtype.type
        labels = ops.one_hot(ops.cast(ops.stop_gradient(t), "int32"), x.shape[-1],
                             dtype=x.dtype)
        p = ops.sum(x * labels, axis=-1)
        return (dt(1) - ops.power(p, dt(self.q))) / dt(self.q)

    def get_config(self):
        return {**super().get_config(), "q": self.q}


class Dice(_Recorded):
    """``1 - 2 sum(t p) / (sum(t) + sum(p) + 1e-7)``: one minus the Dice coefficient
    (overlap of prediction and target, e.g. segmentation masks).

    Parameters
    ----------
    axis : int, tuple of ints or None (default): the axes summed. None gives one value for
        the whole batch; ``axis=(1, 2)`` one per sample of ``(batch, h, w)`` masks.
    reduction, name, dtype : as :class:`rnncore.losses.Loss`.
    """

    def __init__(self, reduction="sum_over_batch_size", name="dice", axis=None, dtype=None):
        _check_axis(axis)
        super().__init__(name, reduction, dtype)
        self.axis = axis

    def _formula(self, ops, t, x):
        dt, axis = x.dtype.type, _axes(self.axis)
        overlap = ops.sum(t * x, axis=axis)
        return dt(1) - (dt(2.0) * overlap) / (
            ops.sum(t, axis=axis) + ops.sum(x, axis=axis) + dt(_eps()))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Tversky(_Recorded):
    """One minus the Tversky index, a Dice loss that weighs misses and false alarms apart:
    ``1 - sum(t p) / (sum(t p) + alpha sum((1 - p) t) + beta sum(p (1 - t)) + 1e-7)``.

    Parameters
    ----------
    alpha : float, default 0.5: weight of ``sum((1 - p) t)``.
    beta : float, default 0.5: weight of ``sum(p (1 - t))``. alpha = beta = 0.5 is Dice.
    axis : int, tuple of ints or None (default): the axes summed, as :class:`Dice`.
    reduction, name, dtype : as :class:`rnncore.losses.Loss`.
    """

    def __init__(self, alpha=0.5, beta=0.5, reduction="sum_over_batch_size", name="tversky",
                 axis=None, dtype=None):
        _check_axis(axis)
        super().__init__(name, reduction, dtype)
        self.alpha, self.beta, self.axis = alpha, beta, axis

    def _formula(self, ops, t, x):
        dt, axis = x.dtype.type, _axes(self.axis)
        overlap = ops.sum(t * x, axis=axis)
        missed = ops.sum((dt(1) - x) * t, axis=axis)
        extra = ops.sum(x * (dt(1) - t), axis=axis)
        return dt(1) - overlap / (overlap + missed * dt(self.alpha) + extra * dt(self.beta)
                                  + dt(_eps()))

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "beta": self.beta,
                "axis": self.axis}


def _axes(axis):
    return tuple(axis) if isinstance(axis, list) else axis
