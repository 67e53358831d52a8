"""The optimizers' shared base: :class:`Optimizer` (clipping, weight decay, step counter,
learning rate, state) and the helpers that follow Keras's ops on dense gradients and on
IndexedSlices (see the notes of :mod:`rnncore.optimizers`)."""
import numbers
import re
import warnings

import numpy as np

from . import schedules
from .._config import floatx
from .._indexed_slices import IndexedSlices, RowSums
from .._kernels import _rows


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
        """The current learning rate (a schedule is evaluated at ``iterations``): a float that,
        like Keras 3's learning-rate Variable, also has ``assign(value)`` and ``numpy()``."""
        return _LearningRate(self._current_learning_rate(), self)

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
            if not isinstance(g, (IndexedSlices, RowSums)):
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

    # whether _row_sums_update_step takes an Embedding's gradient as per-row sums
    # (rnncore._indexed_slices.RowSums) with Keras's sparse step's result: only where that step
    # needs no more of the slices than each row's sum and sum of squares (RMSprop, Adam,
    # Adagrad, SGD)
    takes_row_sums = False

    def _update_all(self, grads, variables, learning_rate):
        for g, v in zip(grads, variables):
            lr, i = _cast(learning_rate, v.dtype), self._index[id(v)]
            if isinstance(g, IndexedSlices):
                self._sparse_update_step(g.astype(v.dtype), v.value, lr, i)
            elif isinstance(g, RowSums):
                self._row_sums_update_step(g.astype(v.dtype), v.value, lr, i)
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

    def _gradient_scale(self):
        """The factor of :meth:`scale_loss` (None for none). Keras's trainer differentiates
        the scaled loss and :meth:`apply` divides the factor out again; rnncore's trainer,
        which differentiates the loss itself, multiplies the gradients by it instead."""
        return self.loss_scale_factor

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


class _LearningRate(float):
    """``optimizer.learning_rate`` as read: the value as a float, plus the part of Keras's
    Variable interface callbacks use (``lr.assign(x)``, ``lr.numpy()``,
    ``keras.backend.set_value(lr, x)``). Assigning sets the optimizer's rate, as
    ``optimizer.learning_rate = x`` does; this float keeps the value it was read with."""

    def __new__(cls, value, optimizer):
        self = super().__new__(cls, float(value))
        self._optimizer, self._dtype = optimizer, np.asarray(value).dtype
        return self

    def assign(self, value):
        self._optimizer.learning_rate = float(np.asarray(value))
        return self._optimizer.learning_rate

    def numpy(self):
        return self._dtype.type(self)

    @property
    def dtype(self):
        return self._dtype.name

    @property
    def value(self):
        return self.numpy()

    def __reduce__(self):  # pickles (and deep-copies) as the plain float it reads as
        return float, (float(self),)


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
    if isinstance(g, RowSums):
        if fn is not None:
            raise TypeError("a RowSums gradient holds the slices' sums only, not fn of each")
        return g.sums
    return g if fn is None else fn(g)


def _squares(g, scale=None):
    """``scale * g**2`` (``g**2`` without `scale`) as a dense array; for an IndexedSlices each
    occurrence is squared (and scaled) before the occurrences are summed per row, as
    :func:`_dense` with that function, in one compiled pass."""
    if isinstance(g, IndexedSlices):
        return g.squares_to_dense(scale)
    if isinstance(g, RowSums):
        if scale is not None:
            raise TypeError("a RowSums gradient holds the squares' sums, not scaled squares")
        return g.square_sums
    return np.square(g) if scale is None else scale * np.square(g)


def _scatter_add_squares(dense, g):
    """``dense[i_k] += g_k**2`` for each slice k of the IndexedSlices ``g``, one at a time in
    order, in place: TensorFlow's scatter_add, which Keras's ``assign_add`` does with slices.
    Rows no slice names are neither read nor written: the cost follows the batch, not the
    table."""
    table = _compiled_rows(dense, g.values)
    if table is None:
        np.add.at(dense, g.indices, np.square(g.values))
    else:
        values = np.ascontiguousarray(g.values.reshape(g.indices.size, table.shape[1]))
        _rows.scatter_add_squares(g._int_indices(), values, 0, False, table)


def _scatter_add(dense, g, values):
    """``dense[i_k] += values[k]`` for each slice k of ``g``, one at a time in order, in place:
    TensorFlow's scatter_add (Keras's ``assign_add`` with slices); see
    :func:`_scatter_add_squares`. Keras's ``assign_sub(w, x)`` is ``_scatter_add(w, g, -x)``,
    to the bit (``w + (-x)`` is ``w - x``, and ``(-a * b) / c`` is ``-(a * b / c)``)."""
    table = _compiled_rows(dense, values)
    if table is None:
        np.add.at(dense, g.indices, values)
    else:
        values = np.ascontiguousarray(values.reshape(g.indices.size, table.shape[1]))
        _rows.scatter_add_rows(g._int_indices(), values, table)


def _compiled_rows(dense, values):
    # ``dense`` as the (rows, C) table the compiled scatters take, or None where they cannot
    if (dense.dtype in (np.float32, np.float64) and dense.ndim and dense.flags.c_contiguous
            and values.dtype == dense.dtype):
        return dense.reshape(dense.shape[0], -1)
    return None


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


class _OneStepForSlices(Optimizer):
    """An optimizer whose one ``_update(g, w, lr, i)`` takes a dense gradient and an
    ``IndexedSlices`` alike: it reads ``g`` only through :func:`_dense` and :func:`_squares`,
    which follow Keras's ops on slices (see the package docstring), so the dense and the sparse
    step are both that method. Each ``_update`` says how the slices meet its arithmetic."""

    def update_step(self, g, w, lr, i):
        self._update(g, w, lr, i)

    def _sparse_update_step(self, g, w, lr, i):
        self._update(g, w, lr, i)

    def _update(self, g, w, lr, i):
        raise NotImplementedError


class _AdamArguments(_OneStepForSlices):
    """Adam's arguments (``beta_1``, ``beta_2`` in [0, 1], ``epsilon`` >= 0, checked and kept in
    the config), shared by Adam, Adamax, Nadam and Lamb; ``build`` gives each variable the two
    slots named in ``_slot_names`` (Keras's names), kept as ``_momentums`` (the running mean of
    ``g``) and ``_velocities`` (Adam's running mean of ``g**2``, Adamax's infinity norm)."""

    _slot_names = ("momentum", "velocity")

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
        self._momentums, self._velocities = self._add_slots(list(self._slot_names))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
