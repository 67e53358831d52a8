"""Keras 3's correlation metrics: PearsonCorrelation and ConcordanceCorrelation, and their
functions.

Each function gives one coefficient per sample, taken along ``axis`` (by default across a
sample's outputs); the metric classes average those per-sample values over all samples seen,
as :class:`~rnncore.metrics.MeanMetricWrapper`. The functions compute in ``y_pred``'s float
dtype (``y_true`` is cast to it), as Keras's do.

    pearson_correlation       mean(z(t) z(p)),  z(v) = (v - mean(v)) / std(v)
    concordance_correlation   mean(2 (t - mean(p)) (p - mean(p))
                                   / (var(t) + var(p) + (mean(t) - mean(p))**2 + 1e-7))

The concordance numerator centres ``y_true`` on the mean of ``y_pred``, as Keras 3 writes it
(the textbook coefficient centres it on its own mean); rnncore follows Keras so that the
numbers agree.
"""
import numpy as np

from . import metrics as _metrics
from ._config import floatx
from .losses import squeeze_or_expand_to_same_rank

__all__ = ["PearsonCorrelation", "ConcordanceCorrelation", "pearson_correlation",
           "concordance_correlation"]

_EPS = 1e-7  # Keras's backend.epsilon()


def _pair(y_true, y_pred):
    y_pred = np.asarray(y_pred)
    if y_pred.dtype.kind != "f":
        y_pred = y_pred.astype(floatx())
    y_true = np.asarray(y_true, y_pred.dtype)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def pearson_correlation(y_true, y_pred, axis=-1):
    """Pearson's correlation coefficient between ``y_true`` and ``y_pred`` along ``axis``
    (default -1: one value per sample, across its outputs)."""
    t, p = _pair(y_true, y_pred)
    axis = _axis(axis)
    t = t - np.mean(t, axis=axis, keepdims=True)
    p = p - np.mean(p, axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = t / np.std(t, axis=axis, keepdims=True)
        p = p / np.std(p, axis=axis, keepdims=True)
    return np.mean(t * p, axis=axis)


def concordance_correlation(y_true, y_pred, axis=-1):
    """Lin's concordance correlation coefficient between ``y_true`` and ``y_pred`` along
    ``axis`` (default -1), in Keras 3's form (see the module notes)."""
    t, p = _pair(y_true, y_pred)
    axis = _axis(axis)
    dt = p.dtype.type
    t_mean = np.mean(t, axis=axis, keepdims=True)
    p_mean = np.mean(p, axis=axis, keepdims=True)
    t_var = np.var(t - t_mean, axis=axis, keepdims=True)
    p_var = np.var(p - p_mean, axis=axis, keepdims=True)
    covariance = (t - p_mean) * (p - p_mean)
    norm = t_var + p_var + np.square(t_mean - p_mean)
    return np.mean(dt(2) * covariance / (norm + dt(_EPS)), axis=axis)


class _Correlation(_metrics.MeanMetricWrapper):
    _fn_of = _default = None  # the per-sample function and the default name

    def __init__(self, name=None, dtype=None, axis=-1):
        super().__init__(type(self)._fn_of, name=name or self._default, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}


class PearsonCorrelation(_Correlation):
    """Mean over samples of :func:`pearson_correlation` along ``axis`` (default -1): 1 for
    predictions that rise and fall with the targets, -1 for the opposite, 0 for none.

    Parameters
    ----------
    name : str, default 'pearson_correlation'.
    dtype : the accumulators' dtype (default float32).
    axis : int or tuple of ints, default -1.

    Examples
    --------
    >>> m = PearsonCorrelation()
    >>> m.update_state([[0, 1, 0.5], [1, 1, 0.2]], [[0.1, 0.9, 0.5], [1, 0.9, 0.2]])
    >>> round(float(m.result()), 4)
    0.9967
    """
    _fn_of, _default = staticmethod(pearson_correlation), "pearson_correlation"


class ConcordanceCorrelation(_Correlation):
    """Mean over samples of :func:`concordance_correlation` along ``axis`` (default -1):
    agreement of predictions with targets, 1 when they are equal.

    Parameters
    ----------
    name : str, default 'concordance_correlation'.
    dtype : the accumulators' dtype (default float32).
    axis : int or tuple of ints, default -1.
    """
    _fn_of, _default = staticmethod(concordance_correlation), "concordance_correlation"
