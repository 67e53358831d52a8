"""ActivityRegularization: the identity, adding an L1/L2 penalty of its inputs to the loss."""
from .. import regularizers as _regularizers
from ._base import Layer


class ActivityRegularization(Layer):
    """Returns its inputs unchanged and adds ``l1 · sum(|x|) + l2 · sum(x²)`` of them, divided
    by the batch size, to the training loss (Keras's ``activity_regularizer`` of an
    ``L1L2(l1, l2)``); the mask passes through.

    Parameters
    ----------
    l1, l2 : float >= 0, the penalties' factors.

    >>> layer = ActivityRegularization(l1=0.01)
    >>> layer(np.ones((2, 3), "float32")).shape
    (2, 3)
    """

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        if "activity_regularizer" in kwargs:
            raise TypeError("ActivityRegularization takes l1 and l2, not activity_regularizer. "
                            f"Received: activity_regularizer={kwargs['activity_regularizer']!r}")
        regularizer = _regularizers.L1L2(l1=l1, l2=l2)
        super().__init__(activity_regularizer=regularizer, **kwargs)
        self.l1, self.l2 = regularizer.l1, regularizer.l2
        self.supports_masking = True
        self.built = True

    def compute_output_shape(self, input_shape):
        return input_shape

    def forward(self, inputs, training=False, mask=None):
        return inputs

    def backward(self, d_outputs):
        return d_outputs

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer", None)
        config.update({"l1": self.l1, "l2": self.l2})
        return config
