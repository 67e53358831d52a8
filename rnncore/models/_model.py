"""Model: compile, fit, evaluate, predict and the weight API shared by Sequential and
functional models.

A subclass supplies the graph: ``layers``, ``_build_from(x)``, ``_check_inputs(x)``,
``_forward(x, training)`` and ``_backward(d_output, from_logits)``. Per batch the trainer does
one forward and one backward per layer (all the per-timestep work is inside the kernels) and
one optimizer update (``_step.TrainStep``); nothing here loops over timesteps.
"""
import contextlib
import warnings

import numpy as np

from ..layers import _recorded
from ..layers._base import (_NO_INPUTS, Layer, _is_symbolic, _with_keras_mask,
                            inputs_by_keyword)
from .. import _config
from .. import metrics as _metrics
from .. import optimizers as _optimizers
from ..recurrent import Projections
from ..recurrent._blas_threads import single_threaded_blas
from ..callbacks import CallbackList
from . import _adapters, _data, _heads
from .._serialization import with_custom_objects
from ._locking import exclusive
from ._compute_loss import ComputeLoss
from ._step import TrainStep
from ._subclassed import CallModel


def _functional_arguments(args, kwargs):
    """Keras's test for a Model constructed as a functional model."""
    return len(args) == 2 or (len(args) == 1 and "outputs" in kwargs) or (
        "inputs" in kwargs and "outputs" in kwargs)


_FUNCTIONAL_SUBCLASSES = {}


def _functional_subclass(cls):
    """`cls` with Functional after it in the method order, made once per class."""
    from ._functional import Functional
    from ..layers._base import _snake

    made = _FUNCTIONAL_SUBCLASSES.get(cls)
    if made is None:
        made = type(cls.__name__, (cls, Functional), {
            "__module__": cls.__module__, "__qualname__": cls.__qualname__,
            "_functional_name": _snake(cls.__name__)})
        _FUNCTIONAL_SUBCLASSES[cls] = made
    return made



def _log_value(metric):
    """A metric's result as Keras's logs hold it: a float, or (F1Score's per-class scores, a
    vector) a float32 array, which the progress bar shows as its mean. Read every batch, so
    through the class's own ``result`` (``__wrapped__``: the user-facing one also dresses a
    float as a scalar tensor, which the logs do not want)."""
    result = type(metric).result
    value = getattr(result, "__wrapped__", result)(metric)
    if type(value) is float:
        return value
    value = np.asarray(value)
    return float(value) if value.ndim == 0 else value.astype(np.float32)

