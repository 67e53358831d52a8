"""Thresholded confusion counts: the one place where rnncore's Precision, Recall, the
true/false positive/negative counters, the ``...At...`` metrics and AUC count predictions.

An output counts as predicted positive when it is ``> threshold``; a label counts as positive
when it is non-zero. Counts are weighted by ``sample_weight`` (broadcast to the predictions).
"""
import numpy as np

from ._config import epsilon as _eps
from .losses import squeeze_or_expand_to_same_rank

__all__ = ["NEG_INF", "confusion_counts", "parse_thresholds", "evenly_spaced"]

NEG_INF = -1e10  # Keras's threshold when only the top-k outputs may count as positive
KINDS = ("true_positives", "false_positives", "true_negatives", "false_negatives")


def parse_thresholds(thresholds, default):
    """``thresholds`` as a list (``default`` when None), each checked to lie in [0, 1]."""
    if thresholds is None:
        return [default]
    listed = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) \
        else [thresholds]
    bad = [t for t in listed if t is None or not 0 <= t <= 1]
    if bad:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad}")
    return listed


def evenly_spaced(thresholds):
    """True when ``thresholds`` are ``i / (n - 1)`` for n >= 3 (within 1e-7): Keras then
    counts by buckets, which also clips predictions to [0, 1]."""
    n = len(thresholds)
    return n >= 3 and np.allclose(thresholds, np.arange(n, dtype=np.float32) / (n - 1),
                                  atol=_eps())


def _top_k_only(y_pred, k):
    # the k highest outputs of each row keep their value, the others drop to NEG_INF (ties
    # go to the lower index, as tf.math.top_k)
    order = np.argsort(-y_pred, axis=-1, kind="stable")[..., :k]
    keep = np.zeros(y_pred.shape, bool)
    np.put_along_axis(keep, order, True, axis=-1)
    return np.where(keep, y_pred, y_pred.dtype.type(NEG_INF))


def confusion_counts(y_true, y_pred, thresholds, dtype, kinds=KINDS, sample_weight=None,
                     top_k=None, class_id=None, multi_label=False, label_weights=None,
                     evenly=False):
    """Weighted confusion counts at each threshold.

    Parameters
    ----------
    y_true, y_pred : array-like of the same shape (up to a trailing axis of size 1).
    thresholds : sequence of floats (sorted when ``evenly``).
    dtype : the counts' dtype (the metric's).
    kinds : names among ``true_positives``, ``false_positives``, ``true_negatives``,
        ``false_negatives``.
    sample_weight : array-like broadcastable to ``y_pred``, optional.
    top_k : int, optional: only the ``top_k`` highest outputs of a row may be positive.
    class_id : int, optional: only this column of ``(batch, classes)`` outputs is scored.
    multi_label : bool: counts per column, shape ``(thresholds, columns)``; otherwise every
        output is one more prediction and counts have shape ``(thresholds,)``.
    label_weights : per-column weights (not with ``multi_label``).
    evenly : bool: thresholds are evenly spaced over [0, 1] (see :func:`evenly_spaced`);
        Keras's bucket counting, which clips predictions to [0, 1].

    Returns
    -------
    dict: kind -> ndarray of ``dtype``.
    """
    dt = np.dtype(dtype).type
    p = np.asarray(y_pred, dtype)
    t = np.asarray(y_true, dtype)
    p, t = squeeze_or_expand_to_same_rank(p, t)
    sw = None
    if sample_weight is not None:
        sw = np.expand_dims(np.asarray(sample_weight, dtype), -1)
        _, sw = squeeze_or_expand_to_same_rank(t, sw, expand_rank_1=False)
    if top_k is not None:
        p = _top_k_only(p, top_k)
    if class_id is not None:
        if p.ndim == 1:
            raise ValueError("When class_id is provided, y_pred must be a 2D array with shape "
                             f"(num_samples, num_classes), found shape: {p.shape}")
        if not -p.shape[-1] <= class_id < p.shape[-1]:
            raise ValueError(f"class_id={class_id} is out of range for y_pred with "
                             f"{p.shape[-1]} classes (shape {p.shape})")
        t, p = t[..., class_id, None], p[..., class_id, None]
    weights = np.ones(p.shape, dtype) if sw is None else np.broadcast_to(sw, p.shape)
    if label_weights is not None and not multi_label:
        weights = weights * np.broadcast_to(np.asarray(label_weights, dtype), p.shape)
    label = t != 0
    if not multi_label:
        p, label, weights = p.reshape(-1), label.reshape(-1), weights.reshape(-1)
    positive = np.where(label, weights, dt(0))
    negative = np.where(label, dt(0), weights)
    thresholds = np.asarray(thresholds, dtype)
    n = len(thresholds)
    if evenly:
        # bucket b holds predictions in (thresholds[b], thresholds[b + 1]]; a prediction is
        # above every threshold below its bucket's top
        with_eps = thresholds[0] < 0 or thresholds[-1] > 1
        bucket = np.ceil(np.clip(p, dt(0), dt(1)) * dt(n - 1)) - dt(1)
        if with_eps:
            bucket = np.maximum(bucket, dt(0))
        bucket = bucket.astype(np.int64)

        def above(values):
            out = np.zeros((n,) + values.shape[1:], dtype)
            kept = bucket >= 0
            np.add.at(out, (bucket[kept],) + tuple(
                np.nonzero(kept)[1:]), values[kept])
            return np.flip(np.cumsum(np.flip(out, 0), axis=0, dtype=dtype), 0)
        tp, fp = above(positive), above(negative)
    else:
        is_above = p[None] > thresholds.reshape((-1,) + (1,) * p.ndim)
        tp = np.sum(np.where(is_above, positive, dt(0)), axis=1, dtype=dtype)
        fp = np.sum(np.where(is_above, negative, dt(0)), axis=1, dtype=dtype)
        if "false_negatives" in kinds:
            fn = np.sum(np.where(is_above, dt(0), positive), axis=1, dtype=dtype)
        if "true_negatives" in kinds:
            tn = np.sum(np.where(is_above, dt(0), negative), axis=1, dtype=dtype)
    counts = {"true_positives": tp, "false_positives": fp}
    if "false_negatives" in kinds:
        counts["false_negatives"] = fn if not evenly else (
            np.sum(positive, axis=0, dtype=dtype) - tp)
    if "true_negatives" in kinds:
        counts["true_negatives"] = tn if not evenly else (
            np.sum(negative, axis=0, dtype=dtype) - fp)
    return {kind: counts[kind].astype(dtype, copy=False) for kind in kinds}
