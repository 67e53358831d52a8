"""EinsumDense: a dense layer whose product with the kernel is any Einstein summation."""
import re

import numpy as np

from .. import activations as _activations
from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from ._arguments import ActivationAttribute
from ._base import Layer, as_float_array

_FORMS = (  # Keras's three forms: no ellipsis, an ellipsis on the left, one on the right
    (re.compile(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)"), None),
    (re.compile(r"0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)"), "left"),
    (re.compile(r"([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0"), "right"),
)


def _split_equation(equation):
    """(input, kernel, output subscripts, where the ellipsis is: None, "left" or "right")."""
    if isinstance(equation, str):
        plain = equation.replace("...", "0")
        for pattern, elided in _FORMS:
            match = pattern.match(plain)
            if match:
                return match.group(1), match.group(2), match.group(3), elided
    raise ValueError(f"Invalid einsum equation '{equation}'. Equations must be in the form "
                     "[X],[Y]->[Z], ...[X],[Y]->...[Z], or [X]...,[Y]->[Z]....")


def analyze(equation, bias_axes, input_shape, output_shape):
    """Keras's reading of an EinsumDense equation: (kernel shape, bias shape or None, full
    output shape, explicit einsum subscripts with the ellipsis spelt out)."""
    inp, ker, out, elided_side = _split_equation(equation)
    input_shape = tuple(input_shape)
    elided = len(input_shape) - len(inp)
    full = [input_shape[0]] + list(output_shape)
    if elided > 0 and elided_side == "left":
        full[1:1] = input_shape[1:elided]
    elif elided > 0:
        full += input_shape[len(input_shape) - elided:]
    shift = elided if elided_side == "left" else 0
    in_at = {c: i + (shift - len(input_shape) if elided_side == "left" else 0)
             for i, c in enumerate(inp)}
    out_at = {c: i + shift for i, c in enumerate(out)}
    for c in inp:
        if c in out_at and full[out_at[c]] is not None and \
                full[out_at[c]] != input_shape[in_at[c]]:
            raise ValueError(f"Input shape and output shape do not match at shared dimension "
                             f"'{c}'. Input shape is {input_shape[in_at[c]]}, and output shape "
                             f"is {full[out_at[c]]}.")
    for c in out:
        if c not in inp and c not in ker:
            raise ValueError(f"Dimension '{c}' was specified in the output '{out}' but has no "
                             f"corresponding dim in the input spec '{inp}' or weight spec "
                             f"'{ker}'")
    kernel_shape = []
    for c in ker:
        if c in out_at:
            kernel_shape.append(full[out_at[c]])
        elif c in in_at:
            kernel_shape.append(input_shape[in_at[c]])
        else:
            raise ValueError(f"Weight dimension '{c}' did not have a match in either the input "
                             f"spec '{inp}' or the output spec '{out}'. For this layer, the "
                             f"weight must be fully specified.")
    bias_shape = None
    if bias_axes is not None:
        for c in bias_axes:
            if c not in out:
                raise ValueError(f"Bias dimension '{c}' was requested, but is not part of the "
                                 f"output spec '{out}'")
        first = min(out.find(c) for c in bias_axes)
        bias_shape = [full[out_at[c]] if c in bias_axes else 1 for c in out[first:]]
        if elided_side != "left":
            bias_shape += [1] * max(elided, 0)
    # the ellipsis as letters the equation does not use, for NumPy's einsum and the gradients
    spare = "".join(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                    if c not in inp + ker + out)[:max(elided, 0)]
    if elided_side == "left":
        inp, out = spare + inp, spare + out
    elif elided_side == "right":
        inp, out = inp + spare, out + spare
    return kernel_shape, bias_shape, full, (inp, ker, out)


class EinsumDense(Layer):
    """``output = activation(einsum(equation, inputs, kernel) + bias)``, as Keras's
    EinsumDense.

    Parameters
    ----------
    equation : str
        ``"<inputs>,<kernel>-><outputs>"``, e.g. ``"abc,cd->abd"`` (a Dense over the last axis
        of (batch, steps, features)); one ``...`` may stand for axes at the left or the right of
        the inputs and outputs.
    output_shape : int or tuple
        The output's shape without the batch axis (and without the ellipsis' axes); ``None``
        for an axis taken from the inputs.
    bias_axes : str or None
        The output letters that get a bias (None: no bias).
    activation, kernel_*/bias_* initializers, regularizers, constraints : as Dense's.

    Weights: ``kernel`` (shape from the equation), ``bias`` (the bias axes' sizes, 1 on the
    output axes between them). LoRA and quantization are not supported.

    >>> EinsumDense("abc,cd->abd", (None, 16), bias_axes="d")(np.ones((2, 6, 8))).shape
    (2, 6, 16)
    """

    activation = ActivationAttribute()

    def __init__(self, equation, output_shape, activation=None, bias_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        for argument, value in (("lora_rank", lora_rank), ("lora_alpha", lora_alpha),
                                ("quantization_config", quantization_config)):
            if value is not None:
                raise NotImplementedError(f"EinsumDense: {argument} is not supported by "
                                          f"rnncore. Received: {argument}={value!r}")
        _split_equation(equation)
        given = output_shape
        if isinstance(output_shape, str):
            output_shape = None
        elif isinstance(output_shape, int) and not isinstance(output_shape, bool):
            output_shape = (output_shape,)
        try:
            output_shape = tuple(output_shape)
        except TypeError:
            output_shape = None
        if output_shape is None or not all(
                d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool)
                              and d > 0) for d in output_shape):
            raise ValueError(f"EinsumDense: output_shape must be an int or a tuple of positive "
                             f"ints and None. Received: output_shape={given!r}")
        if bias_axes is not None and not isinstance(bias_axes, str):
            raise ValueError(f"EinsumDense: bias_axes must be a string of output letters or "
                             f"None. Received: bias_axes={bias_axes!r}")
        self.equation = equation
        self.partial_output_shape = tuple(None if d is None else int(d) for d in output_shape)
        self.bias_axes = bias_axes
        self.activation = _activations._resolve(activation)
        self._weight_options(
            kernel=(kernel_initializer, kernel_regularizer, kernel_constraint),
            bias=(bias_initializer, bias_regularizer, bias_constraint))
        self.kernel = self.bias = None
        self._cache = None

    def build(self, input_shape):
        kernel_shape, bias_shape, _, subscripts = analyze(
            self.equation, self.bias_axes, input_shape, self.partial_output_shape)
        self._ndim, self._subscripts = len(input_shape), subscripts
        self.kernel = self.add_weight(tuple(kernel_shape), self._kernel_init(subscripts),
                                      "kernel")
        self.bias = (self.add_weight(tuple(bias_shape), self.bias_initializer, "bias")
                     if bias_shape is not None else None)
        self.built = True

    def _kernel_init(self, subscripts):
        """Keras's fans for a kernel of several axes: fan-in the product of the axes the
        inputs share, fan-out that of the output's (a glorot/he/lecun draw is i.i.d., so it is
        made on the (fan_in, fan_out) matrix and laid out in the kernel's shape)."""
        init = self.kernel_initializer
        if not isinstance(init, _initializers.VarianceScaling):
            return init
        _, ker, out = subscripts
        return lambda shape, dtype="float32": init(
            (int(np.prod([n for c, n in zip(ker, shape) if c not in out])),
             int(np.prod([n for c, n in zip(ker, shape) if c in out]))), dtype).reshape(shape)

    def compute_output_shape(self, input_shape):
        return tuple(analyze(self.equation, self.bias_axes, input_shape,
                             self.partial_output_shape)[2])

    def check_input(self, x):
        x = as_float_array(x, "inputs", self.dtype)
        if self.built and x.ndim != self._ndim:
            raise ValueError(f"Input 0 of layer {self.name!r} is incompatible with the layer: "
                             f"expected ndim={self._ndim}, found ndim={x.ndim}. Full shape "
                             f"received: {x.shape}")
        return x

    def check_input_shape(self, input_shape):
        super().check_input_shape(input_shape)
        if self.built and len(input_shape) != self._ndim:
            raise ValueError(f"Input 0 of layer {self.name!r} is incompatible with the layer: "
                             f"expected ndim={self._ndim}, found ndim={len(input_shape)}. Full "
                             f"shape received: {tuple(input_shape)}")

    def forward(self, inputs, training=False, mask=None):
        inp, ker, out = self._subscripts
        try:
            z = np.einsum(f"{inp},{ker}->{out}", inputs, self.kernel.value)
        except ValueError as exc:
            raise ValueError(f"EinsumDense {self.name!r}: inputs of shape {inputs.shape} do not "
                             f"fit the equation {self.equation!r} and the kernel of shape "
                             f"{self.kernel.shape} ({exc})") from None
        if self.bias is not None:
            z = z + self.bias.value
        y = z if self.activation == "linear" else _activations.forward(self.activation, z)
        self._cache = (inputs, z, y)
        return y.astype(inputs.dtype, copy=False)

    def backward(self, d_outputs):
        inputs, z, y = self._cache
        dz = (d_outputs if self.activation == "linear"
              else _activations.backward(self.activation, z, y, d_outputs))
        inp, ker, out = self._subscripts
        if self.trainable:
            # every kernel letter is an input or an output letter (Keras's rule)
            self.kernel.grad = np.einsum(f"{out},{inp}->{ker}", dz, inputs)
            if self.bias is not None:
                lead = dz.ndim - self.bias.value.ndim
                db = dz.sum(axis=tuple(range(lead)))
                ones = tuple(i for i, n in enumerate(self.bias.shape) if n == 1)
                self.bias.grad = db.sum(axis=ones, keepdims=True)
        # an input letter in neither the kernel nor the output was summed in the input
        # alone: its gradient is the same along that axis
        kept = "".join(c for c in inp if c in ker or c in out)
        dx = np.einsum(f"{out},{ker}->{kept}", dz, self.kernel.value)
        if kept != inp:
            dx = np.broadcast_to(np.expand_dims(dx, tuple(i for i, c in enumerate(inp)
                                                          if c not in kept)), inputs.shape)
        return np.ascontiguousarray(dx, dtype=inputs.dtype)

    def get_config(self):
        config = super().get_config()
        config.update({
            "output_shape": list(self.partial_output_shape), "equation": self.equation,
            "activation": _activations.serialize(self.activation),
            "bias_axes": self.bias_axes,
            "kernel_initializer": _initializers.serialize(self.kernel_initializer),
            "bias_initializer": _initializers.serialize(self.bias_initializer),
            "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": _regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": _constraints.serialize(self.kernel_constraint),
            "bias_constraint": _constraints.serialize(self.bias_constraint),
            "quantization_config": None})
        return config
