"""Keras 3's regression, probabilistic and hinge losses beyond the common ones, each with the
gradient the trainer needs.

Each class follows :class:`rnncore.losses.Loss`: ``_forward(t, x, from_logits)`` returns the
per-sample values (Keras's loss function, reduced over the last axis), no mask, and a function
from d(values) to d(y_pred). Where Keras takes a ``maximum``/``clip``, the gradient follows
TensorFlow's: it goes to the first operand on ties and is zero where the clip is active.

    loss                            per-sample value (mean over the last axis unless noted)
    KLDivergence                    sum(t * log(t / p)), t and p clipped to [1e-7, 1]
    LogCosh                         e + softplus(-2 e) - log 2,  e = p - t
    Hinge / SquaredHinge            max(1 - t p, 0) (squared); 0/1 targets become -1/1
    CategoricalHinge                max(max((1 - t) p) - sum(t p) + 1, 0), no mean
    MeanAbsolutePercentageError     100 |t - p| / max(|t|, 1e-7)
    MeanSquaredLogarithmicError     (log(max(p, 1e-7) + 1) - log(max(t, 1e-7) + 1))**2
    Poisson                         p - t log(p + 1e-7)
    CosineSimilarity                -sum(l2_normalize(t) * l2_normalize(p), axis)
    BinaryFocalCrossentropy         (1 - p_t)**gamma * bce, p_t = t p + (1 - t)(1 - p)
"""
import numpy as np

from . import losses as _losses
from ._config import epsilon as _eps

__all__ = ["KLDivergence", "LogCosh", "Hinge", "SquaredHinge", "CategoricalHinge",
           "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "Poisson",
           "CosineSimilarity", "BinaryFocalCrossentropy"]


class _Base(_losses.Loss):
    _default = None

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        super().__init__(name or self._default, reduction, dtype)


def _per_last(dt, k, fn):
    # d(mean over the last axis): each element's share of d(values)
    return lambda dv: fn(dv[..., None] / dt(k))


class KLDivergence(_Base):
    """``sum(t * log(t / p), axis=-1)`` with ``t`` and ``p`` clipped to ``[1e-7, 1]``."""
    _default = "kl_divergence"

    def _forward(self, t, x, from_logits):
        dt = x.dtype.type
        tc, pc = np.clip(t, dt(_eps()), dt(1)), np.clip(x, dt(_eps()), dt(1))
        inside = (x >= dt(_eps())) & (x <= dt(1))
        values = np.sum(tc * np.log(tc / pc), axis=-1)
        return values, None, lambda dv: np.where(inside, dv[..., None] * (-tc / pc), dt(0))


class LogCosh(_Base):
    """``mean(log(cosh(p - t)), axis=-1)``, computed as ``e + softplus(-2e) - log 2``."""
    _default = "log_cosh"

    def _forward(self, t, x, from_logits):
        dt = x.dtype.type
        err = x - t
        # Keras takes log(2.0) in float32 and casts it to the loss's dtype
        log2 = dt(np.log(np.float32(2.0)))
        values = np.mean(err + np.logaddexp(dt(0), err * dt(-2.0)) - log2, axis=-1)
        return values, None, _per_last(dt, err.shape[-1], lambda d: d * np.tanh(err))


def _hinge_targets(t):
    # Keras's convert_binary_labels_to_hinge: a batch of only 0/1 targets becomes -1/1
    if np.all((t == 0) | (t == 1)):
        return t.dtype.type(2.0) * t - t.dtype.type(1.0)
    return t


class Hinge(_Base):
    """``mean(max(1 - t * p, 0), axis=-1)``; targets all in {0, 1} are mapped to {-1, 1}."""
    _default = "hinge"

    def _forward(self, t, x, from_logits):
        dt = x.dtype.type
        t = _hinge_targets(t)
        margin = dt(1.0) - t * x
        values = np.mean(np.maximum(margin, dt(0)), axis=-1)
        return values, None, _per_last(dt, margin.shape[-1],
                                       lambda d: np.where(margin >= 0, -d * t, dt(0)))


