"""Merge layers (Concatenate, Add, Subtract, Multiply, Average, Maximum, Minimum, Dot) and
their functional forms (``concatenate([a, b])``, ``add``, ...), as in Keras.

A merge layer is called on a list of tensors; its ``forward`` takes the list of arrays and
its ``backward`` returns one gradient per input. Inputs of lower rank are expanded along
axis 1 until all ranks agree, then broadcast against each other (Keras's rule).

Masks: ``mask`` is a list with one entry per input (None for an unmasked input), Keras's form
and what a functional model hands a merge layer; a single array is read as the first input's
mask, the others unmasked. Output masks follow Keras: the OR of the
inputs' masks when every input has one (Add, Subtract, Average, Multiply, Maximum, Minimum),
a concatenation of the masks for Concatenate, none for Dot. Multiply, Maximum and Minimum
also use the masks in their values, as Keras's do: a masked entry is left out of the product
(or of the maximum/minimum) of the others.
"""
import numpy as np

from .._config import epsilon as _eps
from ._arguments import is_int
from ._base import Layer, SymbolicTensor, as_float_array


def _unbroadcast(grad, shape):
    """`grad` summed over the axes along which an array of `shape` was broadcast."""
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, (g, s) in enumerate(zip(grad.shape, shape)) if s == 1 and g != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


class Merge(Layer):
    """Base of the element-wise merge layers; a subclass defines ``_merge`` (forward) and
    ``_merge_grads`` (one gradient per input, at the common broadcast shape)."""

    MIN_INPUTS = 1
    EXACT_INPUTS = None
    USES_MASKS = False  # whether the masks change the values (Multiply, Maximum, Minimum)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self._n_inputs = None
        self._shape = None  # the last forward's input shapes, for backward and compute_mask

    # ---- shapes ------------------------------------------------------------------------
    def _check_list(self, input_shape):
        kind = type(self).__name__
        if not isinstance(input_shape, (list, tuple)) or not input_shape or \
                not isinstance(input_shape[0], (list, tuple)):
            raise ValueError(f"A {kind} layer should be called on a list of inputs. Received: "
                             f"input_shape={input_shape!r} (not a list of shapes)")
        n = len(input_shape)
        if (self.EXACT_INPUTS is not None and n != self.EXACT_INPUTS) or n < self.MIN_INPUTS:
            expected = (f"exactly {self.EXACT_INPUTS}" if self.EXACT_INPUTS is not None
                        else f"at least {self.MIN_INPUTS}")
            raise ValueError(f"A {kind} layer should be called on {expected} inputs. Received "
                             f"{n} inputs: input_shape={list(map(tuple, input_shape))}")
        batches = {s[0] for s in input_shape if s} - {None}
        if len(batches) > 1:
            raise ValueError(f"{kind}: cannot merge tensors with different batch sizes. "
                             f"Received tensors with shapes {list(map(tuple, input_shape))}")

    @staticmethod
    def _elementwise_shape(shape1, shape2):
        if len(shape1) < len(shape2):
            shape1, shape2 = shape2, shape1
        if not shape2:
            return tuple(shape1)
        out = list(shape1[:-len(shape2)])
        for i, j in zip(shape1[-len(shape2):], shape2):
            if i is None or j is None:
                out.append(None)
            elif i == 1 or j == 1:
                out.append(j if i == 1 else i)
            elif i != j:
                raise ValueError(f"Inputs have incompatible shapes. Received shapes "
                                 f"{tuple(shape1)} and {tuple(shape2)}")
            else:
                out.append(i)
        return tuple(out)

    def build(self, input_shape):
        self._check_list(input_shape)
        self.compute_output_shape(input_shape)
        self._n_inputs = len(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        out = tuple(input_shape[0][1:])
        for shape in input_shape[1:]:
            out = self._elementwise_shape(out, tuple(shape[1:]))
        batches = {s[0] for s in input_shape} - {None}
        return (batches.pop() if len(batches) == 1 else None,) + out

    # ---- calling -----------------------------------------------------------------------
    def _eager_call(self, inputs, training=False, mask=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}() got unexpected arguments {sorted(kwargs)}")
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"A {type(self).__name__} layer should be called on a list of "
                             f"inputs. Received: inputs of type {type(inputs).__name__}")
        xs = [as_float_array(x, f"inputs[{i}]", self.dtype) for i, x in enumerate(inputs)]
        shapes = [x.shape for x in xs]
        self._check_list(shapes)
        self.compute_output_shape(shapes)
        self._maybe_build(shapes)
        return self.forward(xs, training=bool(training), mask=mask)

    def _symbolic_call(self, inputs, **kwargs):
        if isinstance(inputs, SymbolicTensor):
            raise ValueError(f"A {type(self).__name__} layer should be called on a list of "
                             f"inputs. Received: inputs={inputs!r} (not a list of tensors)")
        return super()._symbolic_call(list(inputs), **kwargs)

    def _masks(self, mask, n):
        """Keras's list of masks, one per input (None for an unmasked one)."""
        if isinstance(mask, (list, tuple)):
            if len(mask) != n:
                raise ValueError(f"{type(self).__name__} {self.name!r}: the lists of inputs and "
                                 f"masks should have the same length. Received {n} inputs and "
                                 f"{len(mask)} masks")
            return [None if m is None else np.asarray(m, dtype=bool) for m in mask]
        return [None if mask is None else np.asarray(mask, dtype=bool)] + [None] * (n - 1)

    def _expanded(self, inputs):
        """Inputs of lower rank expanded along axis 1 (Keras's reshape for merging)."""
        ndim = max(x.ndim for x in inputs)
        return [x.reshape(x.shape[:1] + (1,) * (ndim - x.ndim) + x.shape[1:]) for x in inputs]

    def forward(self, inputs, training=False, mask=None):
        inputs = list(inputs)
        self._shape = [x.shape for x in inputs]
        xs = self._expanded(inputs)
        masks = [None] * len(xs) if mask is None else self._masks(mask, len(xs))
        if self.USES_MASKS:
            masks = [None if m is None else np.broadcast_to(m[..., None], x.shape)
                     for m, x in zip(masks, xs)]
        return self._merge(xs, masks)

    def backward(self, d_outputs):
        grads = self._merge_grads(d_outputs)
        return [_unbroadcast(g, self._expanded_shape(s)).reshape(s)
                for g, s in zip(grads, self._shape)]

    def _expanded_shape(self, shape):
        ndim = max(len(s) for s in self._shape)
        return shape[:1] + (1,) * (ndim - len(shape)) + shape[1:]

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        if isinstance(inputs, (list, tuple)) and not isinstance(mask, (list, tuple)):
            # Keras's words: a merge takes one mask per input
            raise ValueError(f"`mask` should be a list. Received: mask={mask}")
        n = len(inputs) if isinstance(inputs, (list, tuple)) else (
            len(self._shape) if self._shape else self._n_inputs or 1)
        masks = self._masks(mask, n)
        if any(m is None for m in masks):
            return None
        out = masks[0]
        for m in masks[1:]:
            out = out | m
        return out

    # ---- subclasses ----------------------------------------------------------------------
    def _merge(self, xs, masks):
        raise NotImplementedError

    def _merge_grads(self, d):
        raise NotImplementedError


