"""MultiHeadAttention: Keras's multi-head scaled dot-product attention over sequences
(``attention_axes=None``), with its forward and backward written with NumPy."""
import math
import numbers

import numpy as np

from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from .._random import generator
from ._arguments import is_int, positive_int
from ._base import Layer, Node, SymbolicTensor, as_float_array, unique_name

# Keras's Softmax layer puts this logit at masked positions (float32/float64)
_MASKED = -1.0e9
# the projections, in Keras's weight order: (sub-layer name, which input, head size attribute)
_PROJECTIONS = (("query", 0, "key_dim"), ("key", 2, "key_dim"), ("value", 1, "value_dim"))


def _softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class _WeightGroup:
    """A sub-layer of Keras's MultiHeadAttention as its weights file sees it: a name and the
    weights saved under it."""

    def __init__(self, name, weights):
        self.name, self.weights = name, weights


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al., 2017), as Keras's ``MultiHeadAttention``.

    For ``query (batch, T, dim_q)``, ``value (batch, S, dim_v)`` and ``key (batch, S, dim_k)``
    (``key`` defaults to ``value``), with ``N = num_heads``::

        Q = query · Wq + bq          (batch, T, N, key_dim)
        K = key · Wk + bk            (batch, S, N, key_dim)
        V = value · Wv + bv          (batch, S, N, value_dim)
        scores = softmax(Q·Kᵀ / sqrt(key_dim), masked)     (batch, N, T, S)
        output = (scores · V) · Wo + bo                     (batch, T, output_dim)

    ``output_dim`` is ``dim_q`` unless ``output_shape`` says otherwise. Masked pairs get the
    logit -1e9; a query step with no allowed key attends uniformly, or not at all (zeros)
    when the scores are returned or dropout is on: Keras's two code paths differ there.

    The weights are Keras's, in its order and shapes: ``query/kernel (dim_q, N, key_dim)``,
    ``query/bias (N, key_dim)``, ``key/...``, ``value/kernel (dim_v, N, value_dim)``,
    ``value/bias``, ``attention_output/kernel (N, value_dim, output_dim)``,
    ``attention_output/bias``, so ``set_weights(keras_layer.get_weights())`` works, and
    ``.keras`` files hold them in Keras's sub-groups (``query_dense``, ...) both ways.

    Parameters
    ----------
    num_heads, key_dim : int
        Heads, and the size of each query/key head.
    value_dim : int, optional
        The size of each value head (``key_dim`` by default).
    dropout : float
        Dropout on the attention scores while training.
    use_bias : bool
    output_shape : int or 1-tuple, optional
        The output's last dimension.
    attention_axes : None
        Attention over the steps axis only (Keras's default; other axes are not offered).

    Call arguments: ``query``, ``value``, ``key=None``, ``attention_mask`` (boolean
    ``(batch, T, S)``, True where attention is allowed), ``return_attention_scores`` (also
    return the scores ``(batch, N, T, S)``), ``training``, ``use_causal_mask`` (query step i
    attends to key steps ≤ i). The Keras masks of ``query``, ``value`` and ``key`` (an
    Embedding's ``mask_zero``) restrict the attention as in Keras, and the query's mask is the
    output's.

    Example
    -------
    >>> mha = MultiHeadAttention(num_heads=2, key_dim=4)
    >>> x = np.ones((3, 5, 8), "float32")
    >>> mha(x, x).shape
    (3, 5, 8)
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 seed=None, use_gate=False, sliding_window=None, flash_attention=None,
                 **kwargs):
        if activity_regularizer is not None:
            raise NotImplementedError("MultiHeadAttention: rnncore does not offer "
                                      "activity_regularizer on this layer; received "
                                      f"activity_regularizer={activity_regularizer!r}")
        for argument, value in (("num_heads", num_heads), ("key_dim", key_dim),
                                ("value_dim", value_dim)):
            if value is not None and not (is_int(value) and value > 0):  # Keras: a ValueError
                raise ValueError(f"MultiHeadAttention: Received an invalid value for argument "
                                 f"`{argument}`, expected a positive integer. Received: "
                                 f"{argument}={value!r}")
        self.num_heads = positive_int("MultiHeadAttention", "num_heads", num_heads)
        self.key_dim = positive_int("MultiHeadAttention", "key_dim", key_dim)
        self.value_dim = self.key_dim if value_dim is None else positive_int(
            "MultiHeadAttention", "value_dim", value_dim)
        super().__init__(**kwargs)
        if not isinstance(dropout, numbers.Real) or isinstance(dropout, bool) or \
                not 0 <= dropout < 1:
            raise ValueError(f"MultiHeadAttention: `dropout` must be a float in [0, 1). "
                             f"Received: dropout={dropout!r}")
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        if output_shape is not None and not isinstance(output_shape, (list, tuple)):
            output_shape = (output_shape,)
        if output_shape is not None and (len(output_shape) != 1 or not all(
                isinstance(d, numbers.Integral) and d > 0 for d in output_shape)):
            raise NotImplementedError(f"MultiHeadAttention: rnncore offers an output_shape of "
                                      f"one positive dimension; received "
                                      f"output_shape={output_shape!r}")
        self.output_shape_ = None if output_shape is None else (int(output_shape[0]),)
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        if attention_axes is not None and tuple(attention_axes) not in ((1,), (-2,)):
            raise NotImplementedError(f"MultiHeadAttention: rnncore attends over the steps axis "
                                      f"of 3D inputs only (attention_axes=None); received "
                                      f"attention_axes={attention_axes!r}")
        for name, value, default in (("use_gate", use_gate, False),
                                     ("sliding_window", sliding_window, None),
                                     ("flash_attention", flash_attention, None)):
            if value not in (default, False, None):
                raise NotImplementedError(f"MultiHeadAttention: rnncore does not offer "
                                          f"{name}; received {name}={value!r}")
        self.attention_axes = None if attention_axes is None else tuple(attention_axes)
        self._weight_options(
            kernel=(kernel_initializer, kernel_regularizer, kernel_constraint),
            bias=(bias_initializer, bias_regularizer, bias_constraint))
        self.seed = seed
        self._rng = generator(seed) if seed is not None else None
        self.supports_masking = True
        self._scale = 1.0 / math.sqrt(float(self.key_dim))
        # the call options of the layer's node in a functional model (the last call's)
        self._return_scores = self._causal = self._has_attention_mask = False
        self._cache = None

    # ---- weights and shapes -------------------------------------------------------------------
    def _dense(self, sub, shape, bias_shape):
        kernel = self.add_weight(shape, self.kernel_initializer, "kernel")
        kernel.path = f"{self.name}/{sub}/kernel"
        bias = None
        if self.use_bias:
            bias = self.add_weight(bias_shape, self.bias_initializer, "bias")
            bias.path = f"{self.name}/{sub}/bias"
        return kernel, bias

    def build(self, input_shape):
        shapes = self._shapes(input_shape)
        q, v, k = shapes[0], shapes[1], shapes[2]
        self._check_shapes(q, v, k)
        # Keras's build makes a Softmax and a Dropout layer, which take those names: the
        # user's next Dropout is numbered after them
        unique_name("softmax")
        unique_name("dropout")
        N = self.num_heads
        self._weights = {}
        for sub, which, size in _PROJECTIONS:
            dim = shapes[which][-1]
            width = getattr(self, size)
            self._weights[sub] = self._dense(sub, (int(dim), N, width), (N, width))
        out_dim = self.output_shape_[0] if self.output_shape_ else int(q[-1])
        self._weights["attention_output"] = self._dense(
            "attention_output", (N, self.value_dim, out_dim), (out_dim,))
        self.built = True

    @staticmethod
    def _shapes(input_shape):
        shapes = [tuple(s) for s in input_shape]
        if len(shapes) == 2:
            shapes.append(shapes[1])
        return shapes

    def _check_shapes(self, q, v, k):
        for arg, s in (("query", q), ("value", v), ("key", k)):
            if len(s) != 3:
                raise ValueError(f"MultiHeadAttention {self.name!r}: {arg} must be 3D "
                                 f"(batch, steps, features); received shape {tuple(s)}")
        if None not in (v[1], k[1]) and v[1] != k[1]:
            raise ValueError(f"MultiHeadAttention {self.name!r}: all dimensions of `value` and "
                             f"`key`, except the last one, must be equal. Received: "
                             f"value_shape={tuple(v)} and key_shape={tuple(k)}")

    def compute_output_shape(self, input_shape):
        shapes = self._shapes(input_shape)
        q = shapes[0]
        out = tuple(q[:-1]) + (self.output_shape_[0] if self.output_shape_ else q[-1],)
        if self._return_scores:
            return [out, (q[0], self.num_heads, q[1], shapes[1][1])]
        return out

    def compute_mask(self, inputs, mask=None):
        q_mask = mask[0] if isinstance(mask, (list, tuple)) else mask
        return [q_mask, None] if self._return_scores else q_mask

    # ---- Keras's files ----------------------------------------------------------------------
    def keras_children(self):
        """Where Keras's file keeps the weights: one group per projection sub-layer (and empty
        ones for its dropout and softmax sub-layers), in Keras's order."""
        groups = [("_dropout_layer", []), ("_softmax", [])]
        if self.built:
            for sub in ("key", "attention_output", "query", "value"):
                kernel, bias = self._weights[sub]
                name = "output_dense" if sub == "attention_output" else f"{sub}_dense"
                groups.append((name, [kernel] + ([bias] if bias is not None else [])))
        return [(attr, _WeightGroup(attr, weights)) for attr, weights in sorted(groups)]

    def keras_call_arguments(self, inputs):
        """A graph node's inputs ``[query, value, key(, attention_mask)]`` as Keras's call
        takes them: positional ``(query, value)``, and ``key``/``attention_mask`` by name."""
        named = {}
        if inputs[2] is not inputs[1]:
            named["key"] = inputs[2]
        if len(inputs) > 3:
            named["attention_mask"] = inputs[3]
        return list(inputs[:2]), named

    # ---- calling ----------------------------------------------------------------------------
    def __call__(self, query, value=None, key=None, query_mask=None, value_mask=None,
                 key_mask=None, attention_mask=None, return_attention_scores=False,
                 training=None, use_causal_mask=False, **kwargs):
        if value is None and isinstance(query, (list, tuple)) and 2 <= len(query) <= 4:
            # the node's inputs as rnncore's functional config lists them
            query, value, key, attention_mask = (list(query) + [None, None])[:4]
        if value is None:
            raise ValueError(f"MultiHeadAttention {self.name!r}: call it as layer(query, "
                             "value) or layer(query, value, key); `value` is missing")
        if kwargs:
            raise TypeError(f"MultiHeadAttention() got unexpected arguments {sorted(kwargs)}")
        # the tensors the call was given (summary's "Connected to" lists these, as Keras's
        # node does; the graph itself always takes query, value and key)
        if isinstance(query, SymbolicTensor):
            self._given_inputs = [t for t in (query, value, key, attention_mask)
                                  if t is not None]
        key = value if key is None else key
        inputs = [query, value, key]
        if attention_mask is not None:
            inputs.append(attention_mask)
        masks = [m if m is not None else getattr(x, "_keras_mask", None)
                 for m, x in zip((query_mask, value_mask, key_mask), (query, value, key))]
        options = {"return_attention_scores": bool(return_attention_scores),
                   "use_causal_mask": bool(use_causal_mask)}
        if training is not None:
            options["training"] = training
        if any(m is not None for m in masks):
            options["mask"] = masks
        return super().__call__(inputs, **options)

    def _symbolic_call(self, inputs, return_attention_scores=False, use_causal_mask=False,
                       **kwargs):
        if not all(isinstance(t, SymbolicTensor) for t in inputs):
            raise ValueError(f"MultiHeadAttention {self.name!r}: a symbolic call takes symbolic "
                             f"tensors only (an attention_mask too); received {inputs!r}")
        shapes = [t.shape for t in inputs[:3]]
        self._check_shapes(*shapes)
        self._maybe_build(shapes)
        self._return_scores = bool(return_attention_scores)
        self._causal = bool(use_causal_mask)
        self._has_attention_mask = len(inputs) > 3
        out_shape = self.compute_output_shape(shapes)
        node_index = len(self._inbound_nodes)
        if self._return_scores:
            outputs = [SymbolicTensor(s, self.dtype, self, node_index, i, name=self.name)
                       for i, s in enumerate(out_shape)]
        else:
            outputs = SymbolicTensor(out_shape, self.dtype, self, node_index, 0, name=self.name)
        kwargs.update({"return_attention_scores": self._return_scores,
                       "use_causal_mask": self._causal})
        kwargs.pop("mask", None)  # the graph carries the inputs' masks itself
        node = Node(self, list(inputs), outputs, kwargs)
        node.shown_inputs = self.__dict__.pop("_given_inputs", None)
        self._inbound_nodes.append(node)
        return tuple(outputs) if self._return_scores else outputs  # Keras: (output, scores)

    def _eager_call(self, inputs, training=False, mask=None, return_attention_scores=False,
                    use_causal_mask=False):
        xs = [as_float_array(t, arg, self.dtype)
              for t, arg in zip(inputs[:3], ("query", "value", "key"))]
        self._check_shapes(*[x.shape for x in xs])
        if len(inputs) > 3:
            xs.append(np.asarray(inputs[3]))
        self._maybe_build([x.shape for x in xs[:3]])
        out = self._run(xs, bool(training), mask, bool(return_attention_scores),
                        bool(use_causal_mask))
        return tuple(out) if return_attention_scores else out  # Keras: (output, scores)

    def forward(self, inputs, training=False, mask=None):
        """A functional model's entry: ``inputs`` as the node holds them, ``[query, value,
        key(, attention_mask)]``; ``mask`` the list of their masks (or the query's alone)."""
        return self._run(list(inputs), training, mask, self._return_scores, self._causal)

    # ---- forward and backward -------------------------------------------------------------------
    def _attention_mask(self, xs, mask, causal):
        """The (batch, 1, T, S) boolean mask of the allowed pairs, or None (Keras's
        ``_compute_attention_mask``)."""
        q, v = xs[0], xs[1]
        masks = list(mask) if isinstance(mask, (list, tuple)) else [mask]
        masks += [None] * (3 - len(masks))
        allowed = None

        def both(a, b):
            return b if a is None else a & b
        if masks[0] is not None:
            allowed = both(allowed, np.asarray(masks[0], bool)[:, :, None])
        for m in masks[1:3]:
            if m is not None:
                allowed = both(allowed, np.asarray(m, bool)[:, None, :])
        if causal:
            T, S = q.shape[1], v.shape[1]
            allowed = both(allowed, (np.arange(T)[:, None] >= np.arange(S)[None, :])[None])
        if len(xs) > 3:
            given = np.asarray(xs[3])
            given = given > 0.5 if given.dtype != bool and given.dtype.kind == "f" else \
                given.astype(bool)
            allowed = given if allowed is None else given & allowed
        if allowed is None:
            return None
        allowed = np.asarray(allowed, bool)
        while allowed.ndim < 3:
            allowed = allowed[None]
        return allowed[:, None]

    def _project(self, sub, x):
        kernel, bias = self._weights[sub]
        y = np.einsum("btd,dnh->btnh", x, kernel.value, optimize=True)
        return y + bias.value if bias is not None else y

    def _run(self, xs, training, mask, return_scores, causal):
        q_in, v_in, k_in = xs[0], xs[1], xs[2]
        allowed = self._attention_mask(xs, mask, causal)
        Q = self._project("query", q_in)
        K = self._project("key", k_in)
        V = self._project("value", v_in)
        Qs = Q * Q.dtype.type(self._scale)
        s = np.einsum("bsnh,btnh->bnts", K, Qs, optimize=True)
        if allowed is not None:
            s = np.where(allowed, s, s.dtype.type(_MASKED))
        p = _softmax(s).astype(q_in.dtype, copy=False)
        if allowed is not None and (return_scores or self.dropout > 0):
            # Keras computes this case with its Softmax layer, which zeroes the masked
            # probabilities (a query step that may attend to nothing gets zeros); otherwise
            # with dot_product_attention, where such a step attends uniformly
            p = np.where(allowed, p, p.dtype.type(0))
        w, keep = p, None
        if training and self.dropout > 0:
            rng = self._rng or generator()
            keep = ((rng.random(p.shape) >= self.dropout) / (1 - self.dropout)).astype(p.dtype)
            w = p * keep
        O = np.einsum("bnts,bsnh->btnh", w, V, optimize=True)
        kernel, bias = self._weights["attention_output"]
        out = np.einsum("btnh,nho->bto", O, kernel.value, optimize=True)
        if bias is not None:
            out = out + bias.value
        out = out.astype(q_in.dtype, copy=False)
        self._cache = (xs, Qs, K, V, p, w, keep, O, allowed)
        return [out, p] if return_scores else out

    def _project_backward(self, sub, x, dy):
        """Weight gradients of a projection stored; returns the gradient of its input."""
        kernel, bias = self._weights[sub]
        if self.trainable:
            kernel.grad = np.einsum("btd,btnh->dnh", x, dy, optimize=True).astype(x.dtype)
            if bias is not None:
                bias.grad = dy.sum(axis=(0, 1)).astype(x.dtype)
        return np.einsum("btnh,dnh->btd", dy, kernel.value, optimize=True)

    def backward(self, d_outputs):
        xs, Qs, K, V, p, w, keep, O, allowed = self._cache
        q_in, v_in, k_in = xs[0], xs[1], xs[2]
        dtype = q_in.dtype
        d_scores = None
        if isinstance(d_outputs, (list, tuple)):
            d_out, d_scores = d_outputs[0], (d_outputs[1] if len(d_outputs) > 1 else None)
        else:
            d_out = d_outputs
        kernel, bias = self._weights["attention_output"]
        if d_out is None:
            d_out = np.zeros(O.shape[:2] + (kernel.shape[-1],), dtype)
        if self.trainable:
            kernel.grad = np.einsum("btnh,bto->nho", O, d_out, optimize=True).astype(dtype)
            if bias is not None:
                bias.grad = d_out.sum(axis=(0, 1)).astype(dtype)
        dO = np.einsum("bto,nho->btnh", d_out, kernel.value, optimize=True)
        dw = np.einsum("btnh,bsnh->bnts", dO, V, optimize=True)
        dV = np.einsum("bnts,btnh->bsnh", w, dO, optimize=True)
        dp = dw * keep if keep is not None else dw
        if d_scores is not None:
            dp = dp + d_scores
        ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
        if allowed is not None:
            ds = np.where(allowed, ds, 0)
        dQ = np.einsum("bnts,bsnh->btnh", ds, K, optimize=True) * dtype.type(self._scale)
        dK = np.einsum("bnts,btnh->bsnh", ds, Qs, optimize=True)
        grads = [self._project_backward("query", q_in, dQ),
                 self._project_backward("value", v_in, dV),
                 self._project_backward("key", k_in, dK)]
        grads = [g.astype(dtype, copy=False) for g in grads]
        return grads + [None] * (len(xs) - 3)

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_heads": self.num_heads, "key_dim": self.key_dim, "value_dim": self.value_dim,
            "dropout": self.dropout, "use_bias": self.use_bias, "use_gate": False,
            "output_shape": self.output_shape_, "attention_axes": self.attention_axes,
            "sliding_window": None,
            "kernel_initializer": _initializers.serialize(self.kernel_initializer),
            "bias_initializer": _initializers.serialize(self.bias_initializer),
            "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": None,
            "kernel_constraint": _constraints.serialize(self.kernel_constraint),
            "bias_constraint": _constraints.serialize(self.bias_constraint),
            "seed": self.seed})
        return config
