"""Optimizers: Keras 3's update rules, defaults and state layout on NumPy arrays.

Each optimizer updates ``Variable.value`` in place. The arithmetic runs in the variable's dtype in
Keras's order, so float32 training matches Keras to rounding. One detail matters for float64:
where Keras does ``ops.cast(python_float, dtype)`` TensorFlow first rounds the number to float32
(the learning rate, SGD's momentum, Adam's betas in the bias correction, weight decay); where
it combines a Python float with a tensor directly the number is converted at full precision.
The helpers :func:`_cast` and ``dtype.type(x)`` reproduce the two.

A gradient may also be an :class:`~rnncore._indexed_slices.IndexedSlices` (an Embedding's): one
slice per id occurrence, repeats not summed, as the ``tf.IndexedSlices`` Keras's TensorFlow
backend produces. Keras's ops keep such a gradient sparse where they can (``square``,
``multiply``/``divide`` by a scalar, ``clip``, ``clip_by_norm``), densify it by summing the
slices where it meets a dense tensor in ``add``/``subtract``, and gather the dense operand's rows
where it is divided by or multiplied with one; ``assign_add``/``assign_sub`` scatter the slices
(one by one; rnncore sums them and adds once, the same to rounding). Each optimizer's
``_sparse_update_step`` follows those ops, so a square is taken per occurrence (``sum_k g_k**2``,
not ``(sum_k g_k)**2``) and clipping acts on the occurrences. Not reproducible: when the dense
divisor holds a zero or a NaN anywhere (``epsilon=0``; centered RMSprop's ``v - a**2`` turning
negative) Keras's divide takes a path that fails on repeated indices (InvalidArgumentError);
rnncore keeps to the slices' rows there.
"""
import numbers
import re
import warnings

import numpy as np

from . import optimizers_schedules as schedules
from ._config import floatx, get_num_threads
from ._indexed_slices import IndexedSlices
from ._kernels import _rows

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Nadam", "schedules",
           "get", "serialize", "deserialize"]


def _cast(x, dtype):
    """``ops.cast(x, dtype)`` as TensorFlow does it: a Python float goes through float32."""
    if isinstance(x, float):
        x = np.float32(x)
    return np.dtype(dtype).type(x)


def _check_number(arg, value, low=0.0, high=None, allow_none=False):
    if value is None and allow_none:
        return
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if not ok or value < low or (high is not None and value > high):
        expected = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"Argument `{arg}` must be a float {expected}. Received: {arg}={value!r}")


