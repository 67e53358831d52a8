"""Keras 3's confusion-count metrics: TruePositives, FalsePositives, TrueNegatives,
FalseNegatives, Precision, Recall, and the constrained ones (SensitivityAtSpecificity,
SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision).

All count with :func:`rnncore._confusion.confusion_counts`.
"""
import numpy as np

from . import metrics as _metrics
from ._confusion import NEG_INF, confusion_counts, evenly_spaced, parse_thresholds

__all__ = ["TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives", "Precision",
           "Recall", "SensitivityAtSpecificity", "SpecificityAtSensitivity",
           "PrecisionAtRecall", "RecallAtPrecision"]


def _ratio(a, b):
    """``a / (a + b)``, 0 where ``a + b`` is 0 (Keras's divide_no_nan)."""
    total = a + b
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total != 0, a / np.where(total != 0, total, 1), 0).astype(a.dtype)


def _one_or_all(values, thresholds):
    return float(values[0]) if len(thresholds) == 1 else values


class _ConfusionMetric(_metrics.Metric):
    """Counts kept in ``self._state`` (one value per threshold), updated together."""

    _top_k = _class_id = None

    def _setup(self, thresholds):
        self.thresholds = thresholds
        self._evenly = evenly_spaced(thresholds)
        self.reset_state()

    def reset_state(self):
        for count in self._state:
            setattr(self, count, np.zeros(len(self.thresholds), self._np_dtype))

    def update_state(self, y_true, y_pred, sample_weight=None):
        counts = confusion_counts(y_true, y_pred, self.thresholds, self._np_dtype, self._state,
                                  sample_weight=sample_weight, top_k=self._top_k,
                                  class_id=self._class_id, evenly=self._evenly)
        for count, value in counts.items():
            getattr(self, count)[...] += value


class _ConditionCount(_ConfusionMetric):
    """Weighted number of outputs in one cell of the confusion matrix, at each threshold.

    Parameters
    ----------
    thresholds : float or list of floats in [0, 1], default 0.5: an output is predicted
        positive when ``> threshold``; a list gives one count each.
    name, dtype : as :class:`Metric`.
    """

    _state = ("accumulator",)
    _cell = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name, dtype)
        self.init_thresholds = thresholds
        self._setup(parse_thresholds(thresholds, 0.5))

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.accumulator += confusion_counts(
            y_true, y_pred, self.thresholds, self._np_dtype, (self._cell,),
            sample_weight=sample_weight, evenly=self._evenly)[self._cell]

    def result(self):
        return _one_or_all(self.accumulator, self.thresholds)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


def _condition_count(class_name, cell, doc):
    return type(class_name, (_ConditionCount,), {"_cell": cell, "__module__": __name__,
                                                 "__doc__": doc + _ConditionCount.__doc__[
                                                     _ConditionCount.__doc__.index("\n"):]})


TruePositives = _condition_count("TruePositives", "true_positives",
                                 "Weighted number of positive labels predicted positive.")
FalsePositives = _condition_count("FalsePositives", "false_positives",
                                  "Weighted number of negative labels predicted positive.")
TrueNegatives = _condition_count("TrueNegatives", "true_negatives",
                                 "Weighted number of negative labels predicted negative.")
FalseNegatives = _condition_count("FalseNegatives", "false_negatives",
                                  "Weighted number of positive labels predicted negative.")


