"""Keras 3's intersection-over-union metrics: IoU, MeanIoU, BinaryIoU, OneHotIoU and
OneHotMeanIoU, for semantic segmentation and other multi-class labelling.

Each keeps one ``(num_classes, num_classes)`` confusion matrix, rows the true class and
columns the predicted one, summed over every label seen (all axes flattened: a whole
segmentation map counts pixel by pixel). A class's IoU is ``tp / (tp + fp + fn)``; the result
is the mean over the target classes that occurred (in the labels or the predictions), each
ratio and the mean computed in float32 with Keras's ``1e-7`` in the denominators.

As in Keras the matrix is integer (int64) by default: predictions given as floats are
truncated to class ids (``sparse_y_pred=False`` takes the arg-max instead), and so are float
sample weights, with Keras's warning. Labels or predictions outside ``[0, num_classes)`` and
labels equal to ``ignore_class`` are left out.
"""
import warnings

import numpy as np

from . import metrics as _metrics

__all__ = ["IoU", "MeanIoU", "BinaryIoU", "OneHotIoU", "OneHotMeanIoU"]

_EPS = 1e-7  # Keras's backend.epsilon()


def _check_num_classes(num_classes):
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) \
            or num_classes < 1:
        raise ValueError("Argument `num_classes` must be a positive integer. Received: "
                         f"num_classes={num_classes!r}")


class IoU(_metrics.Metric):
    """Mean intersection-over-union of the classes ``target_class_ids``.

    Parameters
    ----------
    num_classes : int, the number of classes (the confusion matrix is
        ``(num_classes, num_classes)``).
    target_class_ids : list of ints in ``[0, num_classes)``: the classes averaged.
    name : str, optional (default 'io_u', numbered as Keras numbers unnamed metrics).
    dtype : the confusion matrix's dtype (default int64, as Keras).
    ignore_class : int, optional: labels of this class are left out (e.g. a void class).
    sparse_y_true, sparse_y_pred : bool, default True: labels/predictions are class ids;
        False: one score per class along ``axis``, whose arg-max is taken.
    axis : int, default -1: the class axis of non-sparse inputs.

    Examples
    --------
    >>> m = IoU(num_classes=2, target_class_ids=[0])
    >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
    >>> round(float(m.result()), 4)   # class 0: 1 / (2 + 2 - 1)
    0.3333
    """

    _state = (("total_cm", "total_confusion_matrix"),)

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        _check_num_classes(num_classes)
        super().__init__(name=name, dtype=dtype or "int64")
        target_class_ids = list(target_class_ids)
        if max(target_class_ids) >= num_classes:
            raise ValueError(f"Target class id {max(target_class_ids)} is out of range, which "
                             f"is [0, {num_classes}).")
        self.num_classes, self.target_class_ids = num_classes, target_class_ids
        self.ignore_class, self.axis = ignore_class, axis
        self.sparse_y_true, self.sparse_y_pred = sparse_y_true, sparse_y_pred
        self.reset_state()

    def reset_state(self):
        self.total_cm = np.zeros((self.num_classes, self.num_classes), self._np_dtype)

    def _ids(self, values, sparse):
        values = np.asarray(values)
        if not sparse:
            values = np.argmax(values, axis=self.axis)
        return values.astype(self._np_dtype).reshape(-1)

    def update_state(self, y_true, y_pred, sample_weight=None):
        t = self._ids(y_true, self.sparse_y_true)
        p = self._ids(y_pred, self.sparse_y_pred)
        if t.shape != p.shape:
            raise ValueError(f"{type(self).__name__}: `y_true` and `y_pred` must hold as many "
                             f"labels; received {t.size} and {p.size} "
                             f"(y_true.shape={np.shape(y_true)}, "
                             f"y_pred.shape={np.shape(y_pred)}).")
        if sample_weight is None:
            weights = np.ones(t.shape, self._np_dtype)
        else:
            if (getattr(sample_weight, "dtype", None) is not None
                    and np.dtype(sample_weight.dtype).kind == "f"
                    and self._np_dtype.kind in "iu"):
                warnings.warn("You are passing weight as `float`, but dtype is `int`. This may "
                              "result in an incorrect weight due to type casting Consider "
                              "using integer weights.")
            weights = np.asarray(sample_weight).astype(self._np_dtype).reshape(-1)
            weights = np.broadcast_to(weights, t.shape)
        n = self.num_classes
        kept = (t >= 0) & (t < n) & (p >= 0) & (p < n)
        if self.ignore_class is not None:
            kept &= t != self.ignore_class
        cm = np.zeros((n, n), self._np_dtype)
        np.add.at(cm, (t[kept].astype(np.intp), p[kept].astype(np.intp)), weights[kept])
        self.total_cm = self.total_cm + cm

    def result(self):
        cm = self.total_cm
        true_positives = np.diag(cm)
        denominator = cm.sum(axis=0) + cm.sum(axis=1) - true_positives
        ids = np.asarray(self.target_class_ids, np.intp)
        true_positives = true_positives[ids].astype(np.float32)
        denominator = denominator[ids].astype(np.float32)
        valid = denominator > np.float32(1e-9)
        iou = np.where(valid, true_positives / (denominator + np.float32(_EPS)),
                       np.float32(0))
        mean = np.sum(iou, axis=self.axis, dtype=np.float32) / (
            np.sum(valid, dtype=np.float32) + np.float32(_EPS))
        return np.asarray(mean, np.float32)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class MeanIoU(IoU):
    """Mean intersection-over-union over all ``num_classes`` classes (those that occurred).
    Arguments as :class:`IoU`, without ``target_class_ids``."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        _check_num_classes(num_classes)
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class BinaryIoU(IoU):
    """IoU of a binary labelling: a prediction ``>= threshold`` is class 1, else class 0.

    Parameters
    ----------
    target_class_ids : list of ints in {0, 1}, default (0, 1): the classes averaged.
    threshold : float, default 0.5.
    name, dtype : as :class:`IoU`.
    """

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(2, target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None):
        # Keras compares in float32
        predicted = np.asarray(y_pred, np.float32) >= np.float32(self.threshold)
        super().update_state(y_true, predicted, sample_weight)

    def get_config(self):
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold,
                "name": self.name, "dtype": self.dtype}


class OneHotIoU(IoU):
    """:class:`IoU` for one-hot labels (their arg-max along ``axis`` is the class);
    predictions are scores per class unless ``sparse_y_pred=True``."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None,
                 ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                "name": self.name, "dtype": self.dtype, "ignore_class": self.ignore_class,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotMeanIoU(MeanIoU):
    """:class:`MeanIoU` for one-hot labels; predictions as :class:`OneHotIoU`."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}
