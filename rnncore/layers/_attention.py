"""Attention (Luong-style dot or concat scores) and AdditiveAttention (Bahdanau-style), as
Keras 3's layers: called on ``[query, value]`` or ``[query, value, key]``."""
import numbers

import numpy as np

from .._random import generator
from ._base import Layer, SymbolicTensor, Node, as_float_array

# Keras subtracts this from the scores of masked positions (float32/float64)
_MASKED = 1.0e9


def _softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class Attention(Layer):
    """Dot-product attention: ``scores = query · keyᵀ`` (``score_mode='dot'``, times ``scale``
    with ``use_scale=True``) or ``concat_score_weight · Σ tanh(scale·(query_i + key_j))``
    (``score_mode='concat'``); ``weights = softmax(scores)`` over the value steps (masked
    steps get ``scores - 1e9``); ``output = weights · value``, zero at masked query steps.

    Inputs: ``query (batch, Tq, dim)``, ``value (batch, Tv, dim_v)``, optional
    ``key (batch, Tv, dim)`` (default: value). Output ``(batch, Tq, dim_v)``, and the weights
    ``(batch, Tq, Tv)`` with ``return_attention_scores=True``. Weights of the layer:
    ``scale ()`` when ``use_scale``, ``concat_score_weight ()`` for ``score_mode='concat'``.
    Call options: ``mask=[query_mask, value_mask]`` (booleans ``(batch, Tq)``,
    ``(batch, Tv)``), ``use_causal_mask`` (step i attends to steps ≤ i),
    ``return_attention_scores``, ``training`` (dropout on the weights).

    >>> q, v = np.ones((2, 3, 4), "float32"), np.ones((2, 5, 4), "float32")
    >>> Attention()([q, v]).shape
    (2, 3, 4)
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(use_scale, (bool, np.bool_)):
            raise TypeError(f"Argument `use_scale` must be a bool. Received: "
                            f"use_scale={use_scale!r}")
        self.use_scale = bool(use_scale)
        if score_mode not in ("dot", "concat"):
            raise ValueError("Invalid value for argument score_mode. Expected one of "
                             f"{{'dot', 'concat'}}. Received: score_mode={score_mode!r}")
        self.score_mode = score_mode
        if not isinstance(dropout, numbers.Real) or isinstance(dropout, bool) or \
                not 0 <= dropout < 1:
            raise ValueError(f"Argument `dropout` must be a float in [0, 1). Received: "
                             f"dropout={dropout!r}")
        self.dropout = float(dropout)
        if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
            raise ValueError(f"Argument `seed` must be an int or None. Received: seed={seed!r}")
        self.seed = seed
        self._rng = generator(seed) if seed is not None else None
        self.supports_masking = True
        self.scale = self.concat_score_weight = None
        # the call options of the layer's node in a functional model
        self._return_scores = False
        self._causal = False
        self._cache = self._keep = None

    # ---- validation and shapes --------------------------------------------------------------
    def _validate(self, inputs, mask=None):
        name = type(self).__name__
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{name} layer must be called on a list of inputs, namely [query, "
                             f"value] or [query, value, key]. Received: inputs={inputs!r}.")
        if not 2 <= len(inputs) <= 3:
            raise ValueError(f"{name} layer accepts inputs list of length 2 or 3, namely "
                             f"[query, value] or [query, value, key]. Received length: "
                             f"{len(inputs)}.")
        if mask is not None:
            if not isinstance(mask, (list, tuple)):
                raise ValueError(f"{name} layer mask must be a list, namely [query_mask, "
                                 f"value_mask]. Received: mask={mask!r}.")
            if not 2 <= len(mask) <= 3:
                raise ValueError(f"{name} layer accepts mask list of length 2 or 3. "
                                 f"Received: mask of length {len(mask)}.")

    def _check_shapes(self, shapes):
        q, v = shapes[0], shapes[1]
        k = shapes[2] if len(shapes) > 2 else v
        names = ("query", "value", "key")
        for arg, s in zip(names, shapes):
            if len(s) != 3:
                raise ValueError(f"{type(self).__name__} {self.name!r}: {arg} must be 3D "
                                 f"(batch, steps, features), got shape {tuple(s)}")
        if None not in (k[1], v[1]) and k[1] != v[1]:
            raise ValueError(f"{type(self).__name__} {self.name!r}: key and value must have "
                             f"the same number of steps, got key {tuple(k)}, value {tuple(v)}")
        if None not in (q[-1], k[-1]) and q[-1] != k[-1]:
            raise ValueError(f"{type(self).__name__} {self.name!r}: query and key must have "
                             f"the same last dimension, got query {tuple(q)}, key {tuple(k)}")

    def build(self, input_shape):
        self._validate(input_shape)
        if self.use_scale:
            self.scale = self.add_weight((), "ones", "scale")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight((), "ones", "concat_score_weight")
        self.built = True

    def compute_output_shape(self, input_shape):
        self._validate(input_shape)
        return tuple(input_shape[0][:-1]) + (input_shape[1][-1],)

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        if mask is None:
            return None
        return [mask, None] if self._return_scores else mask

    # ---- calling ----------------------------------------------------------------------------------
    def check_input(self, x):
        self._validate(x)
        xs = [as_float_array(t, arg, self.dtype)
              for t, arg in zip(x, ("query", "value", "key"))]
        self._check_shapes([t.shape for t in xs])
        return xs

    def _symbolic_call(self, inputs, return_attention_scores=False, use_causal_mask=False,
                       **kwargs):
        self._validate(inputs, kwargs.get("mask"))
        if not all(isinstance(t, SymbolicTensor) for t in inputs):
            raise ValueError(f"{type(self).__name__}: all inputs of a symbolic call must be "
                             f"symbolic tensors. Received: inputs={inputs!r}")
        shapes = [t.shape for t in inputs]
        self._check_shapes(shapes)
        self._maybe_build(shapes)
        self._return_scores = bool(return_attention_scores)
        self._causal = bool(use_causal_mask)
        out_shape = self.compute_output_shape(shapes)
        node_index = len(self._inbound_nodes)
        outputs = SymbolicTensor(out_shape, self.dtype, self, node_index, 0, name=self.name)
        if self._return_scores:
            scores = SymbolicTensor(tuple(shapes[0][:-1]) + (shapes[-1][1],), self.dtype, self,
                                    node_index, 1, name=self.name)
            outputs = [outputs, scores]
        kwargs.update({"return_attention_scores": self._return_scores,
                       "use_causal_mask": self._causal})
        self._inbound_nodes.append(Node(self, list(inputs), outputs, kwargs))
        return tuple(outputs) if self._return_scores else outputs  # Keras: (output, scores)

    def _eager_call(self, inputs, training=False, mask=None, return_attention_scores=False,
                    use_causal_mask=False):
        self._validate(inputs, mask)
        xs = self.check_input(inputs)
        if mask is not None:
            mask = [None if m is None else np.asarray(m) for m in mask]
            for m, x, arg in zip(mask, xs, ("query_mask", "value_mask")):
                if m is not None and m.shape != x.shape[:2]:
                    raise ValueError(f"{type(self).__name__} {self.name!r}: {arg} must have "
                                     f"shape {x.shape[:2]}, got {m.shape}")
        self._maybe_build([x.shape for x in xs])
        out = self._run(xs, bool(training), mask, bool(return_attention_scores),
                        bool(use_causal_mask))
        return tuple(out) if return_attention_scores else out  # Keras: (output, scores)

    def forward(self, inputs, training=False, mask=None):
        """The model's entry: `mask` is ``[query_mask, value_mask(, key_mask)]`` (entries may be
        None), as a functional model hands a layer of several inputs; one array is taken as
        the query's mask."""
        if mask is not None and not isinstance(mask, (list, tuple)):
            mask = [mask, None]
        return self._run(list(inputs), training, mask, self._return_scores, self._causal)

    # ---- forward and backward -------------------------------------------------------------------
    def _scores(self, q, k):
        """Raw scores (batch, Tq, Tv) and what their backward needs."""
        if self.score_mode == "dot":
            qk = q @ k.transpose(0, 2, 1)
            s = qk * self.scale.value if self.scale is not None else qk
            return s, qk
        u = q[:, :, None, :] + k[:, None, :, :]
        a = self.scale.value if self.scale is not None else 1.0
        t = np.tanh(a * u)
        return self.concat_score_weight.value * t.sum(axis=-1), (u, t)

    def _scores_backward(self, ds, q, k, saved):
        """Gradients of the raw scores w.r.t. query and key; weight gradients stored."""
        if self.score_mode == "dot":
            qk = saved
            a = self.scale.value if self.scale is not None else 1
            if self.scale is not None and self.trainable:
                self.scale.grad = np.asarray((ds * qk).sum(), q.dtype)
            dsa = ds * a
            return dsa @ k, dsa.transpose(0, 2, 1) @ q
        u, t = saved
        c = self.concat_score_weight.value
        if self.trainable:
            self.concat_score_weight.grad = np.asarray((ds * t.sum(axis=-1)).sum(), q.dtype)
        du = (c * ds)[..., None] * (1 - t * t)
        if self.scale is not None:
            if self.trainable:
                self.scale.grad = np.asarray((du * u).sum(), q.dtype)
            du = du * self.scale.value
        return du.sum(axis=2), du.sum(axis=1)

    def _run(self, xs, training, mask, return_scores, causal):
        q, v = xs[0], xs[1]
        k = xs[2] if len(xs) > 2 else v
        q_mask = mask[0] if mask else None
        v_mask = mask[1] if mask and len(mask) > 1 else None
        s, saved = self._scores(q, k)
        score_mask = None
        if v_mask is not None:
            score_mask = np.asarray(v_mask, bool)[:, None, :]
        if causal:
            tq, tv = s.shape[-2:]
            c = (np.arange(tq)[:, None] >= np.arange(tv)[None, :])[None]
            score_mask = c if score_mask is None else score_mask & c
        if score_mask is not None:
            s = np.where(score_mask, s, s - s.dtype.type(_MASKED))
        w = p = _softmax(s).astype(q.dtype, copy=False)
        keep = None
        if training and self.dropout > 0:
            rng = self._rng or generator()
            keep = ((rng.random(w.shape) >= self.dropout) / (1 - self.dropout)).astype(q.dtype)
            w = w * keep
        out = w @ v
        qm = None
        if q_mask is not None:
            qm = np.asarray(q_mask, bool)[:, :, None]
            out = np.where(qm, out, 0).astype(q.dtype, copy=False)
        self._keep = keep
        self._cache = (q, v, k, len(xs), saved, p, w, qm, keep)
        return [out, w] if return_scores else out

    def backward(self, d_outputs):
        q, v, k, n_inputs, saved, p, w, qm, keep = self._cache
        d_scores = None
        if isinstance(d_outputs, (list, tuple)):
            d_out, d_scores = d_outputs[0], (d_outputs[1] if len(d_outputs) > 1 else None)
        else:
            d_out = d_outputs
        if d_out is None:
            d_out = np.zeros((q.shape[0], q.shape[1], v.shape[2]), q.dtype)
        if qm is not None:
            d_out = np.where(qm, d_out, 0)
        dv = w.transpose(0, 2, 1) @ d_out
        dw = d_out @ v.transpose(0, 2, 1)
        if d_scores is not None:
            dw = dw + d_scores
        if keep is not None:
            dw = dw * keep
        ds = p * (dw - (dw * p).sum(axis=-1, keepdims=True))
        dq, dk = self._scores_backward(ds, q, k, saved)
        dtype = q.dtype
        if n_inputs > 2:
            return [dq.astype(dtype, copy=False), dv.astype(dtype, copy=False),
                    dk.astype(dtype, copy=False)]
        return [dq.astype(dtype, copy=False), (dv + dk).astype(dtype, copy=False)]

    def get_config(self):
        config = super().get_config()
        config.update({"use_scale": self.use_scale, "score_mode": self.score_mode,
                       "dropout": self.dropout, "seed": self.seed})
        return config


