"""Keras 3's regression, probabilistic, hinge and classification-score metrics beyond the
common ones: RootMeanSquaredError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
LogCoshError, CosineSimilarity, KLDivergence, Poisson, Hinge, SquaredHinge, CategoricalHinge,
Sum, R2Score, FBetaScore and F1Score.

The mean-type ones average the per-sample values of the loss function of the same name (see
:mod:`rnncore._losses_more`) with Keras's sample weighting, as :class:`MeanMetricWrapper`.
"""
import numpy as np

from . import losses as _losses
from . import metrics as _metrics
from ._losses_more import _inv_norm
from .losses import squeeze_or_expand_to_same_rank
from ._config import epsilon as _eps

__all__ = ["RootMeanSquaredError", "MeanAbsolutePercentageError",
           "MeanSquaredLogarithmicError", "LogCoshError", "CosineSimilarity", "KLDivergence",
           "Poisson", "Hinge", "SquaredHinge", "CategoricalHinge", "Sum", "R2Score",
           "FBetaScore", "F1Score", "cosine_similarity"]


class _LossMean(_metrics.MeanMetricWrapper):
    """Mean of a loss function's per-sample values; inputs in the metric's dtype."""
    _fn_name = _default = None

    def __init__(self, name=None, dtype=None):
        super().__init__(getattr(_losses, self._fn_name), name=name or self._default,
                         dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None, mask=None):
        super().update_state(np.asarray(y_true, self._np_dtype), np.asarray(y_pred, self._np_dtype),
                             sample_weight, mask)


def _loss_mean(class_name, fn_name, default, doc):
    cls = type(class_name, (_LossMean,), {"_fn_name": fn_name, "_default": default,
                                          "__doc__": doc, "__module__": __name__})
    return cls


MeanAbsolutePercentageError = _loss_mean(
    "MeanAbsolutePercentageError", "mean_absolute_percentage_error",
    "mean_absolute_percentage_error", "Mean of ``100 |t - p| / max(|t|, 1e-7)``.")
MeanSquaredLogarithmicError = _loss_mean(
    "MeanSquaredLogarithmicError", "mean_squared_logarithmic_error",
    "mean_squared_logarithmic_error", "Mean of ``(log(p + 1) - log(t + 1))**2``.")
LogCoshError = _loss_mean("LogCoshError", "log_cosh", "logcosh",
                          "Mean of ``log(cosh(p - t))``.")
KLDivergence = _loss_mean("KLDivergence", "kl_divergence", "kl_divergence",
                          "Mean of ``sum(t log(t / p))``.")
Poisson = _loss_mean("Poisson", "poisson", "poisson", "Mean of ``p - t log(p + 1e-7)``.")
Hinge = _loss_mean("Hinge", "hinge", "hinge", "Mean of ``max(1 - t p, 0)``.")
SquaredHinge = _loss_mean("SquaredHinge", "squared_hinge", "squared_hinge",
                          "Mean of ``max(1 - t p, 0)**2``.")
CategoricalHinge = _loss_mean("CategoricalHinge", "categorical_hinge", "categorical_hinge",
                              "Mean of ``max(max((1 - t) p) - sum(t p) + 1, 0)``.")