class Precision(_ConfusionMetric):
    """``true_positives / (true_positives + false_positives)`` over all outputs seen.

    Parameters
    ----------
    thresholds : float or list of floats in [0, 1]: an output counts as positive when
        ``> threshold``; a list gives one result each. Default 0.5, or, with ``top_k``, any
        output among the top k.
    top_k : int, optional: only the ``top_k`` highest outputs of each row count as positive.
    class_id : int, optional: only this output column is scored.
    name, dtype : as :class:`Metric`.

    Examples
    --------
    >>> m = Precision(top_k=1)
    >>> m.update_state([[0, 0, 1, 1]], [[1, 1, 0.9, 0.8]])
    >>> m.result()
    0.0
    """

    _state = ("true_positives", "false_positives")

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name, dtype)
        if top_k is not None and (not isinstance(top_k, (int, np.integer))
                                  or isinstance(top_k, bool) or top_k < 1):
            raise ValueError(f"Argument `top_k` must be a positive integer. "
                             f"Received: top_k={top_k!r}")
        if class_id is not None and (not isinstance(class_id, (int, np.integer))
                                     or isinstance(class_id, bool)):
            raise ValueError(f"Argument `class_id` must be an integer. "
                             f"Received: class_id={class_id!r}")
        self.init_thresholds, self.top_k, self.class_id = thresholds, top_k, class_id
        self._top_k, self._class_id = top_k, class_id
        self._setup(parse_thresholds(thresholds, 0.5 if top_k is None else NEG_INF))

    def result(self):
        return _one_or_all(_ratio(*(getattr(self, c) for c in self._state)), self.thresholds)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Recall(Precision):
    """``true_positives / (true_positives + false_negatives)``; arguments as
    :class:`Precision`."""

    _state = ("true_positives", "false_negatives")


class _AtConstraint(_ConfusionMetric):
    """Best value of one rate among the thresholds where another reaches ``value``;
    ``num_thresholds`` evenly spaced in [0, 1] (0.5 alone when 1)."""

    _state = ("true_positives", "false_positives", "true_negatives", "false_negatives")
    _arg = None  # the constraint's argument name

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        if value < 0 or value > 1:
            raise ValueError(f"Argument `{self._arg}` must be in the range [0, 1]. "
                             f"Received: {self._arg}={value}")
        if num_thresholds <= 0:
            raise ValueError("Argument `num_thresholds` must be an integer > 0. "
                             f"Received: num_thresholds={num_thresholds}")
        super().__init__(name, dtype)
        setattr(self, self._arg, value)
        self.value, self.num_thresholds, self.class_id = value, num_thresholds, class_id
        self._class_id = class_id
        if num_thresholds == 1:
            thresholds = [0.5]
        else:
            thresholds = [0.0] + [(i + 1) * 1.0 / (num_thresholds - 1)
                                  for i in range(num_thresholds - 2)] + [1.0]
        self._setup(thresholds)

    def _rates(self):
        tp, fp = self.true_positives, self.false_positives
        tn, fn = self.true_negatives, self.false_negatives
        return {"sensitivity": _ratio(tp, fn), "recall": _ratio(tp, fn),
                "specificity": _ratio(tn, fp), "precision": _ratio(tp, fp)}

    def result(self):
        rates = self._rates()
        feasible = rates[self._arg] >= self.value
        return float(np.max(np.where(feasible, rates[self._reported], 0), initial=0))

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id,
                "num_thresholds": self.num_thresholds, self._arg: self.value}


_AT_PARAMETERS = """

    Parameters
    ----------
    {arg} : float in [0, 1]: the {arg} to reach.
    num_thresholds : int > 0, default 200: thresholds evenly spaced in [0, 1].
    class_id : int, optional: only this output column is scored.
    name, dtype : as :class:`Metric`.
    """


class SensitivityAtSpecificity(_AtConstraint):
    __doc__ = ("Best sensitivity (recall) over the thresholds whose specificity is >= "
               "``specificity``." + _AT_PARAMETERS.format(arg="specificity"))
    _arg, _reported = "specificity", "sensitivity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)


class SpecificityAtSensitivity(_AtConstraint):
    __doc__ = ("Best specificity over the thresholds whose sensitivity is >= ``sensitivity``."
               + _AT_PARAMETERS.format(arg="sensitivity"))
    _arg, _reported = "sensitivity", "specificity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)


class PrecisionAtRecall(_AtConstraint):
    __doc__ = ("Best precision over the thresholds whose recall is >= ``recall``."
               + _AT_PARAMETERS.format(arg="recall"))
    _arg, _reported = "recall", "precision"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)


class RecallAtPrecision(_AtConstraint):
    __doc__ = ("Best recall over the thresholds whose precision is >= ``precision``."
               + _AT_PARAMETERS.format(arg="precision"))
    _arg, _reported = "precision", "recall"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)
