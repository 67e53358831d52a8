"""Lambda: a function of the inputs used as a layer (Keras's ``Lambda``)."""
import sys

import numpy as np

from ..ops._tape import Tensor, backward as replay, recording, value_of
from ._base import Layer


def _tensorflow():
    """TensorFlow if the program already imported it (a Lambda written with ``tf.`` ops)."""
    return sys.modules.get("tensorflow")


class Lambda(Layer):
    """Wraps ``function(inputs, **arguments)`` as a layer.

    Keras programs write these with TensorFlow ops, e.g. seed 000's
    ``Lambda(lambda x: tf.math.reduce_mean(x, axis=1))``. When the program has imported
    TensorFlow, rnncore runs the function under ``tf.GradientTape`` and takes its gradient from
    TensorFlow, so such a model trains unchanged. A function written with ``rnncore.ops``
    (or NumPy's ufuncs and ``np.mean``/``np.sum``) is recorded during training and
    differentiated like a custom layer's ``call``; other NumPy code works for inference, and
    training through it raises (a built-in layer, e.g. ``GlobalAveragePooling1D`` for a mean
    over time, is faster anyway).

    Parameters
    ----------
    function : callable of the inputs (batch, ...).
    output_shape : optional output shape without the batch dimension, or (as in Keras) a
        function of the input shape (batch included) that returns the output shape (batch
        included); by default it is found by calling the function on a small array of zeros.
    arguments : optional dict of keyword arguments for ``function``.
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise ValueError(f"function must be callable, got {function!r}")
        if mask is not None:
            raise ValueError("Lambda(mask=...) is not supported by rnncore yet; expected None")
        self.function = function
        if output_shape is None or callable(output_shape):
            self.output_shape_arg = output_shape
        else:
            try:
                self.output_shape_arg = tuple(output_shape)
            except TypeError:
                raise TypeError(f"Lambda: output_shape must be a tuple, a list or a function of "
                                f"the input shape. Received: output_shape={output_shape!r}") \
                    from None
        self.arguments = dict(arguments or {})
        self._tape = None

    def _run_tf(self, inputs):
        """(tape, x, y) when the function runs on TensorFlow tensors, else None."""
        tf = _tensorflow()
        if tf is None:
            return None
        x = tf.convert_to_tensor(inputs)
        try:
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = self.function(x, **self.arguments)
        except Exception:  # a NumPy function: it runs on arrays below
            return None
        return (tape, x, y) if isinstance(y, tf.Tensor) else None

    def compute_output_shape(self, input_shape):
        if callable(self.output_shape_arg):
            return tuple(self.output_shape_arg(tuple(input_shape)))
        if self.output_shape_arg is not None:
            return (input_shape[0],) + self.output_shape_arg
        probe = np.zeros([2 if d is None else d for d in input_shape], dtype=self.dtype)
        y = self.forward(probe)
        return (input_shape[0],) + tuple(y.shape[1:])

    def forward(self, inputs, training=False, mask=None):
        run = self._run_tf(inputs)
        if run is not None:
            self._tape, self._x, self._y = run
            return np.asarray(self._y.numpy(), dtype=self.dtype)
        self._tape = None
        if not training:
            return np.asarray(self.function(inputs, **self.arguments), dtype=self.dtype)
        # a function of rnncore.ops (or of NumPy's ufuncs): its ops are recorded
        with recording(True):
            leaf = Tensor(np.asarray(inputs))
            y = self.function(leaf, **self.arguments)
        self._record = (leaf, y) if isinstance(y, Tensor) else None
        return np.asarray(value_of(y), dtype=self.dtype)

    def backward(self, d_outputs):
        if self._tape is None and self._record is not None:
            leaf, y = self._record
            self._record = None
            g = replay([y], [np.asarray(d_outputs, y.dtype)]).of(leaf)
            return np.zeros_like(leaf.value) if g is None else np.asarray(g, self.dtype)
        if self._tape is None:
            raise ValueError(
                f"Lambda layer {self.name!r}: its function computed with NumPy, so rnncore cannot "
                "differentiate it. Write it with rnncore.ops or TensorFlow ops (import "
                "tensorflow first) or use "
                "a built-in layer (e.g. GlobalAveragePooling1D for a mean over time).")
        tf = _tensorflow()
        grad = self._tape.gradient(self._y, self._x,
                                   output_gradients=tf.convert_to_tensor(d_outputs))
        self._tape = None
        if grad is None:
            return np.zeros(self._x.shape, dtype=self.dtype)
        return np.asarray(grad.numpy(), dtype=self.dtype)

    def get_config(self):
        raise ValueError(f"Lambda layer {self.name!r} holds Python code, and rnncore's file format "
                         "never stores code: save the weights (save_weights) instead, or use a "
                         "built-in layer")
