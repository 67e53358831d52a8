"""Metrics: Keras 3's stateful metrics.

A metric accumulates over the batches of an epoch and :meth:`Metric.result` reports the running
value. Mean-type metrics keep a sample-weighted ``total`` and ``count`` in float32 (Keras's
``floatx``), so an epoch's accuracy is the mean over samples, not over batches.
"""
import functools

import numpy as np

from . import losses as _losses
from ._config import floatx
from ._eager_scalar import EagerScalar
from ._naming import snake_case, unique_name
from ._variable import Variable
from ._kernels import _losses as _compiled
from .losses import (binary_crossentropy, categorical_crossentropy, huber, mean_absolute_error,
                     mean_squared_error, sparse_categorical_crossentropy,
                     squeeze_or_expand_to_same_rank)

__all__ = ["Metric", "Mean", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy",
           "CategoricalAccuracy", "SparseCategoricalAccuracy", "MeanSquaredError",
           "MeanAbsoluteError", "BinaryCrossentropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "accuracy", "binary_accuracy",
           "categorical_accuracy", "sparse_categorical_accuracy", "mean_squared_error",
           "mean_absolute_error", "mse", "MSE", "mae", "MAE", "binary_crossentropy",
           "categorical_crossentropy", "sparse_categorical_crossentropy", "huber",
           "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
           "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "get", "serialize",
           "deserialize"]

# Keras 2's short names: the same functions, so a metric given as one is named by the long name
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error


_snake = snake_case


def _eager_result(result):
    """A metric class's ``result``, giving a scalar as an :class:`EagerScalar` (a float with
    the ``.numpy()`` of the scalar tensor Keras returns: ``metric.result().numpy()``) and an
    array of floats as an array with ``.numpy()``; any other value (a user's Variable) as
    it is."""
    @functools.wraps(result)
    def wrapped(self):
        value = result(self)
        if isinstance(value, (float, np.floating)) and not isinstance(value, EagerScalar):
            return EagerScalar(value, getattr(self, "_np_dtype", np.float32))
        if type(value) is np.ndarray and value.dtype.kind == "f":
            if value.ndim == 0:
                return EagerScalar(value, value.dtype)
            from .layers._base import KerasArray

            return value.view(KerasArray)  # F1Score's per-class scores: .numpy() too
        return value
    wrapped._gives_eager_scalar = True
    return wrapped


