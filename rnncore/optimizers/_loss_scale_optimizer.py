"""LossScaleOptimizer: dynamic loss scaling around another optimizer."""
import numbers

import numpy as np

from .._indexed_slices import IndexedSlices
from ._base import Optimizer, _map_values

# the common arguments Keras's LossScaleOptimizer refuses, with the defaults it lets through
# (older Keras configs wrote them all)
_BASE_DEFAULTS = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None,
                  "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
                  "ema_overwrite_frequency": None, "loss_scale_factor": None,
                  "gradient_accumulation_steps": None}


class LossScaleOptimizer(Optimizer):
    """Wraps ``inner_optimizer`` with Keras's dynamic loss scaling.

    The trainer differentiates ``scale_loss(loss)``, the loss times the current scale, and
    this optimizer divides the gradients by the scale before the inner optimizer's step. A
    step whose gradients hold an inf or a NaN is skipped and halves the scale; after
    ``dynamic_growth_steps`` finite steps in a row the scale doubles.

    Loss scaling keeps float16 gradients from underflowing. rnncore computes in float32 or
    float64, where scaling by a power of two changes no bit of a finite gradient, so training
    matches Keras's; the skipping of non-finite steps and the scale's schedule are Keras's.

    Parameters
    ----------
    inner_optimizer : Optimizer, the optimizer that takes the steps (its own
        ``loss_scale_factor`` is switched off, as in Keras).
    initial_scale : float > 0, default 2**15.
    dynamic_growth_steps : int > 0, default 2000.
    name : str, optional (default 'loss_scale_optimizer').

    Notes
    -----
    :attr:`variables` are this optimizer's (its own iteration and learning rate, never used,
    then ``step_counter`` and ``dynamic_scale``) followed by the inner optimizer's, as in
    Keras; ``iterations`` and ``learning_rate`` are the inner optimizer's.

    Examples
    --------
    >>> opt = LossScaleOptimizer(Adam(1e-3), initial_scale=1024.0)
    >>> model.compile(optimizer=opt, loss="mse")                       # doctest: +SKIP
    """

    _default_name = "loss_scale_optimizer"

    def __init__(self, inner_optimizer, initial_scale=2.0 ** 15, dynamic_growth_steps=2000,
                 name=None, **kwargs):
        if not kwargs.pop("dynamic", True):
            raise ValueError("LossScaleOptimizer no longer supports `dynamic=False`. Instead, "
                             "simply set `loss_scale_factor` directly on the "
                             "`inner_optimizer`.")
        for arg, default in _BASE_DEFAULTS.items():
            if arg in kwargs and kwargs.pop(arg) != default:
                raise ValueError(f"LossScaleOptimizer does not support `{arg}`. Instead, set "
                                 f"`{arg}` on the `inner_optimizer`.")
        if kwargs:
            raise ValueError("LossScaleOptimizer does not support arguments: "
                             f"`{'`, `'.join(kwargs)}`.")
        if not isinstance(inner_optimizer, Optimizer):
            raise ValueError("Argument `inner_optimizer` must be an rnncore optimizer "
                             f"instance. Received: inner_optimizer={inner_optimizer!r}")
        if (not isinstance(initial_scale, numbers.Real) or isinstance(initial_scale, bool)
                or not np.isfinite(initial_scale) or initial_scale <= 0):
            raise ValueError("Argument `initial_scale` must be a positive float. Received: "
                             f"initial_scale={initial_scale!r}")
        if (not isinstance(dynamic_growth_steps, numbers.Integral)
                or isinstance(dynamic_growth_steps, bool) or dynamic_growth_steps < 1):
            raise ValueError("Argument `dynamic_growth_steps` must be a positive integer. "
                             f"Received: dynamic_growth_steps={dynamic_growth_steps!r}")
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = inner_optimizer
        self.initial_scale, self.dynamic_growth_steps = initial_scale, dynamic_growth_steps
        # the gradients would otherwise be unscaled twice
        inner_optimizer.loss_scale_factor = None
        self._step_counter, self._dynamic_scale = 0, np.float32(initial_scale)

    def build(self, variables):
        if self.built:
            return
        # Keras builds the inner optimizer with automatic tracking off: state it makes
        # without add_variable (Adafactor's placeholders) is then not among its variables
        self.inner_optimizer._tracks_placeholders = False
        self.inner_optimizer.build(variables)
        super().build(variables)
        self._step_counter, self._dynamic_scale = 0, np.float32(self.initial_scale)

    @property
    def dynamic_scale(self):
        """The current loss scale (float32, as Keras's variable)."""
        return self._dynamic_scale if self.built else np.float32(self.initial_scale)

    @property
    def step_counter(self):
        """Finite steps since the scale last changed."""
        return self._step_counter

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.inner_optimizer.learning_rate = value

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    @property
    def variables(self):
        own = [np.array(self._iterations, np.int64), np.array(self._learning_rate),
               np.array(self._step_counter, np.int64), np.array(self._dynamic_scale)]
        return own + self.inner_optimizer.variables

    def load_own_variables(self, store):
        """Inverse of :meth:`save_own_variables`: this optimizer's four values, then the
        inner optimizer's."""
        count = len(self.variables)
        if len(store.keys()) != count:
            raise ValueError(f"Optimizer '{self.name}' has {count} variables but the store "
                             f"holds {len(store.keys())}; call build() first.")
        self._iterations = int(np.asarray(store["0"]))
        self._step_counter = int(np.asarray(store["2"]))
        self._dynamic_scale = np.float32(np.asarray(store["3"]))
        self.inner_optimizer.load_own_variables(
            {str(i - 4): store[str(i)] for i in range(4, count)})

    def scale_loss(self, loss):
        """``loss`` times the current scale."""
        return loss * self.dynamic_scale

    def _gradient_scale(self):
        return self.dynamic_scale

    def apply(self, grads, trainable_variables=None):
        """Unscale ``grads`` and let the inner optimizer apply them, or, when any is not
        finite, skip the step and halve the scale (see the class notes)."""
        grads = list(grads)
        if trainable_variables is not None:
            self.build(list(trainable_variables))
        elif not self.built:
            raise ValueError("When passing `grads` without `variables`, the optimizer must "
                             "already be built; call `optimizer.build(variables)` first.")
        finite = all(np.all(np.isfinite(g.values if isinstance(g, IndexedSlices) else g))
                     for g in grads if g is not None)
        if not finite:
            self._step_counter, self._dynamic_scale = 0, self._dynamic_scale * np.float32(0.5)
            return
        scale = self._dynamic_scale
        unscaled = [None if g is None else _map_values(g, lambda x: x / x.dtype.type(scale))
                    for g in grads]
        self.inner_optimizer.apply(unscaled, trainable_variables)
        if self._step_counter == self.dynamic_growth_steps - 1:
            self._step_counter, self._dynamic_scale = 0, self._dynamic_scale * np.float32(2.0)
        else:
            self._step_counter += 1

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        self.inner_optimizer.exclude_from_weight_decay(var_list, var_names)

    def get_config(self):
        """``name``, the inner optimizer serialized, ``initial_scale`` and
        ``dynamic_growth_steps`` (Keras's keys: the common arguments are not written)."""
        from . import serialize

        return {"name": self.name, "inner_optimizer": serialize(self.inner_optimizer),
                "initial_scale": self.initial_scale,
                "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from . import deserialize

        config = dict(config)
        inner = config.pop("inner_optimizer")
        inner = deserialize(inner, custom_objects) if isinstance(inner, dict) else inner
        return cls(inner, **config)

    def __repr__(self):
        return f"<LossScaleOptimizer name={self.name!r} inner={self.inner_optimizer!r}>"
