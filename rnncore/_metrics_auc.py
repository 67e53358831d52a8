"""Keras 3's ``AUC`` metric: area under the ROC or precision-recall curve, from confusion
counts accumulated at fixed thresholds."""
import numpy as np
from scipy import special

from . import metrics as _metrics
from ._confusion import confusion_counts, evenly_spaced
from ._config import epsilon as _eps

__all__ = ["AUC"]

_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = ("interpolation", "minoring", "majoring")


def _divide_no_nan(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, a / np.where(b != 0, b, 1), 0).astype(a.dtype)


class AUC(_metrics.Metric):
    """Approximate area under a curve, from true/false positive/negative counts at
    ``num_thresholds`` thresholds (a prediction counts as positive above a threshold).

    Parameters
    ----------
    num_thresholds : int > 1, default 200: evenly spaced in [0, 1], plus one just below 0 and
        one just above 1.
    curve : {'ROC', 'PR', 'PRGAIN'}, default 'ROC'.
    summation_method : {'interpolation', 'minoring', 'majoring'}. 'interpolation' is the
        trapezoid rule for ROC and Davis & Goadrich's interpolation of precision for PR.
    name, dtype : as :class:`Metric`.
    thresholds : list of floats in [0, 1], optional, in place of ``num_thresholds``.
    multi_label : bool, default False. True: one curve per column of a ``(batch, labels)``
        output, the areas averaged (weighted by ``label_weights``); False: every output value
        is one more binary prediction.
    num_labels : int, optional (``multi_label`` only).
    label_weights : list of floats, optional: per-label weights.
    from_logits : bool, default False: apply a sigmoid to the predictions first.

    Examples
    --------
    >>> m = AUC(num_thresholds=3)
    >>> m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    >>> m.result()
    0.75
    """

    _state = ("true_positives", "false_positives", "true_negatives", "false_negatives")

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        # Keras's words (its AUCCurve.from_str / AUCSummationMethod.from_str)
        if str(curve).lower() not in _CURVES:
            raise ValueError(f'Invalid AUC curve value: "{curve}". '
                             'Expected values are ["PR", "ROC", "PRGAIN"]')
        if str(summation_method).lower() not in _SUMMATIONS:
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}". '
                             'Expected values are ["interpolation", "majoring", "minoring"]')
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(thresholds)
            self.num_thresholds = len(inner) + 2
        else:
            if num_thresholds <= 1:
                raise ValueError("Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds}")
            self.num_thresholds = num_thresholds
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self._thresholds = np.array([0.0 - _eps()] + inner + [1.0 + _eps()])
        self._evenly = evenly_spaced([0.0] + inner + [1.0])
        self.curve = _CURVES[str(curve).lower()]
        self.summation_method = str(summation_method).lower()
        super().__init__(name, dtype)
        self.multi_label, self.num_labels = multi_label, num_labels
        self._num_labels = num_labels  # known from the first batch when not given
        if num_labels and not multi_label:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        self.label_weights = (None if label_weights is None
                              else np.asarray(label_weights, self._np_dtype))
        self._from_logits = from_logits
        self.reset_state()

    @property
    def thresholds(self):
        return list(self._thresholds)

    def reset_state(self):
        shape = (self.num_thresholds,) if not self.multi_label else (
            (self.num_thresholds, self._num_labels) if self._num_labels else None)
        counts = ("true_positives", "false_positives", "true_negatives", "false_negatives")
        for count in counts:
            setattr(self, count, None if shape is None else np.zeros(shape, self._np_dtype))

    def update_state(self, y_true, y_pred, sample_weight=None):
        p = np.asarray(y_pred, self._np_dtype)
        if self._from_logits:
            p = special.expit(p).astype(self._np_dtype)
        if self.multi_label:
            if p.ndim != 2:
                raise ValueError("`y_pred` must have rank 2 when `multi_label=True`. Found rank "
                                 f"{p.ndim}. Full shape received for `y_pred`: {p.shape}")
            if self.true_positives is None:
                self._num_labels = p.shape[1]
                self.reset_state()
        counts = confusion_counts(y_true, p, self._thresholds, self._np_dtype,
                                  sample_weight=sample_weight, multi_label=self.multi_label,
                                  label_weights=None if self.multi_label else self.label_weights,
                                  evenly=self._evenly)
        for count, value in counts.items():
            getattr(self, count)[...] += value

    def _average(self, by_threshold):
        if not self.multi_label:
            return float(np.sum(by_threshold))
        by_label = np.sum(by_threshold, axis=0)
        if self.label_weights is None:
            return float(np.mean(by_label))
        return float(_divide_no_nan(np.sum(by_label * self.label_weights),
                                    np.sum(self.label_weights)))

    def _interpolate_pr_auc(self):
        # Davis & Goadrich: precision interpolated along the curve between thresholds
        tp, n = self.true_positives, self.num_thresholds
        dtp = tp[:n - 1] - tp[1:]
        p = tp + self.false_positives
        dp = p[:n - 1] - p[1:]
        slope = _divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        ratio = np.where((p[:n - 1] > 0) & (p[1:] > 0),
                         _divide_no_nan(p[:n - 1], np.maximum(p[1:], 0)), np.ones_like(p[1:]))
        with np.errstate(divide="ignore"):
            log_ratio = np.log(ratio)
        increment = _divide_no_nan(slope * (dtp + intercept * log_ratio),
                                   np.maximum(tp[1:] + self.false_negatives[1:], 0))
        return self._average(increment)

    def result(self):
        if self.true_positives is None:
            return 0.0
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc()
        dt = self._np_dtype.type
        tp, fp = self.true_positives, self.false_positives
        tn, fn = self.true_negatives, self.false_negatives
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, _divide_no_nan(tp, tp + fp)
        else:
            scale = _divide_no_nan(tp + fn, tn + fp)
            recall_gain = dt(1.0) - scale * _divide_no_nan(fn, tp)
            precision_gain = dt(1.0) - scale * _divide_no_nan(fp, tp)
            x = np.maximum(np.where(tp == 0, dt(0), recall_gain), dt(0))
            y = np.where(tp == 0, dt(1), precision_gain)
        n = self.num_thresholds
        if self.summation_method == "interpolation":
            heights = (y[:n - 1] + y[1:]) / dt(2.0)
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:n - 1], y[1:])
        else:
            heights = np.maximum(y[:n - 1], y[1:])
        return self._average((x[:n - 1] - x[1:]) * heights)

    def get_config(self):
        config = {**super().get_config(), "num_thresholds": self.num_thresholds,
                  "curve": self.curve, "summation_method": self.summation_method,
                  "multi_label": self.multi_label, "num_labels": self.num_labels,
                  "label_weights": None if self.label_weights is None
                  else self.label_weights.tolist(),
                  "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config