class SquaredHinge(_Base):
    """``mean(max(1 - t * p, 0)**2, axis=-1)``; targets as :class:`Hinge`."""
    _default = "squared_hinge"

    def _forward(self, t, x, from_logits):
        dt = x.dtype.type
        t = _hinge_targets(t)
        m = np.maximum(dt(1.0) - t * x, dt(0))
        values = np.mean(np.square(m), axis=-1)
        return values, None, _per_last(dt, m.shape[-1], lambda d: -(d * (dt(2) * m)) * t)


class CategoricalHinge(_Base):
    """``max(max((1 - t) * p, axis=-1) - sum(t * p, axis=-1) + 1, 0)`` for one-hot ``t``."""
    _default = "categorical_hinge"

    def _forward(self, t, x, from_logits):
        dt = x.dtype.type
        t = np.broadcast_to(t, x.shape)
        negs = (dt(1.0) - t) * x
        pos, neg = np.sum(t * x, axis=-1), np.max(negs, axis=-1)
        z = neg - pos + dt(1.0)
        values = np.maximum(z, dt(0))

        def backward(dv):
            d = np.where(z >= 0, dv, dt(0))[..., None]
            top = (negs == neg[..., None])
            share = top / top.sum(axis=-1, keepdims=True).astype(x.dtype)  # TF splits ties
            return d * (share * (dt(1.0) - t)) - d * t
        return values, None, backward


class MeanAbsolutePercentageError(_Base):
    """``100 * mean(|t - p| / max(|t|, 1e-7), axis=-1)``."""
    _default = "mean_absolute_percentage_error"

    def _forward(self, t, x, from_logits):
        dt = x.dtype.type
        scale = np.maximum(np.abs(t), dt(_eps()))
        diff = (t - x) / scale
        values = dt(100.0) * np.mean(np.abs(diff), axis=-1)
        return values, None, _per_last(dt, diff.shape[-1],
                                       lambda d: -(dt(100.0) * d) * np.sign(diff) / scale)


class MeanSquaredLogarithmicError(_Base):
    """``mean((log(max(p, eps) + 1) - log(max(t, eps) + 1))**2, axis=-1)``, ``eps = 1e-7``."""
    _default = "mean_squared_logarithmic_error"

    def _forward(self, t, x, from_logits):
        dt = x.dtype.type
        eps = dt(np.float32(_eps()))  # Keras makes this epsilon a float32 tensor
        shifted = np.maximum(x, eps) + dt(1.0)
        err = np.log(shifted) - np.log(np.maximum(t, eps) + dt(1.0))
        values = np.mean(np.square(err), axis=-1)
        return values, None, _per_last(
            dt, err.shape[-1], lambda d: np.where(x >= eps, d * (dt(2) * err) / shifted, dt(0)))


class Poisson(_Base):
    """``mean(p - t * log(p + 1e-7), axis=-1)``."""
    _default = "poisson"

    def _forward(self, t, x, from_logits):
        dt = x.dtype.type
        shifted = x + dt(_eps())
        elem = x - t * np.log(shifted)
        return np.mean(elem, axis=-1), None, _per_last(dt, elem.shape[-1],
                                                       lambda d: d - d * t / shifted)


class CosineSimilarity(_Base):
    """``-sum(l2_normalize(t) * l2_normalize(p), axis)``: -1 for parallel vectors, 0 for
    orthogonal ones. As Keras, a vector is scaled by ``min(1 / ||v||, 1e7)``.

    Parameters
    ----------
    axis : int, default -1. The axis the similarity is taken along.
    """
    _default = "cosine_similarity"

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name=None, dtype=None):
        super().__init__(reduction, name, dtype)
        self.axis = axis

    def _forward(self, t, x, from_logits):
        dt, axis = x.dtype.type, self.axis
        tn = t * _inv_norm(t, axis)
        inv = _inv_norm(x, axis)
        values = -np.sum(tn * (x * inv), axis=axis)
        unclipped = inv < dt(1.0 / _eps())

        def backward(dv):
            d = np.expand_dims(dv, axis)
            dot = np.sum(tn * x, axis=axis, keepdims=True)
            # d(x * inv) = inv dx - x inv**3 (x . dx) where the 1e7 cap is not active
            dinv = np.where(unclipped, -(inv ** 3) * dot, dt(0))
            return -d * (tn * inv + x * dinv)
        return values, None, backward

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def _inv_norm(v, axis):
    dt = v.dtype.type
    sq = np.sum(np.square(v), axis=axis, keepdims=True)
    with np.errstate(divide="ignore"):
        return np.minimum(dt(1.0) / np.sqrt(sq), dt(1.0 / _eps()))