class Metric:
    """Base class: ``update_state`` per batch, ``result`` for the running value,
    ``reset_state`` between epochs.

    Parameters
    ----------
    name : str, optional (default: the class name in snake case).
    dtype : str, optional: the accumulators' dtype (default ``floatx()``, float32).
    """

    def __init__(self, name=None, dtype=None):
        # unnamed, a metric is named as Keras names it: precision, precision_1, ...
        self.name = name or unique_name(_snake(type(self).__name__))
        self._np_dtype = np.dtype(dtype or floatx())

    @property
    def dtype(self):
        """The accumulators' dtype, by name (``'float32'``), as Keras's ``Metric.dtype``;
        fixed once the metric is made."""
        return self._np_dtype.name

    def __setstate__(self, state):
        if "dtype" in state:  # a metric pickled when the dtype was a plain attribute
            state["_np_dtype"] = np.dtype(state.pop("dtype"))
        self.__dict__.update(state)

    @property
    def _dtype(self):
        # Keras's attribute for the dtype's name, which Keras's own tests read
        return self.dtype

    def add_variable(self, shape, initializer, dtype=None, aggregation="sum", name=None):
        """A state variable of the metric (not trainable), as Keras's ``Metric.add_variable``:
        ``initializer`` is a name, an Initializer, a callable ``(shape, dtype)`` or, as
        Keras's variables take it, the starting value itself (an array of `shape`);
        ``reset_state`` sets it back to zeros. ``aggregation`` is accepted for Keras's
        signature (rnncore trains on one device)."""
        from . import initializers
        from ._variable import Variable

        dtype = np.dtype(dtype or self._np_dtype)
        if hasattr(initializer, "__array__") or isinstance(initializer, (list, tuple)):
            value = np.asarray(initializer)
            if value.shape != tuple(shape):
                raise ValueError(f"add_variable: the initial value's shape {value.shape} is not "
                                 f"`shape`={tuple(shape)}")
        else:
            init = initializers.get(initializer)
            value = init(tuple(shape), dtype=dtype.name) if callable(init) else init
        variable = Variable(np.asarray(value, dtype), name=name or "variable",
                            trainable=False, path=f"{self.name}/{name or 'variable'}")
        self.__dict__.setdefault("_variables", []).append(variable)
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None):
        """Keras 2's name for :meth:`add_variable` (``initializer`` defaults to zeros)."""
        return self.add_variable(shape, initializer or "zeros", dtype=dtype, name=name)

    # the attributes (NumPy arrays) that hold a built-in metric's state, in the order of
    # Keras's variables (``Mean``: total, count); ``(attribute, Keras's name)`` where the names
    # differ. ``variables`` shows them as Keras's variables
    _state = ()

    @property
    def variables(self):
        """The state variables, as Keras lists them: this metric's, then those of the metrics
        it holds (in attributes, lists or dicts). A variable reads and writes the metric's
        current state (``assign`` changes what ``result`` reports)."""
        own = list(self.__dict__.get("_variables", []))
        for entry in self._state:
            attr, name = (entry, entry) if isinstance(entry, str) else entry
            if getattr(self, attr, None) is not None:
                own.append(_StateVariable(self, attr, name))
        seen = {id(v) for v in own}

        def collect(value):
            if isinstance(value, Metric) and value is not self:
                found = value.variables
            elif isinstance(value, Variable) and not isinstance(value, _StateVariable):
                found = [value]
            elif isinstance(value, (list, tuple)):
                found = [v for item in value for v in collect(item)]
            elif isinstance(value, dict):
                found = [v for item in value.values() for v in collect(item)]
            else:
                found = []
            return found
        for key, value in self.__dict__.items():
            if key != "_variables":
                own += [v for v in collect(value) if id(v) not in seen]
        return own

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("result")
        if own is not None and not getattr(own, "_gives_eager_scalar", False):
            cls.result = _eager_result(own)

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement update_state().")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must implement result().")

    def reset_state(self):
        """Set every state variable to zeros (Keras's default)."""
        for v in self.variables:
            v.assign(np.zeros(v.shape, v.dtype))

    # Keras's stateless API (for functional training loops): the state passed in and out
    # as a list of arrays, in the order of ``variables``; the metric's own state is kept
    def _swapped(self, values, run):
        variables = self.variables
        saved = [v.numpy() for v in variables]
        try:
            for v, value in zip(variables, values):
                v.assign(np.asarray(value))
            out = run()
            return out, [v.numpy() for v in self.variables]
        finally:
            for v, value in zip(self.variables, saved):
                v.assign(value)

    def stateless_update_state(self, metric_variables, *args, **kwargs):
        """The variables' values after ``update_state(*args, **kwargs)`` from
        ``metric_variables``, leaving this metric unchanged."""
        return self._swapped(metric_variables, lambda: self.update_state(*args, **kwargs))[1]

    def stateless_result(self, metric_variables):
        """``result()`` for the state ``metric_variables``."""
        return self._swapped(metric_variables, self.result)[0]

    def stateless_reset_state(self):
        """The variables' values after ``reset_state()``."""
        return self._swapped([v.numpy() for v in self.variables], self.reset_state)[1]

    def __call__(self, *args, **kwargs):
        """Update with one batch and return the running result."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self._np_dtype.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


class _StateVariable(Variable):
    """One state array of a built-in metric seen as a Keras variable: reads and writes go
    to the metric's attribute, so the variable follows ``reset_state``."""

    __slots__ = ("_metric", "_attr")

    def __init__(self, metric, attr, name):
        self._metric, self._attr = metric, attr
        self.name, self.trainable, self.grad = name, False, None
        self.path = f"{metric.name}/{name}"
        self.regularizer = self.constraint = None

    @property
    def value(self):
        value = getattr(self._metric, self._attr)
        if not isinstance(value, np.ndarray):  # a Python number kept as state
            value = np.asarray(value, self._metric.dtype)
            setattr(self._metric, self._attr, value)
        return value

    @value.setter
    def value(self, new):
        setattr(self._metric, self._attr, new)