class Optimizer:
    """Base optimizer: gradient clipping, weight decay, step counter, learning rate, state.

    Parameters
    ----------
    learning_rate : float, ``LearningRateSchedule`` or zero-argument callable.
    weight_decay : float, optional. Decoupled decay ``w -= w * weight_decay * lr`` before the
        update, for every variable not excluded by :meth:`exclude_from_weight_decay`.
    clipnorm, clipvalue, global_clipnorm : float, optional; at most one may be set. Clip each
        gradient's L2 norm, each gradient element, or the norm of all gradients together.
    loss_scale_factor : float, optional. Gradients are divided by it (see :meth:`scale_loss`).
    name : str, optional.
    use_ema, ema_momentum, ema_overwrite_frequency, gradient_accumulation_steps :
        accepted for Keras compatibility; only their defaults are supported.

    Notes
    -----
    Slots are created on the first :meth:`apply_gradients` call for the variables it receives;
    later calls must pass those same variables (gradients may be ``None`` to skip one).
    :attr:`variables` lists the state in Keras's order: iteration, learning rate, then slots.
    """

    _default_name = "optimizer"

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.")
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        if use_ema:
            raise ValueError("rnncore does not support `use_ema=True` yet. "
                             f"Received: use_ema={use_ema!r}")
        if gradient_accumulation_steps is not None:
            raise ValueError("rnncore does not support gradient accumulation yet. Received: "
                             f"gradient_accumulation_steps={gradient_accumulation_steps!r}")
        clips = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        for arg, value in clips.items():
            _check_number(arg, value, allow_none=True)
        if sum(v is not None for v in clips.values()) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be "
                             f"set. Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        _check_number("weight_decay", weight_decay, allow_none=True)
        if loss_scale_factor is not None:
            _check_number("loss_scale_factor", loss_scale_factor, low=np.finfo(float).tiny)
        self.name = name or self._default_name
        self.weight_decay = weight_decay
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.use_ema, self.ema_momentum = use_ema, ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self._iterations = 0
        self._learning_rate = self._check_learning_rate(learning_rate)
        self.built = False
        self._trainable_variables = []
        self._index = {}
        self._slots = []  # (name, array) in Keras's creation order
        self._exclude_ids, self._exclude_pattern = set(), None

    # ----------------------------------------------------------------- learning rate
    @staticmethod
    def _check_learning_rate(value):
        if isinstance(value, schedules.LearningRateSchedule) or callable(value):
            return value
        _check_number("learning_rate", value)
        # Keras keeps the rate in a floatx variable, so 0.001 reads back as float32(0.001).
        return np.dtype(floatx()).type(value)

    @property
    def learning_rate(self):
        """The current learning rate as a float (a schedule is evaluated at ``iterations``)."""
        return float(self._current_learning_rate())

    @learning_rate.setter
    def learning_rate(self, value):
        if (isinstance(self._learning_rate, schedules.LearningRateSchedule)
                and not callable(value)):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` as its "
                            "`learning_rate`, hence its learning rate is not settable.")
        self._learning_rate = self._check_learning_rate(value)

    def _current_learning_rate(self):
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            return lr(self._iterations)
        return lr() if callable(lr) else lr

    @property
    def iterations(self):
        """Number of ``apply_gradients`` calls so far."""
        return self._iterations

    # ----------------------------------------------------------------- state
    def build(self, variables):
        """Create the slots for ``variables`` (done by the first ``apply_gradients``)."""
        if self.built:
            return
        self._trainable_variables = list(variables)
        self._index = {id(v): i for i, v in enumerate(self._trainable_variables)}
        self.built = True

    def _add_slots(self, names, init=0.0):
        # Interleaved per variable, as Keras's add_optimizer_variables orders them.
        out = tuple([] for _ in names)
        for var in self._trainable_variables:
            for slot_list, slot in zip(out, names):
                arr = np.full(var.shape, _cast(init, var.dtype), dtype=var.dtype)
                slot_list.append(arr)
                self._slots.append((f"{var.path.replace('/', '_')}_{slot}", arr))
        return out

    @property
    def variables(self):
        """Optimizer state in Keras's order (the scalars are copies, the slots live arrays)."""
        out = [np.array(self._iterations, dtype=np.int64)]
        if not callable(self._learning_rate):
            out.append(np.array(self._learning_rate))
        return out + [arr for _, arr in self._slots]

    def save_own_variables(self, store):
        """Write :attr:`variables` into ``store`` under keys ``"0"``, ``"1"``, ... as Keras."""
        for i, arr in enumerate(self.variables):
            store[str(i)] = np.array(arr)

    def load_own_variables(self, store):
        """Inverse of :meth:`save_own_variables`; the optimizer must be built."""
        current = self.variables
        if len(store.keys()) != len(current):
            raise ValueError(f"Optimizer '{self.name}' has {len(current)} variables but the "
                             f"store holds {len(store.keys())}; call build() first.")
        for i, arr in enumerate(current):
            value = np.asarray(store[str(i)])
            if value.shape != arr.shape:
                raise ValueError(f"Optimizer variable {i} has shape {arr.shape}, the stored "
                                 f"value has shape {value.shape}.")
            if i == 0:
                self._iterations = int(value)
            elif i == 1 and not callable(self._learning_rate):
                self._learning_rate = self._learning_rate.dtype.type(value)
            else:
                arr[...] = value

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Skip weight decay for the variables in ``var_list`` and for those whose name
        contains any string of ``var_names`` (a regular-expression search, as Keras)."""
        self._exclude_ids = {id(v) for v in var_list or ()}
        self._exclude_pattern = re.compile("|".join(set(var_names))) if var_names else None

    # ----------------------------------------------------------------- the step
    def apply_gradients(self, grads_and_vars):
        """Apply ``(gradient, variable)`` pairs; a ``None`` gradient leaves its variable alone.
        A gradient is an array of the variable's shape or an ``IndexedSlices`` (module notes).

        Returns the new :attr:`iterations`.
        """
        pairs = list(grads_and_vars)
        if pairs:
            grads, variables = zip(*pairs)
            self.apply(grads, variables)
        return self._iterations

    def apply(self, grads, trainable_variables=None):
        """Apply ``grads`` to ``trainable_variables`` (default: the variables built with)."""
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError("When passing `grads` without `variables`, the optimizer must "
                                 "already be built; call `optimizer.build(variables)` first.")
            variables = self._trainable_variables
        else:
            variables = list(trainable_variables)
            self.build(variables)
            unknown = [v for v in variables if id(v) not in self._index]
            if unknown:
                raise ValueError(f"Unknown variable: {unknown[0]!r}. This optimizer can only be "
                                 "called for the variables it was originally built with; "
                                 "create a new optimizer for a new set of variables.")
        if len(grads) != len(variables):
            raise ValueError(f"Received {len(grads)} gradients for {len(variables)} variables.")
        missing = [v.path for g, v in zip(grads, variables) if g is None]
        pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
        if not pairs:
            raise ValueError("No gradients provided for any variable.")
        if missing:
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing "
                          "the loss.")
        grads, variables = [], []
        for g, v in pairs:
            if not isinstance(g, IndexedSlices):
                g = np.asarray(g)
            if g.shape != v.shape:
                raise ValueError(f"Gradient for variable {v.path!r} has shape {g.shape}, "
                                 f"expected {v.shape}.")
            grads.append(g)
            variables.append(v)
        if self.loss_scale_factor is not None:
            # (Keras's TF backend raises a TypeError on IndexedSlices / float; the slices are
            # divided instead, which is what its other backends do to the dense gradient.)
            grads = [_map_values(g, lambda x: x / x.dtype.type(self.loss_scale_factor))
                     for g in grads]
        grads = self._clip_gradients(grads)
        self._apply_weight_decay(variables)
        self._update_all(grads, variables, self._current_learning_rate())
        for v in variables:
            # Keras's BaseOptimizer.apply: each updated weight's constraint, right after
            if getattr(v, "constraint", None) is not None:
                v.value[...] = np.asarray(v.constraint(v.value))
        self._iterations += 1

    def _update_all(self, grads, variables, learning_rate):
        for g, v in zip(grads, variables):
            lr, i = _cast(learning_rate, v.dtype), self._index[id(v)]
            if isinstance(g, IndexedSlices):
                self._sparse_update_step(g.astype(v.dtype), v.value, lr, i)
            else:
                self.update_step(np.asarray(g, dtype=v.dtype), v.value, lr, i)

    def update_step(self, gradient, value, lr, index):
        """Update ``value`` (the variable's array, in place) from ``gradient``; ``lr`` is in the
        variable's dtype and ``index`` its position in the built variable list."""
        raise NotImplementedError

    def _sparse_update_step(self, gradient, value, lr, index):
        """:meth:`update_step` for an ``IndexedSlices`` gradient. This default sums the slices
        first; the built-in optimizers override it to follow Keras's sparse ops."""
        self.update_step(gradient.to_dense(), value, lr, index)

    def scale_loss(self, loss):
        """``loss * loss_scale_factor`` when a factor is set, else ``loss``."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    def _clip_gradients(self, grads):
        # tf.clip_by_norm and tf.clip_by_value act on an IndexedSlices' values: the norm is
        # that of the occurrences, and each occurrence is clipped before any sum.
        if self.clipnorm and self.clipnorm > 0:
            return [_map_values(g, _clip_by_norm, self.clipnorm) for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            return _clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue and self.clipvalue > 0:
            return [_map_values(g, lambda x: np.clip(x, -x.dtype.type(self.clipvalue),
                                                     x.dtype.type(self.clipvalue)))
                    for g in grads]
        return grads

    def _use_weight_decay(self, variable):
        if id(variable) in self._exclude_ids:
            return False
        pattern = self._exclude_pattern
        return pattern is None or re.search(pattern, variable.name) is None

    def _apply_weight_decay(self, variables):
        if self.weight_decay is None:
            return
        for v in variables:
            if self._use_weight_decay(v):
                lr = _cast(self._current_learning_rate(), v.dtype)
                v.value -= v.value * _cast(self.weight_decay, v.dtype) * lr

    # ----------------------------------------------------------------- config
    def get_config(self):
        """Constructor arguments as a dict (Keras's keys and order)."""
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            lr = schedules.serialize(lr)
        elif not callable(lr):
            lr = float(lr)
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                "clipvalue": self.clipvalue, "use_ema": self.use_ema,
                "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} learning_rate={self.learning_rate:g}>"


def _map_values(g, fn, *args):
    """``fn(g, *args)``, applied to the values of an IndexedSlices (kept sparse)."""
    if isinstance(g, IndexedSlices):
        return g.with_values(fn(g.values, *args))
    return fn(g, *args)


def _dense(g, fn=None):
    """``fn(g)`` (``g`` when ``fn`` is None) as a dense array. An IndexedSlices gets ``fn`` on
    each occurrence, then the occurrences summed per row: a Keras op that keeps the slices
    sparse followed by the add/subtract with a dense tensor that densifies them."""
    if isinstance(g, IndexedSlices):
        return g.with_values(g.values if fn is None else fn(g.values)).to_dense()
    return g if fn is None else fn(g)


def _squares(g, scale=None):
    """``scale * g**2`` (``g**2`` without `scale`) as a dense array; for an IndexedSlices each
    occurrence is squared (and scaled) before the occurrences are summed per row, as
    :func:`_dense` with that function, in one compiled pass."""
    if isinstance(g, IndexedSlices):
        return g.squares_to_dense(scale)
    return np.square(g) if scale is None else scale * np.square(g)


def _clip_by_norm(g, clipnorm):
    # tf.clip_by_norm: g * c / max(||g||, c), with a zero norm left at zero.
    c = g.dtype.type(clipnorm)
    l2sum = np.sum(g * g, dtype=g.dtype)
    l2norm = np.sqrt(l2sum) if l2sum > 0 else l2sum
    return (g * c) / np.maximum(l2norm, c)


def _clip_by_global_norm(grads, clipnorm):
    # An IndexedSlices adds the squares of its occurrences to the norm, and Keras's `g * scale`
    # (no IndexedSlices.__mul__: the tensor's __rmul__ converts it) hands on a dense gradient.
    values = [g.values if isinstance(g, IndexedSlices) else g for g in grads]
    dt = values[0].dtype.type
    norm = np.sqrt(np.sum(np.stack([np.sum(np.square(g)) for g in values])))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = dt(clipnorm) * np.minimum(dt(1.0) / norm, dt(1.0 / clipnorm))
        scale = scale + (norm - norm)  # a non-finite norm makes the scale NaN, as in Keras
    return [(g.to_dense() if isinstance(g, IndexedSlices) else g) * scale for g in grads]


class SGD(Optimizer):
    """Gradient descent, with optional (Nesterov) momentum.

    ``m = momentum * m - lr * g``; ``w += m`` (or ``w += momentum * m - lr * g`` with
    ``nesterov=True``); without momentum ``w -= lr * g``.

    Parameters
    ----------
    learning_rate : float, default 0.01.
    momentum : float in [0, 1], default 0.
    nesterov : bool, default False.
    **kwargs : the common arguments of :class:`Optimizer`.
    """

    _default_name = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        _check_number("momentum", momentum, high=1.0)
        self.momentum, self.nesterov = momentum, nesterov

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._momentums = self._add_slots(["momentum"])[0] if self.momentum != 0 else []

    def update_step(self, g, w, lr, i):
        if self.momentum == 0:
            w -= g * lr
            return
        mom, m = _cast(self.momentum, w.dtype), self._momentums[i]
        np.multiply(m, mom, out=m)
        m -= g * lr
        if self.nesterov:
            w += m * mom - g * lr
        else:
            w += m

    def _sparse_update_step(self, g, w, lr, i):
        # multiply(slices, lr) stays sparse; assign_sub scatters it and subtract(m * momentum,
        # slices) sums it: the same as dense up to rounding.
        step = _dense(g, lambda x: x * lr)
        if self.momentum == 0:
            w -= step
            return
        mom, m = _cast(self.momentum, w.dtype), self._momentums[i]
        np.multiply(m, mom, out=m)
        m -= step
        if self.nesterov:
            w += m * mom - step
        else:
            w += m

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root mean square of recent gradients.

    ``v = rho * v + (1 - rho) * g**2``; ``w -= lr * g / sqrt(v + epsilon)`` (with
    ``centered=True`` the running mean ``a`` of ``g`` is used: ``sqrt(v - a**2 + epsilon)``;
    with momentum the step goes through ``m = momentum * m + step``).

    Parameters
    ----------
    learning_rate : float, default 0.001.
    rho : float in [0, 1], default 0.9.
    momentum : float in [0, 1], default 0.
    epsilon : float, default 1e-7.
    centered : bool, default False.
    **kwargs : the common arguments of :class:`Optimizer`.
    """

    _default_name = "rm_sprop"  # Keras's snake case of "RMSprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        _check_number("rho", rho, high=1.0)
        _check_number("momentum", momentum, high=1.0)
        _check_number("epsilon", epsilon)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._velocities = self._add_slots(["velocity"])[0]
        self._momentums = self._add_slots(["momentum"])[0] if self.momentum > 0 else []
        self._average_gradients = (self._add_slots(["average_gradient"])[0]
                                   if self.centered else [])
        self._row_scratch_by_index = {}

    def update_step(self, g, w, lr, i):
        dt = w.dtype.type
        rho, one_minus_rho, eps = dt(self.rho), dt(1 - self.rho), dt(self.epsilon)
        v = self._velocities[i]
        np.multiply(v, rho, out=v)
        v += one_minus_rho * np.square(g)
        if self.centered:
            a = self._average_gradients[i]
            np.multiply(a, rho, out=a)
            a += one_minus_rho * g
            denominator = v - np.square(a) + eps
        else:
            denominator = v + eps
        increment = (lr * g) / np.sqrt(denominator)
        if self.momentum > 0:
            m = self._momentums[i]
            np.multiply(m, dt(self.momentum), out=m)
            m += increment
            w -= m
        else:
            w -= increment

    def _sparse_update_step(self, g, w, lr, i):
        # One compiled step (_rows.rmsprop_rows) doing Keras's sparse ops to the bit: the table
        # decays once, and only the rows the batch touched are read again. For Embedding(10000,
        # 64) and 6,400 ids a batch: 0.45 ms (0.6 ms with the caches cold, as in training)
        # where NumPy's form of the same ops took 1.3 ms.
        dt = w.dtype.type
        v = self._velocities[i]
        a = self._average_gradients[i] if self.centered else None
        m = self._momentums[i] if self.momentum > 0 else None
        arrays = [w, v] + [x for x in (a, m) if x is not None]
        if w.dtype not in (np.float32, np.float64) or w.ndim < 2 or not all(
                x.flags.c_contiguous for x in arrays):
            return self._sparse_update_step_dense(g, w, lr, i)
        rows = w.shape[0]
        w2, v2 = w.reshape(rows, -1), v.reshape(rows, -1)
        none = np.empty((0, w2.shape[1]), w.dtype)
        indices = g._int_indices()
        slot, sums = self._row_scratch(i, rows, min(indices.size, rows), w2.shape[1], w.dtype)
        # the row width written out: -1 cannot be inferred for a batch without ids
        values = np.ascontiguousarray(g.values.reshape(indices.size, w2.shape[1]))
        _rows.rmsprop_rows(indices, values,
                           lr, dt(self.rho), dt(1 - self.rho), dt(self.epsilon),
                           dt(self.momentum), v2,
                           none if a is None else a.reshape(rows, -1),
                           none if m is None else m.reshape(rows, -1), w2,
                           slot, np.empty(indices.size, np.int32),
                           np.empty(sums.shape[1], indices.dtype), sums, get_num_threads())

    def _row_scratch(self, i, rows, n, cols, dtype):
        # Per variable: the row-to-slot map (all -1 between steps) and room for n rows of sums.
        slot, sums = self._row_scratch_by_index.get(i, (None, None))
        if slot is None:
            slot = np.full(rows, -1, np.int32)
        if sums is None or sums.size < 3 * n * cols or sums.dtype != dtype:
            sums = np.empty(3 * n * cols, dtype)
        self._row_scratch_by_index[i] = slot, sums
        # the kernel wants (3, n, cols) C-contiguous: a prefix of a flat buffer is, where a
        # slice [:, :n] of a bigger (3, N, cols) block is not (a shorter last batch)
        return slot, sums[:3 * n * cols].reshape(3, n, cols)

    def _sparse_update_step_dense(self, g, w, lr, i):
        dt = w.dtype.type
        rho, one_minus_rho, eps = dt(self.rho), dt(1 - self.rho), dt(self.epsilon)
        v = self._velocities[i]
        np.multiply(v, rho, out=v)
        # square(slices) squares each occurrence; add(dense, slices) then sums them.
        v += _squares(g, one_minus_rho)
        if self.centered:
            a = self._average_gradients[i]
            np.multiply(a, rho, out=a)
            a += _dense(g, lambda x: one_minus_rho * x)
            denominator = v - np.square(a) + eps
        else:
            denominator = v + eps
        # divide(slices, dense) divides each occurrence by its row of the divisor; assign_sub
        # then subtracts them one by one (add, with momentum, sums them first).
        quotients = (lr * g.values) / np.sqrt(denominator[g.indices])
        if self.momentum > 0:
            m = self._momentums[i]
            np.multiply(m, dt(self.momentum), out=m)
            m += g.with_values(quotients).to_dense()
            w -= m
        else:
            np.subtract.at(w, g.indices, quotients)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class Adam(Optimizer):
    """Adam: bias-corrected running means of the gradient and of its square.

    ``m += (g - m)(1 - beta_1)``; ``v += (g**2 - v)(1 - beta_2)``;
    ``w -= m * lr sqrt(1 - beta_2**t) / (1 - beta_1**t) / (sqrt(v) + epsilon)``, t = step + 1
    (``amsgrad=True`` uses the running maximum of ``v``).

    Parameters
    ----------
    learning_rate : float, default 0.001.
    beta_1, beta_2 : float in [0, 1], defaults 0.9 and 0.999.
    epsilon : float, default 1e-7.
    amsgrad : bool, default False.
    **kwargs : the common arguments of :class:`Optimizer`.
    """

    _default_name = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        _check_number("beta_1", beta_1, high=1.0)
        _check_number("beta_2", beta_2, high=1.0)
        _check_number("epsilon", epsilon)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._momentums, self._velocities = self._add_slots(["momentum", "velocity"])
        if self.amsgrad:
            self._velocity_hats = self._add_slots(["velocity_hat"])[0]

    def update_step(self, g, w, lr, i):
        self._update(g, w, lr, i)

    def _sparse_update_step(self, g, w, lr, i):
        # subtract(slices, m) sums the slices: m as dense. square(slices) squares each
        # occurrence before subtract(., v) sums them: v gains sum_k g_k**2.
        self._update(g, w, lr, i)

    def _update(self, g, w, lr, i):
        """The step for a dense or an IndexedSlices ``g``."""
        dt = w.dtype.type
        step = dt(self._iterations + 1)
        beta_1_power = np.power(_cast(self.beta_1, w.dtype), step)
        beta_2_power = np.power(_cast(self.beta_2, w.dtype), step)
        alpha = lr * np.sqrt(dt(1) - beta_2_power) / (dt(1) - beta_1_power)
        m, v = self._momentums[i], self._velocities[i]
        m += (_dense(g) - m) * dt(1 - self.beta_1)
        v += (_squares(g) - v) * dt(1 - self.beta_2)
        if self.amsgrad:
            v = np.maximum(self._velocity_hats[i], v, out=self._velocity_hats[i])
        w -= (m * alpha) / (np.sqrt(v) + dt(self.epsilon))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (``weight_decay`` defaults to 0.004 and is required).
    Arguments as :class:`Adam`."""

    _default_name = "adam_w"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, **kwargs):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: "
                             "weight_decay=None")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, weight_decay=weight_decay, **kwargs)


class Adagrad(Optimizer):
    """Adagrad: ``acc += g**2``; ``w -= lr * g / sqrt(acc + epsilon)``.

    Parameters
    ----------
    learning_rate : float, default 0.001.
    initial_accumulator_value : float >= 0, default 0.1.
    epsilon : float, default 1e-7.
    **kwargs : the common arguments of :class:`Optimizer`.
    """

    _default_name = "adagrad"

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        _check_number("initial_accumulator_value", initial_accumulator_value)
        _check_number("epsilon", epsilon)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._accumulators = self._add_slots(["accumulator"], self.initial_accumulator_value)[0]

    def update_step(self, g, w, lr, i):
        acc = self._accumulators[i]
        acc += np.square(g)
        w -= (lr * g) / np.sqrt(acc + w.dtype.type(self.epsilon))

    def _sparse_update_step(self, g, w, lr, i):
        acc = self._accumulators[i]
        # assign_add scatters the squared occurrences: acc gains sum_k g_k**2.
        acc += _squares(g)
        # divide(slices, dense) takes each occurrence's row of sqrt(acc + eps).
        denominator = np.sqrt(g.gather(acc) + w.dtype.type(self.epsilon))
        w -= _dense(g, lambda x: (lr * x) / denominator)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon,
                "initial_accumulator_value": self.initial_accumulator_value}


class Nadam(Optimizer):
    """Adam with Nesterov momentum and Keras's momentum schedule ``beta_1 (1 - 0.5 * 0.96**t)``.
    Arguments as :class:`Adam` (no ``amsgrad``)."""

    _default_name = "nadam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        _check_number("beta_1", beta_1, high=1.0)
        _check_number("beta_2", beta_2, high=1.0)
        _check_number("epsilon", epsilon)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._momentums, self._velocities = self._add_slots(["momentum", "velocity"])
        dtype = self._trainable_variables[0].dtype if variables else np.dtype(floatx())
        self._u_product = np.ones((), dtype=dtype)
        self._slots.append(("u_product", self._u_product))

    def _update_all(self, grads, variables, learning_rate):
        dt = self._u_product.dtype.type
        decay = np.power(dt(0.96), dt(self._iterations + 1))
        self._u_product[...] = self._u_product * dt(self.beta_1) * (dt(1.0) - dt(0.5) * decay)
        super()._update_all(grads, variables, learning_rate)

    def update_step(self, g, w, lr, i):
        self._update(g, w, lr, i)

    def _sparse_update_step(self, g, w, lr, i):
        # As Adam: m sees the summed slices, v the summed squares; m_hat's gradient term is
        # scaled per occurrence, then summed by add(dense, slices).
        self._update(g, w, lr, i)

    def _update(self, g, w, lr, i):
        """The step for a dense or an IndexedSlices ``g``."""
        dt = w.dtype.type
        decay = _cast(0.96, w.dtype)
        beta_1, beta_2 = _cast(self.beta_1, w.dtype), _cast(self.beta_2, w.dtype)
        u_t = beta_1 * (dt(1.0) - dt(0.5) * np.power(decay, dt(self._iterations + 1)))
        u_t_1 = beta_1 * (dt(1.0) - dt(0.5) * np.power(decay, dt(self._iterations + 2)))
        u_product_t = dt(self._u_product)
        u_product_t_1 = u_product_t * u_t_1
        beta_2_power = np.power(beta_2, dt(self._iterations + 1))
        m, v = self._momentums[i], self._velocities[i]
        m += (_dense(g) - m) * (dt(1) - beta_1)
        v += (_squares(g) - v) * (dt(1) - beta_2)
        m_hat = ((u_t_1 * m) / (dt(1) - u_product_t_1)
                 + _dense(g, lambda x: ((dt(1) - u_t) * x) / (dt(1) - u_product_t)))
        v_hat = v / (dt(1) - beta_2_power)
        w -= (m_hat * lr) / (np.sqrt(v_hat) + dt(self.epsilon))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


_OPTIMIZERS = {c.__name__.lower(): c for c in (SGD, RMSprop, Adam, AdamW, Adagrad, Nadam)}


def serialize(optimizer):
    """An optimizer as Keras's serialized dict (``module``, ``class_name``, ``config``)."""
    return {"module": "keras.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(), "registered_name": None}


def deserialize(config):
    """Inverse of :func:`serialize`; ``class_name`` is matched case-insensitively, as Keras."""
    name = str(config.get("class_name", "")).lower() if isinstance(config, dict) else None
    if name not in _OPTIMIZERS:
        raise ValueError(f"Could not interpret optimizer config: received optimizer={config!r}. "
                         f"Known class names: {sorted(_OPTIMIZERS)}.")
    return _OPTIMIZERS[name].from_config(config.get("config", {}))


def get(identifier):
    """An optimizer from a name (``'adam'``, case-insensitive), a config dict or an instance.

    Parameters
    ----------
    identifier : str, dict, Optimizer or None.

    Returns
    -------
    Optimizer or None
    """
    if identifier is None or isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str) and identifier.lower() in _OPTIMIZERS:
        return _OPTIMIZERS[identifier.lower()]()
    raise ValueError(f"Could not interpret optimizer identifier: received "
                     f"optimizer={identifier!r}. Expected one of {sorted(_OPTIMIZERS)}, "
                     "an Optimizer instance or a config dict.")