class Model(ComputeLoss, TrainStep, CallModel, Layer):
    """A trainable network with Keras's ``compile`` / ``fit`` / ``evaluate`` / ``predict``.

    Build one with ``Model(inputs, outputs)`` (functional) or :class:`Sequential`. As in
    Keras, a model is also a layer: call it on a tensor in a functional graph, or put it in a
    Sequential, and its weights train with the outer model's.

    Threads: a model may be shared between threads (a server's request threads). Its entry
    points (``fit``, ``evaluate``, ``predict``, ``*_on_batch``, calling the model,
    ``get_weights``/``set_weights``, ``save``/``save_weights``/``load_weights``) hold the
    locks of all its layers while they run, so concurrent calls on one model, or on models
    that share layers, run one after another and each gets the result it would get alone;
    models with no layer in common run in parallel. Not covered: calling a layer directly
    (``layer(x)``) while a model that holds it runs in another thread, changing a layer's
    weights through ``layer.set_weights`` or a variable's ``assign`` during another thread's
    ``fit``, and compiling a model while it trains.
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model:
            from ._functional import Functional

            return super().__new__(Functional)
        return super().__new__(cls, *args, **kwargs)  # (a user's class keeps its arguments)

    def __init__(self, *args, name=None, trainable=True, dtype=None, **kwargs):
        from ._functional import Functional

        if _functional_arguments(args, kwargs) and not isinstance(self, Functional):
            # Keras: a subclass of Model given inputs and outputs is a functional model of
            # that class (its own methods first, then Functional's)
            self.__class__ = _functional_subclass(type(self))
            Functional.__init__(self, *args, name=name, trainable=trainable, **kwargs)
            return
        if args:
            # Keras's Model takes only keywords, unless it is given inputs and outputs
            types = ", ".join(type(a).__name__ for a in args)
            hint = " (did you write super().__init__(self)?)" if any(
                a is self for a in args) else ""
            raise TypeError(
                f"{type(self).__name__}: Model.__init__() takes the keyword arguments name= "
                f"and trainable=, or inputs and outputs for a functional model; got "
                f"positional arguments of type ({types}) and keyword arguments "
                f"{sorted(kwargs)}{hint}")
        # (dtype and Layer's other keywords: a subclass's config gives them back to it)
        Layer.__init__(self, name=name, trainable=trainable, dtype=dtype, **kwargs)
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._loss_obj = None  # the single output's Loss (None with several outputs)
        self._metric_ids, self._weighted_metric_ids = [], []
        self._heads = []  # what compile gave each output (see _heads.Head)
        self._loss_tracker = _metrics.Mean(name="loss")
        self._output_mask = None  # Keras's mask on the last forward's output
        self._projections = None  # an ops.Projections during a pass with frozen weights
        self._input_grads = False  # whether the first layers give input gradients (nested)

    @classmethod
    @with_custom_objects
    def from_config(cls, config):
        """A model from ``get_config()``'s dict, as Keras's ``Model.from_config``: a functional
        model's config (its ``layers``, ``input_layers``, ``output_layers``) rebuilds the
        graph; any other is passed to the class's constructor. ``custom_objects``
        (``{name: class}``) resolves the program's own layer classes."""
        if cls is Model and {"layers", "input_layers", "output_layers"} <= set(config):
            from ._functional import Functional

            return Functional.from_config(config)
        return cls(**config)

    # ---- weights ------------------------------------------------------------------------
    @property
    def weights(self):
        if self._rnncore_call:  # a subclass with call: its own weights, then its layers'
            return self._all_variables()
        return [w for layer in self.layers for w in layer.weights]

    def _trainable_children(self):
        if self._rnncore_call:
            return Layer._trainable_children(self)
        return list(self.layers) if "_layers" in self.__dict__ else []

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        if self._rnncore_call:
            return Layer.trainable_weights.fget(self)
        return [w for layer in self.layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        if self._rnncore_call:
            return Layer.non_trainable_weights.fget(self)
        return [w for layer in self.layers for w in layer.non_trainable_weights]

    variables = weights
    trainable_variables = trainable_weights

    @exclusive
    def get_weights(self):
        return [w.numpy() for w in self.weights]

    @exclusive
    def set_weights(self, weights):
        """Set all weights from a list in ``get_weights()`` order (Keras's order)."""
        mine = self.weights
        if not isinstance(weights, (list, tuple)):
            raise ValueError(f"set_weights expects a list of arrays (as get_weights returns), "
                             f"got {type(weights).__name__}")
        weights = list(weights)
        if len(weights) != len(mine):
            raise ValueError(f"Model {self.name!r} has {len(mine)} weights, but the weights list "
                             f"has {len(weights)} elements")
        for var, w in zip(mine, weights):
            if np.shape(w) != var.shape:
                raise ValueError(f"weight {var.path!r}: expected shape {var.shape}, got "
                                 f"{np.shape(w)}")
        # every value checked before the first is assigned: a bad one leaves all as they were
        weights = [var.checked(w) for var, w in zip(mine, weights)]
        for var, w in zip(mine, weights):
            var.assign(w)

    def count_params(self):
        if not self.built:
            raise ValueError(f"Model {self.name!r} is not built yet: call it on data or give its "
                             "first layer an input shape")
        return int(sum(w.value.size for w in self.weights))

    def get_layer(self, name=None, index=None):
        if index is not None:
            if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
                raise ValueError(f"get_layer: index must be an integer, got {index!r}")
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"index {index} is out of range for {len(self.layers)} layers")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name!r}. Existing layers are: "
                         f"{[layer.name for layer in self.layers]}")

    def reset_states(self):
        for layer in self.layers:
            if getattr(layer, "stateful", False):
                layer.reset_states()

    reset_state = reset_states

    # ---- compile ------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True):
        """Configure training: ``compile(optimizer, loss, metrics)`` with names or objects.

        ``weighted_metrics`` are metrics that take ``fit``'s / ``evaluate``'s sample weights
        (``metrics`` do not), named ``weighted_<name>`` when a metric has that name, as Keras
        names them. A model with several outputs takes, as Keras, one loss for all outputs or
        a list / dict (by ``output_names``) of them, ``loss_weights`` likewise, and
        ``metrics`` as a list with one entry per output or a dict. Under the
        ``mixed_float16`` policy the optimizer is wrapped in a LossScaleOptimizer, as Keras
        does unless ``auto_scale_loss=False``."""
        self.optimizer = _optimizers.get(optimizer)
        if (auto_scale_loss and self.optimizer is not None
                and self.dtype_policy.name == "mixed_float16"
                and not isinstance(self.optimizer, _optimizers.LossScaleOptimizer)):
            # Keras's float16 loss scaling, kept so the model's optimizer and saved config
            # are Keras's (rnncore computes such a model in float32: see mixed_precision)
            self.optimizer = _optimizers.LossScaleOptimizer(self.optimizer,
                                                            name="loss_scale_optimizer")
        self._compiled_with = (loss, loss_weights, metrics, weighted_metrics)
        self._make_heads()
        self.loss = loss
        self.compiled = True

    def get_compile_config(self):
        """Keras's ``get_compile_config``: what ``compile`` was given (optimizer, loss,
        metrics...) as Keras serializes it, or ``{}`` for a model not compiled."""
        from ._keras_config import compile_config

        return (compile_config(self) or {}) if self.compiled else {}

    def compile_from_config(self, config):
        """Keras's ``compile_from_config``: compile with a ``get_compile_config`` dict (a
        fresh optimizer with the same settings)."""
        from ._keras_files import compile_from

        if config:
            compile_from(self, config, f"Model {self.name!r}")

    def _make_heads(self):
        """The heads of the outputs as compile described them (again when a subclassed
        model's first call shows outputs other than the ones assumed at compile)."""
        names = self._head_names()
        loss = self._compiled_with[0]
        if self._rnncore_call and self._call_outputs is None and \
                isinstance(loss, (list, tuple, dict)) and len(loss) > 1:
            # a subclassed model not called yet, compiled for several outputs: the heads
            # wait for its first call (at fit, evaluate, ...), as Keras's CompileLoss
            self._heads, self._heads_for = [], None
            return
        # Keras's compile() needs no loss: predict, get_config and pickling work, and fit or
        # evaluate then raise Keras's error (_require_compiled); nor does a model whose
        # compute_loss makes its own
        self._heads = [] if loss is None and not self._overrides_compute_loss() else \
            _heads.make_heads(*self._compiled_with, names,
                              loss_optional=self._overrides_compute_loss())
        self._heads_for = names
        single = len(self._heads) == 1
        self._loss_obj = self._heads[0].loss_obj if single else None
        self._metric_ids = self._heads[0].metric_ids if single else []
        self._weighted_metric_ids = self._heads[0].weighted_metric_ids if single else []

    def _inputs_by_name(self, x):
        """`x` as the arrays the model takes (a Functional model reads a dict of them)."""
        return x

    def _require_compiled(self, method):
        if not self.compiled:
            raise RuntimeError(f"You must call compile() before {method}(), e.g. "
                               "model.compile(optimizer='rmsprop', loss='binary_crossentropy')")
        # compile() without a loss trains on the model's own losses (add_loss terms, weight
        # and activity penalties), as Keras does; a step that finds none raises Keras's
        # "No loss to compute" (see TrainStep._own_losses_batch)

    @property
    def metrics_names(self):
        """Keras 3's names of ``model.metrics``: ``[]`` before compile, then ``'loss'``,
        ``'compile_metrics'`` (Keras holds all compiled metrics in one object of that name,
        whose values the logs and History spell out), and each output's loss for a model
        with several outputs (in the loss dict's order). A model whose class defines its
        own ``metrics`` gives their names."""
        if type(self).metrics is not Model.metrics:
            return [m.name for m in self.metrics]
        if not self.compiled:
            return []
        names = ["loss"]
        if self._compiled_with[2] is not None or self._compiled_with[3] is not None:
            names.append("compile_metrics")
        return names + [h.loss_tracker.name for h in sorted(self._heads,
                                                            key=lambda h: h.loss_rank)
                        if h.loss_tracker is not None]

    @property
    def metrics(self):
        return [self._loss_tracker] + [m for head in self._heads for m in head.trackers()]

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def _logs(self):
        # a user's metric that divides its reset state (0 / 0) reports nan, as in Keras,
        # without NumPy's warning
        with np.errstate(divide="ignore", invalid="ignore"):
            return {m.name: _log_value(m) for m in self.metrics}

    def _require_targets(self, y, method):
        if y is None and not self._trains_on_own_losses():
            raise ValueError(f"{method}: y (the targets) must be given; received y=None. "
                             "rnncore models train and evaluate against arrays of targets, "
                             f"e.g. model.{method}(x, y)")

    def _prepare(self, x, y, argument="x", y_argument="y"):
        self._note_call_inputs(x)
        x = _data.to_arrays(self._inputs_by_name(x), argument, self._n_inputs(),
                            self._string_inputs())
        if y is not None:
            self._learn_outputs(x)
            names = self._head_names()
            if self.compiled and getattr(self, "_heads_for", names) != names:
                self._make_heads()
            y = self._target_arrays(y, y_argument)
        _data.check_xy(x, y, argument, y_argument)
        x = self._check_inputs(x)
        if not self.built:
            self._build_from(x)
        if y is not None and self._heads:
            ys = y if isinstance(y, list) else [y]
            for i, (head, target) in enumerate(zip(self._heads, ys)):
                if head.loss_obj is not None:
                    head.loss_obj.check_targets(target, self._output_shape(x, i))
        return x, y

    @exclusive
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One optimizer step on one batch; returns the loss (and metrics) of that batch."""
        self._require_compiled("train_on_batch")
        self._require_targets(y, "train_on_batch")
        x, y = self._prepare(x, y)
        sw = self._weights_per_output(sample_weight, class_weight, y)
        self.reset_metrics()
        self._train_batch(x, y, sw)
        return self._results(return_dict)

    @exclusive
    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._require_compiled("test_on_batch")
        self._require_targets(y, "test_on_batch")
        x, y = self._prepare(x, y)
        sw = self._weights_per_output(sample_weight, None, y)
        self.reset_metrics()
        self._test_batch(x, y, sw)
        return self._results(return_dict)

    @exclusive
    def predict_on_batch(self, x):
        x, _ = self._prepare(x, None)
        return self._structure_outputs(_per_output_list(
            _copied(self._forward(x, training=False)), self))

    def _results(self, return_dict):
        logs = self._logs()
        if return_dict:  # Keras hands these through pythonify_logs, which sorts the keys
            return dict(sorted(logs.items()))
        if len(self._heads) > 1:
            values = _heads.result_order(self._heads, logs)
        else:
            values = list(logs.values())
        return values[0] if len(values) == 1 else values

    # ---- fit / evaluate / predict -----------------------------------------------------------
    @exclusive
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` epochs; returns a :class:`rnncore.callbacks.History`.

        ``x`` is an array (a list of arrays for several inputs) with targets ``y``, or a data
        pipeline that gives both: a Python generator, a :class:`rnncore.utils.PyDataset`
        (Keras's ``Sequence``) or a ``tf.data.Dataset``, read epoch by epoch with Keras's
        rules (``steps_per_epoch``, ``validation_steps``; see ``_adapters``).

        Keras's rules: ``validation_split`` takes the last fraction of the data before
        shuffling; ``shuffle=True`` draws a new order each epoch; History keys are the metric
        names as given to ``compile`` ('acc' stays 'acc') with ``val_`` for validation.
        """
        self._require_compiled("fit")
        for argument, value in (("epochs", epochs), ("initial_epoch", initial_epoch)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{argument} must be a non-negative integer, got {value!r}")
        for argument, value in (("steps_per_epoch", steps_per_epoch),
                                ("validation_steps", validation_steps)):
            _data.check_steps(value, argument)
        if shuffle not in (True, False, "batch"):
            raise ValueError(f"shuffle must be True, False or 'batch', got {shuffle!r}")
        cap = _config.max_epochs()  # keras.config.set_max_epochs, for debugging runs
        if cap and cap < epochs:
            warnings.warn(f"Limiting epochs to {cap}", stacklevel=2)
            epochs = cap
        verbose = _verbosity(verbose)
        _check_validation_freq(validation_freq)
        # a DistributedOptimizer's (rnncore.distributed) hooks for data-parallel training
        dp = getattr(self.optimizer, "_data_parallel", None)
        if dp is not None:
            verbose, callbacks = dp.fit_settings(verbose, callbacks)
            validation_data = dp.shard_validation(validation_data, _adapters.is_pipeline)
        if _adapters.is_pipeline(x):
            source = _adapters.make_adapter(x, y, sample_weight, class_weight, shuffle,
                                            batch_size, validation_split)
            batch_size = None
        else:
            if batch_size is None and steps_per_epoch is not None and x is not None:
                # Keras: the steps cover the data once
                batch_size = -(-_data.num_samples(_data.to_arrays(
                    self._inputs_by_name(x), "x", self._n_inputs())) // steps_per_epoch)
            batch_size = _data.check_batch_size(batch_size)
            self._require_targets(y, "fit")
            x, y = self._prepare(x, y)
            sw = self._weights_per_output(sample_weight, class_weight, y)
            if validation_data is None and validation_split:
                n_all = _data.num_samples(x)
                (x, y), validation_data = _data.validation_split(x, y, validation_split)
                if sw is not None:
                    # Keras splits sample weights with the data (the validation share weighs
                    # the val_ metrics); class weights apply to training batches only
                    split_at = _data.num_samples(x)
                    if sample_weight is not None:
                        validation_data = (*validation_data,
                                           _data.take(sw, slice(split_at, n_all)))
                    sw = _data.take(sw, slice(0, split_at))
            elif validation_split and not 0 <= validation_split < 1:
                _data.validation_split(x, y, validation_split)
            source = _adapters.ArrayAdapter(x, y, sw, batch_size, shuffle)
        val = None
        if validation_data is not None:
            val = self._validation_epochs(validation_data,
                                          validation_batch_size or batch_size, validation_steps)
        batches = _adapters.EpochIterator(source, steps_per_epoch)
        if dp is not None:
            dp.check_batches(batches.num_batches)
        cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                           verbose=verbose, epochs=epochs, steps=batches.num_batches)
        self.stop_training = False
        batches.reset()
        cbs.on_train_begin()
        logs = {}
        stopped_elsewhere = dp.StopTraining if dp is not None else ()
        # BackupAndRestore's restored epoch (Keras keeps it on the model for later fits too)
        initial_epoch = getattr(self, "_initial_epoch", None) or initial_epoch
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cbs.on_epoch_begin(epoch)
            # an epoch of a used-up source has no batch: Keras logs its reset metrics then
            logs = self._logs()
            for step, batch in enumerate(batches.epoch()):
                cbs.on_train_batch_begin(step)
                try:
                    self._train_batch(*self._batch_arrays(batch, source, "x"))
                except stopped_elsewhere:
                    self.stop_training = True
                    break
                logs = self._logs()
                cbs.on_train_batch_end(step, logs)
                if self.stop_training:
                    if dp is not None:
                        dp.announce_stop(self.optimizer, step, batches.num_batches)
                    break
            if dp is not None:
                dp.reduce_metrics(self.metrics)  # the epoch's metrics over all ranks
                logs = self._logs()
            epoch_logs = dict(logs)
            if val is not None and _due(validation_freq, epoch):
                val_logs = self._evaluate_epoch(val, cbs, reduce=dp)
                epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            logs = epoch_logs
            if dp is not None:
                self.stop_training = dp.agree_stop(self.stop_training)
            if self.stop_training:
                break
        cbs.on_train_end(logs)
        return self.history

    def _batch_arrays(self, batch, source, argument, targets=True):
        """(x, y, sample_weight) of one batch, ready for the model: a pipeline's batches are
        checked and converted here, one by one (arrays were checked whole before)."""
        xb, yb, swb = batch
        if isinstance(source, _adapters.ArrayAdapter):
            return xb, yb, swb
        if targets:
            self._require_targets(yb, "fit" if argument == "x" else argument)
        xb, yb = self._prepare(xb, yb, argument)
        if not targets:
            return xb, None, None
        return xb, yb, self._weights_per_output(swb, source.class_weight, yb)

    def _validation_epochs(self, validation_data, batch_size, steps):
        """An EpochIterator over fit's validation data, kept for the whole fit as Keras keeps
        its evaluation iterator (``validation_steps`` batches each time)."""
        if _adapters.is_pipeline(validation_data):
            source = _adapters.make_adapter(validation_data)
        else:
            xv, yv, val_sw = _data.unpack_validation_data(validation_data)
            if _adapters.is_pipeline(xv):
                raise ValueError("validation_data must be arrays (x_val, y_val) or a data "
                                 f"pipeline itself; received a tuple holding a {type(xv).__name__}")
            if yv is None and not self._trains_on_own_losses():
                raise ValueError("validation_data must hold targets: (x_val, y_val); received "
                                 "y_val=None")
            xv, yv = self._prepare(xv, yv, "validation_data[0]", "validation_data[1]")
            val_sw = self._weights_per_output(val_sw, None, yv, "validation_data[2]")
            source = _adapters.ArrayAdapter(xv, yv, val_sw, _data.check_batch_size(batch_size),
                                            shuffle=False)
        return _adapters.EpochIterator(source, steps)

    @contextlib.contextmanager
    def _frozen_weights(self, samples, cbs, *hooks):
        """A pass over `samples` samples in which no weight changes (predict, evaluate): an
        Embedding that feeds a recurrent layer then has it gather its input product from
        ``table·W + b``, made once for the pass (ops.Projections), unless one of the batch
        `hooks` runs the user's code, which might change weights between batches."""
        saved = self._projections
        self._projections = None if cbs.run_user_code(*hooks) else Projections(samples)
        try:
            yield
        finally:
            self._projections = saved

    def _evaluate_epoch(self, batches, cbs, argument="validation_data", reduce=None):
        """One pass of evaluation over an EpochIterator's next epoch; returns the logs (with
        `reduce`, fit's data-parallel hooks, those of all ranks' shares together)."""
        self.reset_metrics()
        cbs.on_test_begin()
        logs = {}
        samples = getattr(batches.adapter, "num_samples", 0)
        batches.reset()
        with self._frozen_weights(samples, cbs, "on_test_batch_begin", "on_test_batch_end"):
            for step, batch in enumerate(batches.epoch()):
                cbs.on_test_batch_begin(step)
                self._test_batch(*self._batch_arrays(batch, batches.adapter, argument))
                logs = self._logs()
                cbs.on_test_batch_end(step, logs)
        if reduce is not None:
            reduce.reduce_metrics(self.metrics)
            logs = self._logs()
        cbs.on_test_end(logs)
        return logs

    @exclusive
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """Loss (and metrics) over the data: a scalar, or ``[loss, *metrics]``. With
        ``steps``, over the first ``steps`` batches only, as Keras."""
        self._require_compiled("evaluate")
        _data.check_steps(steps, "steps")
        if _adapters.is_pipeline(x):
            source = _adapters.make_adapter(x, y, sample_weight, shuffle=False,
                                            batch_size=batch_size)
        else:
            batch_size = _data.check_batch_size(batch_size)
            self._require_targets(y, "evaluate")
            x, y = self._prepare(x, y)
            sw = self._weights_per_output(sample_weight, None, y)
            n = _data.first_steps(_data.num_samples(x), batch_size, steps)
            x, y, sw = (_data.take(v, slice(0, n)) for v in (x, y, sw))
            source, steps = _adapters.ArrayAdapter(x, y, sw, batch_size, shuffle=False), None
        batches = _adapters.EpochIterator(source, steps)
        cbs = CallbackList(callbacks, add_history=False, add_progbar=_verbosity(verbose) != 0,
                           model=self, verbose=_verbosity(verbose), epochs=1,
                           steps=batches.num_batches)
        self._evaluate_epoch(batches, cbs, "evaluate")
        return self._results(return_dict)

    @exclusive
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Outputs for ``x`` computed in batches of ``batch_size`` (default 32); with
        ``steps``, for the first ``steps`` batches only, as Keras."""
        _data.check_steps(steps, "steps")
        if _adapters.is_pipeline(x):
            source = _adapters.make_adapter(x, shuffle=False, batch_size=batch_size)
        else:
            batch_size = _data.check_batch_size(batch_size)
            # an unbuilt Sequential is built for predict's first batch, as Keras's
            with self._building_for_batch(lambda n: min(n, batch_size)):
                x, _ = self._prepare(x, None)
            n = _data.first_steps(_data.num_samples(x), batch_size, steps)
            source = _adapters.ArrayAdapter(_data.take(x, slice(0, n)), None, None, batch_size,
                                            shuffle=False)
            steps = None
        batches = _adapters.EpochIterator(source, steps)
        cbs = CallbackList(callbacks, add_history=False, add_progbar=_verbosity(verbose) != 0,
                           model=self, verbose=_verbosity(verbose), epochs=1,
                           steps=batches.num_batches)
        cbs.on_predict_begin()
        outs = []
        samples = getattr(source, "num_samples", 0)
        with self._frozen_weights(samples, cbs, "on_predict_batch_begin", "on_predict_batch_end"):
            for step, batch in enumerate(batches.epoch()):
                cbs.on_predict_batch_begin(step)
                xb = self._batch_arrays(batch, source, "predict", targets=False)[0]
                outs.append(_copied(self._predict_batch(xb)))
                cbs.on_predict_batch_end(step, {"outputs": outs[-1]})
        cbs.on_predict_end()
        if not outs:
            raise ValueError("predict: the data gave no batch to predict on")
        per_output = [_per_output_list(out, self) for out in outs]
        return self._structure_outputs([np.concatenate(parts, axis=0)
                                        for parts in zip(*per_output)])

    @single_threaded_blas
    def _predict_batch(self, x):
        return self._forward(x, training=False)

    @exclusive
    def __call__(self, x=_NO_INPUTS, training=False, mask=None, **kwargs):
        if x is _NO_INPUTS:
            x = inputs_by_keyword(self, kwargs)
        if _recorded.is_recorded([x, kwargs]):  # a model called inside a recorded call
            return _recorded.call_inside(self, x, (), dict(kwargs, training=training,
                                                           mask=mask))
        x = self._inputs_by_name(x)  # a dict of arrays or tensors, by input name
        if _is_symbolic(x):  # a model used as a layer of another model's graph
            return self._symbolic_call(x, training=training, **kwargs)
        if kwargs and not self._rnncore_call:
            raise TypeError(f"{type(self).__name__}() got unexpected arguments {sorted(kwargs)}")
        with self._building_for_batch(lambda n: n):  # built for this call's batch, as Keras
            x, _ = self._prepare(x, None)
        if self._rnncore_call and (kwargs or mask is not None):
            # a subclassed model's call takes them (return_state=True, states=...), and what
            # it then returns is kept as it is, apart from what fit learned of its outputs
            return _with_keras_mask(_recorded.forward(self, x, bool(training), mask,
                                                      kwargs=kwargs))
        return _with_keras_mask(self._structure_outputs(_per_output_list(
            _copied(self._forward(x, training=bool(training))), self)))

    @contextlib.contextmanager
    def _building_for_batch(self, size_of):
        """While inside, a model built from its data (a Sequential without an Input) takes
        ``size_of(number of samples)`` as its batch size rather than None: Keras builds a
        Sequential called on an array, or predicting, for that batch (summary and
        ``input_shape`` show it)."""
        self._build_batch = size_of
        try:
            yield
        finally:
            self._build_batch = None

    def _string_inputs(self):
        """Indices of the inputs that take text (a model starting with a TextVectorization)."""
        return ()

    # ---- a model as a layer of another model ------------------------------------------------
    def forward(self, inputs, training=False, mask=None):
        """The layer protocol (see ``rnncore.layers.Layer``): this model's forward pass, its
        first layers keeping what their input gradients need."""
        self._input_grads = self.input_grad_needed
        return self._forward(inputs, training)

    def backward(self, d_outputs):
        return self._backward(d_outputs)

    def check_input(self, x):
        return self._check_inputs(x)

    # ---- saving -------------------------------------------------------------------------
    @exclusive
    def save(self, filepath, overwrite=True, include_optimizer=True, **kwargs):
        """Save architecture, weights, compile settings and (once trained, unless
        ``include_optimizer=False``) the optimizer's state in the Keras format the file name
        chooses: ``.keras`` (Keras 3) or ``.h5``/``.hdf5`` (legacy HDF5); Keras loads either."""
        from . import _saving

        _saving.save_model(self, filepath, overwrite=overwrite,
                           include_optimizer=include_optimizer, **kwargs)

    @exclusive
    def save_weights(self, filepath, overwrite=True, max_shard_size=None):
        """Save the weights to a Keras 3 ``.weights.h5`` file (Keras's name rule)."""
        from . import _saving

        if max_shard_size is not None:
            raise ValueError("rnncore writes one .weights.h5 file; sharded weights "
                             f"(max_shard_size={max_shard_size!r}) are not supported")
        _saving.save_weights(self, filepath, overwrite=overwrite)

    @exclusive
    def load_weights(self, filepath, skip_mismatch=False):
        from . import _saving

        _saving.load_weights(self, filepath, skip_mismatch=skip_mismatch)

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        from ._summary import print_summary

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable,
                      layer_range=layer_range)

    def to_json(self, **kwargs):
        """The architecture as JSON in Keras 3's schema (what ``keras.models.model_from_json``
        and ``rnncore.models.model_from_json`` read); ``kwargs`` go to ``json.dumps``."""
        import json

        from ._functional import Functional
        from ._keras_config import model_config
        from ._sequential import Sequential

        if isinstance(self, (Sequential, Functional)):
            return json.dumps(model_config(self), **kwargs)
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()},
                          **kwargs)

    # ---- pickling and deep copies -----------------------------------------------------------
    # Sets of id()s of objects in a list the model holds (weighted metrics; a functional
    # model's Embedding->recurrent and data-fed nodes). An id means nothing in another process
    # or for a copy, so these travel as positions in that list.
    _ID_SETS = (("_lookup_nodes", "_nodes"), ("_data_fed_nodes", "_nodes"))

    def __getstate__(self):
        """The model's ``__dict__`` for pickle and ``copy.deepcopy``: layers (which drop their
        per-forward data, see ``Layer.__getstate__``), graph, compile settings, metrics,
        optimizer with its state, and history travel; the per-pass ``_projections`` and the
        last forward's output mask do not."""
        state = self.__dict__.copy()
        state["_projections"] = None
        state["_output_mask"] = None
        for attr, pool in self._ID_SETS:
            if isinstance(state.get(attr), set):
                ids = state[attr]
                state[attr] = [i for i, x in enumerate(state.get(pool) or ()) if id(x) in ids]
        optimizer = state.get("optimizer")
        excluded = getattr(optimizer, "_exclude_ids", None)
        if excluded:
            # the optimizer's exclude_from_weight_decay(var_list=...) keeps variable ids too
            state["_optimizer_excluded"] = [i for i, v in enumerate(self.weights)
                                            if id(v) in excluded]
        return state

    def __setstate__(self, state):
        state = dict(state)
        excluded = state.pop("_optimizer_excluded", None)
        for attr, pool in self._ID_SETS:
            if isinstance(state.get(attr), list):
                items = state.get(pool) or ()
                state[attr] = {id(items[i]) for i in state[attr]}
        self.__dict__.update(state)
        optimizer = self.optimizer
        if optimizer is not None and hasattr(optimizer, "_index"):
            # the optimizer finds each variable's slots by id(variable): key them again by the
            # unpickled (copied) variables, which sit at the same positions
            optimizer._index = {id(v): i for i, v in enumerate(optimizer._trainable_variables)}
            if excluded is not None:
                weights = self.weights
                optimizer._exclude_ids = {id(weights[i]) for i in excluded}


def _verbosity(verbose):
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2, True, False):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
    return int(verbose)


def _check_validation_freq(validation_freq):
    """Keras's validation_freq: a positive integer (validate every that many epochs), or a
    collection of the (1-based) epochs to validate after."""
    if isinstance(validation_freq, (int, np.integer)) and not isinstance(validation_freq, bool):
        if validation_freq >= 1:
            return
    elif isinstance(validation_freq, (list, tuple, set, range)) and all(
            isinstance(e, (int, np.integer)) and not isinstance(e, bool) and e >= 1
            for e in validation_freq):
        return
    raise ValueError("validation_freq must be a positive integer (validate every N epochs) or a "
                     f"list of epoch numbers counted from 1; received {validation_freq!r}")


def _due(validation_freq, epoch):
    if isinstance(validation_freq, (int, np.integer)):
        return (epoch + 1) % validation_freq == 0
    return (epoch + 1) in validation_freq


def _copied(out):
    """A fresh copy of a forward's output (an array, or a list of them)."""
    return [np.array(o, copy=True) for o in out] if isinstance(out, list) else np.array(
        out, copy=True)


def _per_output_list(out, model):
    """A forward's output as a list with one array per model output."""
    return out if isinstance(out, list) and not model._single_output else [out]