class Add(Merge):
    """Element-wise sum of the inputs: ``Add()([a, b])`` or ``add([a, b])``."""

    def _merge(self, xs, masks):
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out

    def _merge_grads(self, d):
        return [d] * len(self._shape)


class Subtract(Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs)."""

    EXACT_INPUTS = 2

    def _merge(self, xs, masks):
        return xs[0] - xs[1]

    def _merge_grads(self, d):
        return [d, -d]


class Average(Merge):
    """Element-wise mean of the inputs."""

    def _merge(self, xs, masks):
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out / out.dtype.type(len(xs))

    def _merge_grads(self, d):
        return [d / d.dtype.type(len(self._shape))] * len(self._shape)


class Multiply(Merge):
    """Element-wise product of the inputs. A masked entry counts as 1 in the product; where
    every input has a mask, entries masked in all of them are 0 (Keras's rule)."""

    USES_MASKS = True

    def _merge(self, xs, masks):
        shape = np.broadcast_shapes(*(x.shape for x in xs))
        factors = [np.broadcast_to(x if m is None else np.where(m, x, x.dtype.type(1)), shape)
                   for x, m in zip(xs, masks)]
        out = factors[0]
        for f in factors[1:]:
            out = out * f
        keep = None
        if all(m is not None for m in masks):
            keep = masks[0]
            for m in masks[1:]:
                keep = keep | m
            out = np.where(keep, out, out.dtype.type(0))
        self._cache = (factors, masks, keep)
        return out

    def _merge_grads(self, d):
        factors, masks, keep = self._cache
        if keep is not None:
            d = np.where(keep, d, 0)
        grads = []
        for i, m in enumerate(masks):
            g = d
            for j, f in enumerate(factors):
                if j != i:
                    g = g * f
            grads.append(g if m is None else np.where(m, g, 0))
        return grads


class Maximum(Merge):
    """Element-wise maximum of the inputs. A masked entry of one input takes the others'
    value (Keras's rule); ties send the gradient to the earlier input, as TensorFlow's."""

    USES_MASKS = True

    @staticmethod
    def _pick(a, b):
        return a >= b

    def _merge(self, xs, masks):
        shape = np.broadcast_shapes(*(x.shape for x in xs))
        out = np.broadcast_to(xs[0], shape)
        src = np.zeros(shape, np.intp)  # which input each output value comes from
        out_mask = masks[0]
        for i, (x, m) in enumerate(zip(xs[1:], masks[1:]), start=1):
            x = np.broadcast_to(x, shape)
            x_src = np.full(shape, i, np.intp)
            if m is not None:
                x, x_src = np.where(m, x, out), np.where(m, x_src, src)
            if out_mask is not None:
                out, src = np.where(out_mask, out, x), np.where(out_mask, src, x_src)
            out_mask = out_mask | m if (m is not None and out_mask is not None) else None
            first = self._pick(out, x)
            out, src = np.where(first, out, x), np.where(first, src, x_src)
        self._cache = src
        return np.array(out, dtype=xs[0].dtype)

    def _merge_grads(self, d):
        src = self._cache
        return [np.where(src == i, d, 0).astype(d.dtype, copy=False)
                for i in range(len(self._shape))]


class Minimum(Maximum):
    """Element-wise minimum of the inputs (masks and ties as Maximum)."""

    @staticmethod
    def _pick(a, b):
        return a <= b


class Concatenate(Merge):
    """Concatenates the inputs along ``axis`` (default -1); all other sizes must agree.

    The output mask (when any input has one) is Keras's: each input's mask, all-true for an
    unmasked input, concatenated along ``axis`` and reduced with ``any`` over the last axis.
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if not is_int(axis):
            raise TypeError(f"Concatenate: axis must be an integer, got axis={axis!r}")
        self.axis = int(axis)

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        shapes = [tuple(s) for s in input_shape]
        ranks = {len(s) for s in shapes}
        rank = shapes[0].__len__()
        if len(ranks) != 1 or not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError("A Concatenate layer requires inputs of the same rank, and an axis "
                             f"that is not the batch axis. Received: axis={self.axis}, "
                             f"input_shape={shapes}")
        axis = self.axis % rank
        out = list(shapes[0])
        for shape in shapes[1:]:
            for i, (a, b) in enumerate(zip(out, shape)):
                if i == axis:
                    out[i] = None if a is None or b is None else a + b
                elif a is None:
                    out[i] = b
                elif b is not None and a != b:
                    raise ValueError("A Concatenate layer requires inputs with matching shapes "
                                     f"except for the concatenation axis. Received: axis="
                                     f"{self.axis}, input_shape={shapes}")
        return tuple(out)

    def forward(self, inputs, training=False, mask=None):
        inputs = list(inputs)
        self._shape = [x.shape for x in inputs]
        return np.concatenate(inputs, axis=self.axis)

    def backward(self, d_outputs):
        axis = self.axis % d_outputs.ndim
        bounds = np.cumsum([s[axis] for s in self._shape])[:-1]
        return [np.ascontiguousarray(g) for g in np.split(d_outputs, bounds, axis=axis)]

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        shapes = ([np.shape(x) for x in inputs] if isinstance(inputs, (list, tuple))
                  else self._shape)
        masks = self._masks(mask, len(shapes))
        if all(m is None for m in masks):
            return None
        full = []
        for shape, m in zip(shapes, masks):
            if m is None:
                full.append(np.ones(shape, bool))
            elif m.ndim < len(shape):
                full.append(np.broadcast_to(m.reshape(m.shape + (1,) * (len(shape) - m.ndim)),
                                            shape))
            else:
                full.append(m)
        return np.concatenate(full, axis=self.axis).any(axis=-1)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


class Dot(Merge):
    """Dot product of two inputs along ``axes`` (an int, or one axis per input), per sample;
    with ``normalize=True`` each input is L2-normalised along its axis first (the output is
    then the cosine similarity). Output: the first input's other axes, then the second's
    (batch axis once); a (batch,) result becomes (batch, 1). Masks are dropped."""

    EXACT_INPUTS = 2

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not is_int(axes):
            if not isinstance(axes, (list, tuple)):
                raise TypeError("Dot: axes must be an integer or a list of two integers. "
                                f"Received: axes={axes!r}")
            if len(axes) != 2 or not all(is_int(a) for a in axes):
                raise ValueError("Dot: axes must be an integer or a list of two integers. "
                                 f"Received: axes={axes!r}")
            axes = [int(a) for a in axes]
        else:
            axes = int(axes)
        self.axes = axes
        self.normalize = bool(normalize)

    def _resolved_axes(self, rank1, rank2):
        axes = [self.axes, self.axes] if is_int(self.axes) else list(self.axes)
        out = [a % r if -r <= a < r else None for a, r in zip(axes, (rank1, rank2))]
        if None in out or 0 in out:
            raise ValueError(f"Dot {self.name!r}: axes={self.axes!r} must name a non-batch axis "
                             f"of each input (ranks {rank1} and {rank2})")
        return out

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        shape1, shape2 = list(input_shape[0]), list(input_shape[1])
        if len(shape1) < 2 or len(shape2) < 2:
            raise ValueError(f"Dot {self.name!r}: both inputs must have rank >= 2. Received "
                             f"shapes {tuple(shape1)} and {tuple(shape2)}")
        a1, a2 = self._resolved_axes(len(shape1), len(shape2))
        if shape1[a1] is not None and shape2[a2] is not None and shape1[a1] != shape2[a2]:
            raise ValueError(f"Dot {self.name!r}: incompatible input shapes: axis values "
                             f"{shape1[a1]} (at axis {a1}) != {shape2[a2]} (at axis {a2}). "
                             f"Full input shapes: {tuple(shape1)}, {tuple(shape2)}")
        shape1.pop(a1)
        shape2.pop(a2)
        out = shape1 + shape2[1:]
        return tuple(out + [1] if len(out) == 1 else out)

    def _subscripts(self, r1, r2):
        a1, a2 = self._resolved_axes(r1, r2)
        letters = "bcdefghijklmnopqrstuvwxy"  # z: the summed axis
        s1 = ["a"] + [letters[i] for i in range(r1 - 1)]
        s1[a1] = "z"
        s2 = ["a"] + [letters[r1 - 1 + i] for i in range(r2 - 1)]
        s2[a2] = "z"
        out = [c for c in s1 if c != "z"] + [c for c in s2[1:] if c != "z"]
        return "".join(s1), "".join(s2), "".join(out)

    def compute_mask(self, inputs, mask=None):
        return None

    @staticmethod
    def _l2_normalize(x, axis):
        """Keras's normalize: x · min(1/‖x‖, 1/ε), ε = ``backend.epsilon()``; also returns
        what backward needs."""
        inv = 1.0 / np.sqrt((x * x).sum(axis=axis, keepdims=True))
        cap = 1.0 / _eps()
        clipped = ~(inv < cap)
        inv = np.where(clipped, x.dtype.type(cap), inv).astype(x.dtype)
        return x * inv, (inv, clipped)

    def forward(self, inputs, training=False, mask=None):
        x1, x2 = inputs
        self._shape = [x1.shape, x2.shape]
        a1, a2 = self._resolved_axes(x1.ndim, x2.ndim)
        norms = None
        if self.normalize:
            with np.errstate(divide="ignore"):
                (x1, n1), (x2, n2) = self._l2_normalize(x1, a1), self._l2_normalize(x2, a2)
            norms = (n1, n2)
        self._cache = (x1, x2, norms)
        s1, s2, so = self._subscripts(x1.ndim, x2.ndim)
        out = np.einsum(f"{s1},{s2}->{so}", x1, x2)
        return out.reshape(out.shape + (1,)) if out.ndim == 1 else out

    def backward(self, d_outputs):
        x1, x2, norms = self._cache
        s1, s2, so = self._subscripts(x1.ndim, x2.ndim)
        d = d_outputs.reshape(d_outputs.shape[:1]) if len(so) == 1 else d_outputs
        d1 = np.einsum(f"{so},{s2}->{s1}", d, x2)
        d2 = np.einsum(f"{so},{s1}->{s2}", d, x1)
        if norms is not None:
            a1, a2 = self._resolved_axes(x1.ndim, x2.ndim)
            d1 = self._normalize_grad(x1, d1, norms[0], a1)
            d2 = self._normalize_grad(x2, d2, norms[1], a2)
        return [d1.astype(x1.dtype, copy=False), d2.astype(x2.dtype, copy=False)]

    @staticmethod
    def _normalize_grad(y, dy, norm, axis):
        """Gradient through y = x · inv with inv = 1/‖x‖ (or the constant 1e7 where clipped)."""
        inv, clipped = norm
        radial = np.where(clipped, 0, y * (y * dy).sum(axis=axis, keepdims=True))
        return inv * (dy - radial)

    def get_config(self):
        config = super().get_config()
        config.update({"axes": self.axes, "normalize": self.normalize})
        return config


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of :class:`Concatenate`: ``concatenate([a, b], axis=-1)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def add(inputs, **kwargs):
    """Functional form of :class:`Add`."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional form of :class:`Subtract`."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional form of :class:`Multiply`."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional form of :class:`Average`."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Functional form of :class:`Maximum`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional form of :class:`Minimum`."""
    return Minimum(**kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    """Functional form of :class:`Dot`."""
    return Dot(axes=axes, **kwargs)(inputs)