def _samplewise(values, sample_weight, dtype):
    """Keras's reduce_to_samplewise_values: per-sample values (weighted) and weights."""
    values, sw = np.asarray(values, dtype), None
    if sample_weight is not None:
        values, sw = squeeze_or_expand_to_same_rank(values, np.asarray(sample_weight, dtype))
        if values.ndim > sw.ndim:
            values = values.mean(axis=tuple(range(sw.ndim, values.ndim)))
        sw = np.broadcast_to(sw, values.shape)
        values = values * sw
        if sw.ndim > 1:
            sw = sw.mean(axis=tuple(range(1, sw.ndim)))
    if values.ndim > 1:
        values = values.mean(axis=tuple(range(1, values.ndim)))
    return values, sw


class Mean(Metric):
    """Weighted mean of the values given to ``update_state(values, sample_weight=None)``;
    values with more than one axis are first averaged to one value per sample."""

    _state = ("total", "count")

    def __init__(self, name="mean", dtype=None):
        super().__init__(name, dtype)
        self.reset_state()

    def reset_state(self):
        self.total = np.zeros((), self._np_dtype)
        self.count = np.zeros((), self._np_dtype)

    def update_state(self, values, sample_weight=None):
        if np.ndim(values) == 0 and (sample_weight is None or np.ndim(sample_weight) == 0):
            # one value (the trainer's batch loss, weighted by the batch size): the general
            # path's arithmetic without its array handling
            dt = self._np_dtype.type
            weight = dt(1 if sample_weight is None else sample_weight)
            self.total += dt(values) * weight
            self.count += weight
            return
        values, sw = _samplewise(values, sample_weight, self._np_dtype)
        self.total += np.sum(values, dtype=self._np_dtype)
        n = np.sum(sw, dtype=self._np_dtype) if sw is not None else (
            values.shape[0] if values.ndim else 1)
        self.count += self._np_dtype.type(n)

    def result(self):
        return float(self.total / self.count) if self.count else 0.0


class MeanMetricWrapper(Mean):
    """Mean of ``fn(y_true, y_pred, **kwargs)`` over all samples seen.

    Parameters
    ----------
    fn : callable returning one value per sample (or per timestep).
    name, dtype : as :class:`Metric`.
    **kwargs : passed to ``fn``.
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        # unnamed: mean_metric_wrapper, mean_metric_wrapper_1, ... as Keras (compile names the
        # metric after its function, see get)
        super().__init__(name=name, dtype=dtype)
        self._fn, self._fn_kwargs = fn, kwargs

    def get_config(self):
        config = super().get_config()
        if type(self) is MeanMetricWrapper:  # Keras's subclasses leave their function out
            from ._serialization import serialize_keras_object

            config.update({"fn": serialize_keras_object(self._fn),
                           **serialize_keras_object(self._fn_kwargs)})
        return config

    @classmethod
    def from_config(cls, config):
        if "fn" in config and cls is MeanMetricWrapper:
            from ._serialization import deserialize_keras_object

            config = {**config, "fn": deserialize_keras_object(config["fn"])}
        return cls(**config)

    def update_state(self, y_true, y_pred, sample_weight=None, mask=None):
        """``mask``: Keras's mask on ``y_pred`` (e.g. padding of a sequence output), used as
        sample weights the way Keras's MeanMetricWrapper applies it."""
        super().update_state(self._fn(y_true, y_pred, **self._fn_kwargs),
                             self._with_mask(sample_weight, mask))

    def _with_mask(self, sample_weight, mask):
        if mask is None:
            return sample_weight
        mask = np.asarray(mask, self._np_dtype)
        return mask if sample_weight is None else np.asarray(sample_weight, self._np_dtype) * mask


def _float_result(matches):
    return matches.astype(floatx())


