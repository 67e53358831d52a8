"""Keras's ``InputSpec``: what a layer accepts as its first argument (rank, per-axis sizes,
full shape, dtype), checked with Keras's error messages each time the layer is called when
the layer sets ``self.input_spec`` (a spec, or a list of specs for several inputs)."""
from .. import tree
from .._dtypes import standardize_dtype


class InputSpec:
    """The rank, dtype and shape a layer's input must have.

    Parameters
    ----------
    dtype : the input's dtype, or None.
    shape : the full shape, batch dimension included (None: any size on that axis); it also
        fixes ``ndim``.
    ndim, max_ndim, min_ndim : int, the rank, exactly or as a bound.
    axes : dict ``{axis: size}``, sizes some axes must have (``{-1: 8}``: 8 features).
    allow_last_axis_squeeze : bool, a trailing axis of size 1 may be missing or extra.
    name : the key of this input when inputs come as a dict.
    optional : bool, the input may be None.

    >>> class Scale(keras.layers.Layer):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.input_spec = keras.InputSpec(ndim=3, axes={-1: 4})
    """

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None,
                 axes=None, allow_last_axis_squeeze=False, name=None, optional=False):
        self.dtype = standardize_dtype(dtype) if dtype is not None else None
        if shape is not None:
            self.shape = tuple(None if d is None else int(d) for d in shape)
            self.ndim = len(self.shape)
        else:
            self.shape, self.ndim = None, ndim
        self.max_ndim, self.min_ndim = max_ndim, min_ndim
        self.name, self.optional = name, optional
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        try:
            axes = axes or {}
            self.axes = {int(k): axes[k] for k in axes}
        except (ValueError, TypeError):
            raise TypeError("Argument `axes` must be a dict with integer keys. "
                            f"Received: axes={axes}") from None
        rank = self.ndim or self.max_ndim
        if self.axes and rank is not None and max(self.axes) > rank - 1:
            raise ValueError(f"Axis {max(self.axes)} is greater than the maximum allowed "
                             f"value: {rank - 1}")

    def __repr__(self):
        parts = [f"{key}={value}" for key, value in (
            ("dtype", self.dtype), ("shape", self.shape), ("ndim", self.ndim),
            ("max_ndim", self.max_ndim), ("min_ndim", self.min_ndim), ("axes", self.axes))
            if value]
        return f"InputSpec({', '.join(parts)})"

    def get_config(self):
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim,
                "max_ndim": self.max_ndim, "min_ndim": self.min_ndim, "axes": self.axes,
                "optional": self.optional}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _dtype_of(x, layer_dtype):
    # Keras casts a float input (array or symbolic) to the layer's dtype before the check
    dtype = standardize_dtype(x.dtype)
    return layer_dtype if dtype.startswith(("float", "bfloat")) else dtype


def assert_input_compatibility(input_spec, inputs, layer_name, layer_dtype):
    """Raise Keras's ValueError when ``inputs`` (one input or a structure of them) do not
    meet ``input_spec`` (one spec or a structure, one per input)."""
    if not input_spec:
        return
    specs = tree.flatten(input_spec)
    if isinstance(inputs, dict):
        names = [spec.name for spec in specs]
        if all(names):
            missing = [name for name in names if name not in inputs]
            if missing:
                raise ValueError(f'Missing data for input "{missing[0]}". You passed a data '
                                 f"dictionary with keys {list(inputs)}. Expected the "
                                 f"following keys: {names}")
            inputs = [inputs[name] for name in names]
    inputs = tree.flatten(inputs)
    if len(inputs) != len(specs):
        raise ValueError(f'Layer "{layer_name}" expects {len(specs)} input(s), but it '
                         f"received {len(inputs)} input tensors. Inputs received: {inputs}")
    for index, (x, spec) in enumerate(zip(inputs, specs)):
        if spec is None or (x is None and spec.optional):
            continue
        if not hasattr(x, "shape"):
            raise ValueError(f"Inputs to a layer should be tensors. Got '{x}' (of type "
                             f"{type(x)}) as input for layer '{layer_name}'.")
        shape = tuple(None if d is None else int(d) for d in x.shape)
        ndim = len(shape)
        where = (f"Input {index} with name '{spec.name}' of layer '{layer_name}' is "
                 "incompatible with the layer:")
        if spec.ndim is not None and not spec.allow_last_axis_squeeze and ndim != spec.ndim:
            raise ValueError(f"{where} expected ndim={spec.ndim}, found ndim={ndim}. Full "
                             f"shape received: {shape}")
        if spec.max_ndim is not None and ndim > spec.max_ndim:
            raise ValueError(f"{where} expected max_ndim={spec.max_ndim}, found ndim={ndim}")
        if spec.min_ndim is not None and ndim < spec.min_ndim:
            raise ValueError(f"{where} expected min_ndim={spec.min_ndim}, found ndim={ndim}. "
                             f"Full shape received: {shape}")
        if spec.dtype is not None:
            dtype = _dtype_of(x, layer_dtype)
            if dtype != spec.dtype:
                raise ValueError(f"{where} expected dtype={spec.dtype}, found dtype={dtype}")
        for axis, size in spec.axes.items():
            if size is not None and shape[axis] not in (size, None):
                raise ValueError(f"{where} expected axis {axis} of input shape to have value "
                                 f"{size}, but received input with shape {shape}")
        if spec.shape is not None:
            spec_shape, got = spec.shape, shape
            if spec.allow_last_axis_squeeze:
                got = got[:-1] if got and got[-1] == 1 else got
                spec_shape = spec_shape[:-1] if spec_shape and spec_shape[-1] == 1 \
                    else spec_shape
            for want, have in zip(spec_shape, got):
                if want is not None and have is not None and want != have:
                    raise ValueError(f"{where} expected shape={spec.shape}, found "
                                     f"shape={got}")