class BinaryFocalCrossentropy(_Base):
    """Binary crossentropy scaled by ``(1 - p_t)**gamma`` (``p_t`` the probability given to
    the true class), so well-classified examples weigh less; mean over ``axis``.

    Parameters
    ----------
    apply_class_balancing : bool, default False: also weight by ``alpha`` for positives and
        ``1 - alpha`` for negatives.
    alpha : float, default 0.25.
    gamma : float, default 2.0.
    from_logits : bool, default False. With logits the crossentropy is taken from them (as
        Keras's TensorFlow backend does when training), ``p = sigmoid(logits)`` elsewhere.
    label_smoothing : float in [0, 1], default 0.
    axis : int, default -1.

    Notes
    -----
    Behind a sigmoid output (``from_logits=False``) Keras's TensorFlow backend takes the
    crossentropy part from the cached logits while training; rnncore takes it from the clipped
    probabilities, which agrees except where a probability is within 1e-7 of 0 or 1.
    """
    _default = "binary_focal_crossentropy"

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size", name=None,
                 dtype=None):
        super().__init__(reduction, name, dtype)
        self.apply_class_balancing, self.alpha, self.gamma = apply_class_balancing, alpha, gamma
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis

    def _forward(self, t, x, from_logits):
        dt = x.dtype.type
        t = np.broadcast_to(t, x.shape)
        if self.label_smoothing:
            t = t * dt(1.0 - self.label_smoothing) + dt(0.5 * self.label_smoothing)
        if from_logits:
            p = _sigmoid(x)
            bce = np.maximum(x, dt(0)) - x * t + np.log1p(np.exp(-np.abs(x)))
            inside = np.ones(x.shape, bool)
        else:
            p = x
            c = np.clip(p, dt(_eps()), dt(1.0 - _eps()))
            inside = (p >= dt(_eps())) & (p <= dt(1.0 - _eps()))
            bce = -(t * np.log(c) + (dt(1) - t) * np.log(dt(1) - c))
        gamma = dt(self.gamma)
        miss = dt(1.0) - (t * p + (dt(1) - t) * (dt(1) - p))  # 1 - p_t
        focal = np.power(miss, gamma)
        weight = (t * dt(self.alpha) + (dt(1) - t) * dt(1 - self.alpha)
                  if self.apply_class_balancing else dt(1))
        elem = weight * (focal * bce)
        k = dt(x.shape[self.axis])

        def backward(dv):
            d = np.expand_dims(dv, self.axis) / k * weight
            with np.errstate(divide="ignore", invalid="ignore"):
                dfocal_dp = np.where(miss > 0, -gamma * np.power(miss, gamma - dt(1)), dt(0)) \
                    * (dt(2) * t - dt(1))
            if from_logits:
                # d bce / dx = p - t; dp / dx = p (1 - p)
                return d * (dfocal_dp * p * (dt(1) - p) * bce + focal * (p - t))
            dbce_dp = np.where(inside, -t / c + (dt(1) - t) / (dt(1) - c), dt(0))
            return d * (dfocal_dp * bce + focal * dbce_dp)
        return np.mean(elem, axis=self.axis), None, backward

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis,
                "apply_class_balancing": self.apply_class_balancing, "alpha": self.alpha,
                "gamma": self.gamma}


def _sigmoid(x):
    from scipy import special

    return special.expit(x)