def accuracy(y_true, y_pred):
    """1.0 where ``y_true == y_pred`` exactly, else 0.0."""
    y_pred = np.asarray(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(np.asarray(y_true, y_pred.dtype), y_pred)
    return _float_result(y_true == y_pred)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where ``(y_pred > threshold)`` equals ``y_true``."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(np.asarray(y_true), np.asarray(y_pred))
    predicted = (y_pred > np.float32(threshold)).astype(y_true.dtype)
    return _float_result(y_true == predicted)


def categorical_accuracy(y_true, y_pred):
    """1.0 where the arg-max of ``y_pred`` equals the arg-max of one-hot ``y_true``."""
    y_pred = np.asarray(y_pred)
    labels = np.argmax(np.asarray(y_true), axis=-1).astype(y_pred.dtype)
    shape, reshape = labels.shape, labels.ndim == y_pred.ndim
    if reshape:
        labels = np.squeeze(labels, -1)
    matches = _float_result(labels == np.argmax(y_pred, axis=-1).astype(labels.dtype))
    return matches.reshape(shape) if reshape else matches


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the arg-max of ``y_pred`` equals the integer label ``y_true``."""
    y_pred = np.asarray(y_pred)
    labels = np.asarray(y_true, y_pred.dtype)
    shape = labels.shape
    reshape = labels.ndim == y_pred.ndim and labels.shape[-1] == 1
    if reshape:
        labels = labels[..., 0]
    matches = _float_result(labels == np.argmax(y_pred, axis=-1).astype(labels.dtype))
    if reshape:
        matches = matches.reshape(shape)
    return matches[..., 0] if matches.ndim > 1 and matches.shape[-1] == 1 else matches


def _in_top_k(labels, y_pred, k):
    """TensorFlow's ``in_top_k``: the target's score is beaten by fewer than ``k`` scores (ties
    at the border count as in), and a non-finite score is never in."""
    scores = y_pred.reshape(-1, y_pred.shape[-1])
    labels = labels.reshape(-1).astype(np.int64)
    target = scores[np.arange(len(labels)), labels]
    beaten_by = (scores > target[:, None]).sum(axis=-1)
    return (beaten_by < k) & np.isfinite(target)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the class of one-hot ``y_true`` is among the ``k`` highest scores."""
    y_pred = np.asarray(y_pred)
    labels = np.argmax(np.asarray(y_true, y_pred.dtype), axis=-1)
    return _float_result(_in_top_k(labels, y_pred, k)).reshape(labels.shape)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1.0 where the integer label ``y_true`` is among the ``k`` highest scores; with
    ``from_sorted_ids``, ``y_pred`` holds each sample's category ids from the highest score
    down, ``(batch, N)``, and the label must be among its first ``k``."""
    y_pred = np.asarray(y_pred)
    if not from_sorted_ids:
        labels = np.asarray(y_true).astype(np.int64)
        return _float_result(_in_top_k(labels, y_pred, k)).reshape(labels.shape)
    labels = np.asarray(y_true, y_pred.dtype)
    ids = y_pred.reshape(-1, y_pred.shape[-1])
    found = np.any(labels.reshape(-1, 1) == ids[:, :k], axis=1)
    return _float_result(found).reshape(labels.shape)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """Mean of :func:`top_k_categorical_accuracy` (one-hot targets), ``k`` default 5."""

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
            raise ValueError(f"k must be a positive integer, got k={k!r}")
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k

    def get_config(self):
        return {**super().get_config(), "k": self.k}


class SparseTopKCategoricalAccuracy(TopKCategoricalAccuracy):
    """Mean of :func:`sparse_top_k_categorical_accuracy` (integer targets)."""

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None,
                 from_sorted_ids=False):
        super().__init__(k, name, dtype)
        self._fn = sparse_top_k_categorical_accuracy
        self.from_sorted_ids = from_sorted_ids
        self._fn_kwargs["from_sorted_ids"] = from_sorted_ids

    def get_config(self):
        config = super().get_config()
        if self.from_sorted_ids:  # Keras writes it only when set
            config["from_sorted_ids"] = True
        return config


def _wrapper(fn, default_name, doc):
    class _Wrapped(MeanMetricWrapper):
        __doc__ = doc

        def __init__(self, name=default_name, dtype=None):
            super().__init__(fn, name=name, dtype=dtype)
    return _Wrapped


Accuracy = _wrapper(accuracy, "accuracy", "Mean of :func:`accuracy` (exact equality).")
CategoricalAccuracy = _wrapper(categorical_accuracy, "categorical_accuracy",
                               "Mean of :func:`categorical_accuracy` (one-hot targets).")
SparseCategoricalAccuracy = _wrapper(sparse_categorical_accuracy, "sparse_categorical_accuracy",
                                     "Mean of :func:`sparse_categorical_accuracy` "
                                     "(integer targets).")
MeanSquaredError = _wrapper(mean_squared_error, "mean_squared_error",
                            "Mean of ``mean((y_true - y_pred)**2, axis=-1)``.")
MeanAbsoluteError = _wrapper(mean_absolute_error, "mean_absolute_error",
                             "Mean of ``mean(|y_true - y_pred|, axis=-1)``.")
for _cls, _name in ((Accuracy, "Accuracy"), (CategoricalAccuracy, "CategoricalAccuracy"),
                    (SparseCategoricalAccuracy, "SparseCategoricalAccuracy"),
                    (MeanSquaredError, "MeanSquaredError"),
                    (MeanAbsoluteError, "MeanAbsoluteError")):
    _cls.__name__ = _cls.__qualname__ = _name


class BinaryAccuracy(MeanMetricWrapper):
    """Mean of :func:`binary_accuracy`: the share of outputs on the right side of
    ``threshold`` (default 0.5)."""

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None, mask=None):
        # The trainer's usual case, one sigmoid output and one label per sample, unweighted:
        # one compiled count (the same sum of 0/1 values, exact).
        if (sample_weight is None and mask is None and type(y_pred) is np.ndarray
                and y_pred.dtype in (np.float32, np.float64) and y_pred.ndim == 2
                and y_pred.shape[1] == 1):
            t = np.asarray(y_true)
            if t.dtype.kind in "biuf" and t.shape in (y_pred.shape[:1], y_pred.shape):
                n = y_pred.shape[0]
                matches = _compiled.binary_accuracy_matches(
                    np.ascontiguousarray(t.reshape(n), np.float64),
                    np.ascontiguousarray(y_pred.reshape(n)), y_pred.dtype.type(
                        np.float32(self.threshold)))
                dt = self._np_dtype.type
                self.total += dt(matches)
                self.count += dt(n)
                return
        super().update_state(y_true, y_pred, sample_weight, mask)

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


class BinaryCrossentropy(MeanMetricWrapper):
    """Mean of the per-sample binary crossentropy. ``update_state`` takes ``logits=`` as the
    loss does: Keras computes this metric from a sigmoid output's logits too."""

    _loss_class = _losses.BinaryCrossentropy

    def __init__(self, name=None, dtype=None, from_logits=False, **kwargs):
        loss = self._loss_class(from_logits=from_logits, reduction="none", **kwargs)
        super().__init__(loss, name=name or loss.name, dtype=dtype)
        self._config = {"from_logits": from_logits, **kwargs}

    def update_state(self, y_true, y_pred, sample_weight=None, logits=None, mask=None):
        Mean.update_state(self, self._fn(y_true, y_pred, logits=logits),
                          self._with_mask(sample_weight, mask))

    def get_config(self):
        return {**super().get_config(), **self._config}


class CategoricalCrossentropy(BinaryCrossentropy):
    """Mean of the per-sample categorical crossentropy (arguments as the loss)."""
    _loss_class = _losses.CategoricalCrossentropy


class SparseCategoricalCrossentropy(BinaryCrossentropy):
    """Mean of the per-sample sparse categorical crossentropy (arguments as the loss)."""
    _loss_class = _losses.SparseCategoricalCrossentropy


_CLASSES = [Mean, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
            MeanSquaredError, MeanAbsoluteError, BinaryCrossentropy, CategoricalCrossentropy,
            SparseCategoricalCrossentropy, TopKCategoricalAccuracy,
            SparseTopKCategoricalAccuracy]
_BY_NAME = {**{c.__name__: c for c in _CLASSES}, **{_snake(c.__name__): c for c in _CLASSES},
            "mse": MeanSquaredError, "MSE": MeanSquaredError, "mae": MeanAbsoluteError,
            "MAE": MeanAbsoluteError, "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy}


def _accuracy_class(identifier, loss, output_shape, target_shape):
    """Keras 3's choice for 'accuracy'/'acc' (trainers/compile_utils.get_metric)."""
    if output_shape is not None and target_shape is not None:
        binary = output_shape[-1] == 1
        sparse = len(target_shape) < len(output_shape) or (
            target_shape[-1] == 1 and output_shape[-1] != 1)
    else:
        # Without the targets' shape, the loss stands in for it.
        loss = _losses._for_compile(loss) if isinstance(loss, str) else loss
        if output_shape is None and loss is None:
            raise ValueError(f"metric={identifier!r} is resolved from the shapes of `y` and of "
                             "the output (or from the loss); pass output_shape and target_shape.")
        binary = (output_shape is not None and output_shape[-1] == 1) or (
            output_shape is None and isinstance(loss, _losses.BinaryCrossentropy)
            and not isinstance(loss, _losses.CategoricalCrossentropy))
        sparse = isinstance(loss, _losses.SparseCategoricalCrossentropy)
    if binary:
        return BinaryAccuracy
    return SparseCategoricalAccuracy if sparse else CategoricalAccuracy


def _own_function(fn):
    """Keras's metric function of a name we have (``keras.metrics.binary_accuracy``) becomes
    ours, which computes the same values on NumPy arrays."""
    name = getattr(fn, "__name__", None)
    if str(getattr(fn, "__module__", "")).split(".")[0] in ("keras", "tf_keras") \
            and name in __all__ and name[0].islower() and name not in ("get", "serialize",
                                                                    "deserialize"):
        return globals()[name]
    return fn


def get(identifier, loss=None, output_shape=None, target_shape=None):
    """A metric for ``compile(metrics=[...])``, resolved as Keras 3 does.

    ``'accuracy'``/``'acc'`` (any case) become binary accuracy when the output's last axis has
    size 1, sparse categorical accuracy when the targets have fewer axes than the output (or a
    last axis of 1 against a wider output), and categorical accuracy otherwise. Without
    ``target_shape`` the loss decides between sparse and categorical. The metric is named
    after the string given. Metric instances pass through; a function becomes a
    :class:`MeanMetricWrapper` named after it.

    Parameters
    ----------
    identifier : str, Metric, Metric class, callable or config dict.
    loss : Loss or str, optional.
    output_shape, target_shape : tuple, optional: shapes of the model output and of ``y``.
    """
    if identifier is None or isinstance(identifier, Metric):  # Keras: get(None) is None
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier.lower() in ("accuracy", "acc"):
            return _accuracy_class(identifier, loss, output_shape, target_shape)(name=identifier)
        if identifier in _BY_NAME:
            return _BY_NAME[identifier](name=identifier)
    elif isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    elif callable(identifier):
        return MeanMetricWrapper(_own_function(identifier), name=_snake(
            getattr(identifier, "__name__", type(identifier).__name__)))
    raise ValueError(f"Could not interpret metric identifier: received metric={identifier!r}. "
                     f"Expected 'accuracy', 'acc' or one of {sorted(_BY_NAME)}, a Metric or a "
                     "function.")


def serialize(metric):
    """A metric as Keras's serialized dict (``module``, ``class_name``, ``config``)."""
    return {"module": "keras.metrics", "class_name": type(metric).__name__,
            "config": metric.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """Inverse of :func:`serialize`; ``custom_objects`` (``{name: class}``) and registered
    classes resolve the program's own metrics."""
    name = config.get("class_name") if isinstance(config, dict) else None
    if name not in _BY_NAME and isinstance(config, dict) and "config" in config:
        from ._serialization import deserialize_keras_object

        return deserialize_keras_object(config, custom_objects)
    if name not in _BY_NAME:
        raise ValueError(f"Could not interpret metric config: received metric={config!r}.")
    return _BY_NAME[name].from_config(dict(config.get("config") or {}))


# Keras's other metrics (rnncore._metrics_more), registered under Keras's names
from . import _metrics_more  # noqa: E402
from ._metrics_more import (CategoricalHinge, CosineSimilarity, F1Score,  # noqa: E402
                            FBetaScore, Hinge, KLDivergence, LogCoshError,
                            MeanAbsolutePercentageError, MeanSquaredLogarithmicError, Poisson,
                            R2Score, RootMeanSquaredError, SquaredHinge, Sum, cosine_similarity)

_MORE = [getattr(_metrics_more, n) for n in _metrics_more.__all__ if n[0].isupper()]
_CLASSES += _MORE
_BY_NAME.update({c.__name__: c for c in _MORE})
_BY_NAME.update({_snake(c.__name__): c for c in _MORE})
_BY_NAME.update({"mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
                 "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
                 "kld": KLDivergence, "KLD": KLDivergence, "logcosh": LogCoshError})
__all__ += list(_metrics_more.__all__)
from ._metrics_auc import AUC  # noqa: E402

_CLASSES.append(AUC)
_BY_NAME.update({"AUC": AUC, "auc": AUC})
__all__.append("AUC")
# Precision, Recall and the other confusion-count metrics (rnncore._metrics_confusion)
from . import _metrics_confusion  # noqa: E402
from ._metrics_confusion import (FalseNegatives, FalsePositives, Precision,  # noqa: E402
                                 PrecisionAtRecall, Recall, RecallAtPrecision,
                                 SensitivityAtSpecificity, SpecificityAtSensitivity,
                                 TrueNegatives, TruePositives)

_CONFUSION = [getattr(_metrics_confusion, n) for n in _metrics_confusion.__all__]
_CLASSES += _CONFUSION
_BY_NAME.update({c.__name__: c for c in _CONFUSION})
_BY_NAME.update({_snake(c.__name__): c for c in _CONFUSION})
__all__ += list(_metrics_confusion.__all__)

_resolve_for_compile = get
_NOT_GIVEN = object()


def get(identifier, loss=_NOT_GIVEN, output_shape=None, target_shape=None):
    """Keras's ``metrics.get``: an instance, with its default name, for a metric's class
    name or alias (``get('mse')`` is a ``MeanSquaredError`` named 'mean_squared_error';
    ``get('accuracy')`` the exact-match :class:`Accuracy`) or a config dict; None for None;
    a Metric or a function comes back as it is, a Metric class as an instance.

    Given the loss or the shapes (an rnncore extension), it resolves as ``compile`` does
    instead: the metric named after the string, ``'accuracy'``/``'acc'`` picking binary,
    sparse categorical or categorical accuracy; see :func:`_resolve_for_compile`.
    """
    if loss is not _NOT_GIVEN or output_shape is not None or target_shape is not None:
        return _resolve_for_compile(identifier, None if loss is _NOT_GIVEN else loss,
                                    output_shape, target_shape)
    if identifier is None:
        return None
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        # Keras's metrics.get knows 'accuracy' (exact match) and 'Accuracy' only
        if identifier in ("accuracy", "Accuracy"):
            return Accuracy()
        raise ValueError(f"Could not interpret metric identifier: {identifier}. "
                         "compile(metrics=[...]) resolves it from the model's output")
    if callable(identifier) and not (isinstance(identifier, type)
                                     and issubclass(identifier, Metric)):
        return identifier
    return _resolve_for_compile(identifier, None, None, None)
# Keras's metric functions that are its loss functions (keras.metrics.hinge is
# keras.losses.hinge): the same functions here
from .losses import (binary_focal_crossentropy, categorical_focal_crossentropy,  # noqa: E402
                     categorical_hinge, hinge, kl_divergence, log_cosh,
                     mean_absolute_percentage_error, mean_squared_logarithmic_error, poisson,
                     squared_hinge)

__all__ += ["hinge", "squared_hinge", "categorical_hinge", "kl_divergence", "log_cosh",
            "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "poisson",
            "binary_focal_crossentropy", "categorical_focal_crossentropy"]
# the correlation metrics (rnncore._metrics_correlation) and the IoU family (_metrics_iou)
from . import _metrics_correlation, _metrics_iou  # noqa: E402
from ._metrics_correlation import (ConcordanceCorrelation, PearsonCorrelation,  # noqa: E402
                                   concordance_correlation, pearson_correlation)
from ._metrics_iou import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU  # noqa: E402

_CORRELATION_IOU = [PearsonCorrelation, ConcordanceCorrelation, IoU, MeanIoU, BinaryIoU,
                    OneHotIoU, OneHotMeanIoU]
_CLASSES += _CORRELATION_IOU
_BY_NAME.update({c.__name__: c for c in _CORRELATION_IOU})
_BY_NAME.update({_snake(c.__name__): c for c in _CORRELATION_IOU})
__all__ += list(_metrics_correlation.__all__) + list(_metrics_iou.__all__)
