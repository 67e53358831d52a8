"""A Python float that also answers as the 0-d tensor Keras returns from an eager call."""
import numpy as np


class EagerScalar(float):
    """The value of an eager loss call (``keras.losses.MeanSquaredError()(y, p)``) or of a
    metric's ``result()``: a float everywhere a float goes (formatting, arithmetic, JSON),
    with the ``.numpy()``, ``.dtype`` and ``.shape`` of the scalar tensor Keras returns, so
    the tutorials' ``loss.numpy()`` and ``metric.result().numpy()`` work.

    >>> v = EagerScalar(0.25, np.float32)
    >>> v.numpy(), v + 1
    (np.float32(0.25), 1.25)
    """

    def __new__(cls, value, dtype=np.float32):
        scalar = super().__new__(cls, value)
        scalar._dtype = np.dtype(dtype)
        return scalar

    @property
    def dtype(self):
        return self._dtype

    @property
    def shape(self):
        return ()

    def numpy(self):
        return self._dtype.type(self)

    def __reduce__(self):
        return EagerScalar, (float(self), self._dtype)