class AdditiveAttention(Attention):
    """Additive (Bahdanau-style) attention: ``scores = Σ_d scale_d · tanh(query_i + key_j)``
    (``scale (dim,)``, glorot_uniform, with ``use_scale=True``; 1 without), then as
    :class:`Attention`.

    >>> q, v = np.ones((2, 3, 4), "float32"), np.ones((2, 5, 4), "float32")
    >>> AdditiveAttention()([q, v], return_attention_scores=True)[1].shape
    (2, 3, 5)
    """

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        self._validate(input_shape)
        dim = input_shape[0][-1]
        if self.use_scale:
            self.scale = self.add_weight((int(dim),), "glorot_uniform", "scale")
        self.built = True

    def _scores(self, q, k):
        t = np.tanh(q[:, :, None, :] + k[:, None, :, :])
        s = (t * self.scale.value).sum(axis=-1) if self.scale is not None else t.sum(axis=-1)
        return s, t

    def _scores_backward(self, ds, q, k, t):
        if self.scale is not None:
            if self.trainable:
                self.scale.grad = (ds[..., None] * t).sum(axis=(0, 1, 2))
            du = ds[..., None] * self.scale.value * (1 - t * t)
        else:
            du = ds[..., None] * (1 - t * t)
        return du.sum(axis=2), du.sum(axis=1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("score_mode", None)
        return cls(**config)