def cosine_similarity(y_true, y_pred, axis=-1):
    """``sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``, per sample (Keras's
    metric function: +1 for parallel vectors)."""
    y_pred = np.asarray(y_pred)
    y_true = np.asarray(y_true, y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return np.sum((y_true * _inv_norm(y_true, axis)) * (y_pred * _inv_norm(y_pred, axis)),
                  axis=axis)


class CosineSimilarity(_metrics.MeanMetricWrapper):
    """Mean of :func:`cosine_similarity` along ``axis`` (default -1)."""

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def update_state(self, y_true, y_pred, sample_weight=None, mask=None):
        super().update_state(np.asarray(y_true, self._np_dtype), np.asarray(y_pred, self._np_dtype),
                             sample_weight, mask)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class RootMeanSquaredError(_metrics.Mean):
    """``sqrt`` of the weighted mean of ``(y_pred - y_true)**2`` over all samples seen."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = squeeze_or_expand_to_same_rank(np.asarray(y_true, self._np_dtype),
                                                        np.asarray(y_pred, self._np_dtype))
        super().update_state(np.square(y_pred - y_true), sample_weight)

    def result(self):
        return float(np.sqrt(self.total / self.count)) if self.count else 0.0


class Sum(_metrics.Metric):
    """Weighted sum of the values given to ``update_state(values, sample_weight=None)``."""

    _state = ("total",)

    def __init__(self, name="sum", dtype=None):
        super().__init__(name, dtype)
        self.reset_state()

    def reset_state(self):
        self.total = np.zeros((), self._np_dtype)

    def update_state(self, values, sample_weight=None):
        values = np.asarray(values, self._np_dtype)
        if sample_weight is not None:
            values, sw = squeeze_or_expand_to_same_rank(values,
                                                        np.asarray(sample_weight, self._np_dtype))
            if values.ndim > sw.ndim:  # each sample's values summed before the weighting
                values = values.sum(axis=tuple(range(sw.ndim, values.ndim)))
            values = values * sw
        self.total += np.sum(values, dtype=self._np_dtype)

    def result(self):
        return float(self.total)


def _check_2d(metric, t, p):
    if t.ndim != 2 or p.ndim != 2:
        raise ValueError(f"{type(metric).__name__} expects 2D inputs with shape (batch_size, "
                         f"output_dim). Received input shapes: y_pred.shape={p.shape} and "
                         f"y_true.shape={t.shape}.")


class R2Score(_metrics.Metric):
    """Coefficient of determination ``1 - SS_res / SS_tot`` per output column, then averaged.

    Parameters
    ----------
    class_aggregation : {'uniform_average', 'variance_weighted_average', None}
        How the per-column scores are combined (None: return them all).
    num_regressors : int >= 0. With p > 0 the adjusted score ``1 - (1 - R2)(n - 1) /
        (n - p - 1)``, n being the number of values seen.
    name, dtype : as :class:`Metric`.
    """

    _AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")
    _state = ("num_samples", "squared_sum", "sum", ("total_mse", "residual"), "count")

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score",
                 dtype=None):
        if class_aggregation not in self._AGGREGATIONS:
            raise ValueError("Invalid value for argument `class_aggregation`. Expected one of "
                             f"{self._AGGREGATIONS}. Received: "
                             f"class_aggregation={class_aggregation}")
        if num_regressors < 0:
            raise ValueError("Invalid value for argument `num_regressors`. Expected a value "
                             f">= 0. Received: num_regressors={num_regressors}")
        super().__init__(name, dtype)
        self.class_aggregation, self.num_regressors = class_aggregation, num_regressors
        self.reset_state()

    def reset_state(self):
        self.num_samples = np.zeros((), self._np_dtype)
        self.sum = self.squared_sum = self.total_mse = self.count = None

    def update_state(self, y_true, y_pred, sample_weight=None):
        t, p = squeeze_or_expand_to_same_rank(np.asarray(y_true, self._np_dtype),
                                              np.asarray(y_pred, self._np_dtype))
        _check_2d(self, t, p)
        if self.sum is None:
            self.sum, self.squared_sum, self.total_mse, self.count = (
                np.zeros(p.shape[-1], self._np_dtype) for _ in range(4))
        sw = np.asarray(1 if sample_weight is None else sample_weight, self._np_dtype)
        if sw.ndim == 1:
            sw = sw[:, None]
        sw = np.broadcast_to(sw, t.shape)
        weighted = t * sw
        self.sum += np.sum(weighted, axis=0)
        self.squared_sum += np.sum(t * weighted, axis=0)
        self.total_mse += np.sum((t - p) ** 2 * sw, axis=0)
        self.count += np.sum(sw, axis=0)
        self.num_samples += self._np_dtype.type(t.size)

    def result(self):
        if self.sum is None:
            return 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = self.sum / self.count
            total = self.squared_sum - self.sum * mean
            raw = self._np_dtype.type(1) - self.total_mse / total
        raw = np.where(np.isinf(raw), self._np_dtype.type(0), raw)
        if self.class_aggregation == "uniform_average":
            score = np.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            score = np.sum(total * raw) / np.sum(total)
        else:
            return raw
        n, k = float(self.num_samples), self.num_regressors
        if k and k < n - 1:
            n32, k32 = np.float32(n), np.float32(k)
            score = np.float32(1.0) - ((np.float32(1.0) - score) * (n32 - np.float32(1.0))) / (
                n32 - k32 - np.float32(1.0))
        return float(score)

    def get_config(self):
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}


class FBetaScore(_metrics.Metric):
    """F-beta score ``(1 + beta**2) P R / (beta**2 P + R)`` from the true/false positives and
    false negatives of each class, for one-hot or multi-label targets of shape
    ``(batch, classes)``.

    Parameters
    ----------
    average : {None, 'micro', 'macro', 'weighted'}
        None: one score per class; 'micro': from the counts pooled over classes; 'macro': the
        mean of the classes' scores; 'weighted': their mean weighted by each class's support.
    beta : float > 0, default 1.0.
    threshold : float in (0, 1], optional. A prediction is positive above it; without it, the
        highest (non-zero) prediction of each row is.
    name, dtype : as :class:`Metric`.
    """

    _state = ("true_positives", "false_positives", "false_negatives", "intermediate_weights")

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError("Invalid `average` argument value. Expected one of: {None, "
                             f"'micro', 'macro', 'weighted'}}. Received: average={average}")
        # Keras's two messages each: the type first, then the range
        if not isinstance(beta, float):
            raise ValueError("Invalid `beta` argument value. It should be a Python float. "
                             f"Received: beta={beta} of type '{type(beta)}'")
        if beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. "
                             f"Received: beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError("Invalid `threshold` argument value. It should be a Python "
                                 f"float. Received: threshold={threshold} of type "
                                 f"'{type(threshold)}'")
            if not 0.0 < threshold <= 1.0:
                raise ValueError("Invalid `threshold` argument value. It should verify "
                                 f"0 < threshold <= 1. Received: threshold={threshold}")
        super().__init__(name, dtype)
        self.average, self.beta, self.threshold = average, beta, threshold
        self.reset_state()

    def reset_state(self):
        self.true_positives = None

    def update_state(self, y_true, y_pred, sample_weight=None):
        dt = self._np_dtype.type
        t, p = np.asarray(y_true, self._np_dtype), np.asarray(y_pred, self._np_dtype)
        _check_2d(self, t, p)
        axis = None if self.average == "micro" else 0
        if self.true_positives is None:
            shape = () if axis is None else (p.shape[-1],)
            (self.true_positives, self.false_positives, self.false_negatives,
             self.intermediate_weights) = (np.zeros(shape, self._np_dtype) for _ in range(4))
        if self.threshold is None:
            predicted = (p >= p.max(axis=-1, keepdims=True)) & (np.abs(p) > dt(1e-9))
        else:
            predicted = p > dt(self.threshold)
        predicted = predicted.astype(self._np_dtype)
        sw = None if sample_weight is None else np.asarray(sample_weight, self._np_dtype)[:, None]

        def weighted_sum(v):
            return np.sum(v if sw is None else v * sw, axis=axis)
        self.true_positives += weighted_sum(predicted * t)
        self.false_positives += weighted_sum(predicted * (dt(1) - t))
        self.false_negatives += weighted_sum((dt(1) - predicted) * t)
        self.intermediate_weights += weighted_sum(t)

    def result(self):
        if self.true_positives is None:
            return 0.0
        dt, eps = self._np_dtype.type, self._np_dtype.type(_eps())
        tp = self.true_positives
        precision = tp / (tp + self.false_positives + eps)
        recall = tp / (tp + self.false_negatives + eps)
        beta2 = dt(self.beta ** 2)
        f = (precision * recall) / (beta2 * precision + recall + eps) * (dt(1) + beta2)
        if self.average == "weighted":
            weights = self.intermediate_weights / (np.sum(self.intermediate_weights) + eps)
            return float(np.sum(f * weights))
        if self.average is not None:
            return float(np.mean(f))
        return f

    def get_config(self):
        return {**super().get_config(), "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """:class:`FBetaScore` with ``beta=1``: the harmonic mean of precision and recall."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config
