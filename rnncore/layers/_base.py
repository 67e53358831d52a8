"""Layer: the base of every rnncore layer, and the symbolic tensors of functional models.

A layer has Keras's surface (name, weights, get/set_weights, build, compute_output_shape,
get_config, ``__call__`` on NumPy arrays or on symbolic tensors) and rnncore's training
protocol, which the trainer calls with already-validated arrays:

``forward(inputs, training=False, mask=None) -> outputs``
    Computes and remembers what ``backward`` needs.
``backward(d_outputs) -> d_inputs``
    Gradient of the loss w.r.t. the inputs of the last ``forward``; stores each trainable
    weight's gradient in ``variable.grad``. A model sets ``input_grad_needed = False`` on a
    layer fed straight by its data; the layer may then return None for those inputs (the
    recurrent layers skip the product that gives it).
"""
import collections
import inspect
import warnings

import numpy as np

from .. import _config
from .. import mixed_precision as _mixed_precision
from .._name_scope import path_prefix
from .._naming import snake_case, unique_name
from .._variable import Variable
from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from . import _auto_config, _input_spec, _recorded, _symbolic_calls

_snake = snake_case


_NO_INPUTS = object()  # __call__ given its inputs by keyword (or not at all)


def inputs_by_keyword(layer, kwargs):
    """The inputs of a call that named them (Keras's ``model(inputs=ids, states=s)``, as the
    TensorFlow text-generation tutorial calls its model): taken out of `kwargs` under the
    name of the first argument of the layer's ``call`` (or ``inputs``)."""
    names = ["inputs"]
    try:
        params = list(inspect.signature(type(layer).call).parameters)[1:2]
        names = params + names
    except (TypeError, ValueError):
        pass
    for name in names:
        if name in kwargs:
            return kwargs.pop(name)
    raise TypeError(f"{type(layer).__name__}.__call__() missing 1 required positional "
                    "argument: 'inputs'")


class SymbolicTensor:
    """A placeholder for a layer output in a functional model (Keras's KerasTensor, exported
    as ``rnncore.KerasTensor``)."""

    sparse = False  # Keras's KerasTensor flags; rnncore's tensors are always dense
    ragged = False

    def __init__(self, shape, dtype="float32", layer=None, node_index=0, tensor_index=0,
                 name=None):
        self.shape = tuple(shape)
        # Keras's "string" inputs (into a TextVectorization) keep that name
        self.dtype = "string" if dtype in ("string", str) else np.dtype(dtype).name
        self._keras_history = (layer, node_index, tensor_index)
        self.name = name
        # Keras's symbolic mask: None, or the shape of the mask this tensor will carry (a
        # custom layer's call that takes a mask is run on a stand-in of it to find its shape)
        self._keras_mask = None

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<SymbolicTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"


class Node:
    """One call of a layer on symbolic inputs."""

    def __init__(self, layer, inputs, outputs, kwargs):
        self.layer, self.inputs, self.outputs, self.kwargs = layer, inputs, outputs, kwargs


def _is_symbolic(x):
    if isinstance(x, (list, tuple)):
        return any(_is_symbolic(v) for v in x)
    return isinstance(x, SymbolicTensor)


# bumped whenever a weight is made or a custom layer's attribute is set: the cached weight
# lists of layers with ``call`` are rebuilt after it
_WEIGHTS_EPOCH = [0]


def _tracking_setattr(self, name, value):
    if not name.startswith("_") or isinstance(value, (Layer, list, tuple, dict)):
        _WEIGHTS_EPOCH[0] += 1
        self.__dict__.pop("_tracked_cache", None)
    object.__setattr__(self, name, value)


class Layer:
    """Base class of rnncore layers. See the module docstring for the training protocol."""

    # Keras's InputSpec, as far as rnncore's layers need it: the rank of the inputs they take
    # (exactly `input_ndim`, or at least `input_min_ndim`; None: any)
    input_ndim = None
    input_min_ndim = None

    # Keras's InputSpec (or a list of them) a layer may set: checked at every call
    input_spec = None

    # a layer class written by a user with Keras's ``call`` (see ``_recorded``); rnncore's own
    # layers implement ``forward``/``backward`` instead
    _rnncore_call = None
    # The names, in order, of the arguments after ``inputs`` in Keras's ``call`` of this
    # built-in layer where they differ from (training, mask): ``layer(x, mask)`` binds by them
    _call_positional = None
    _in_call = False
    _dict_outputs = False  # whether call may return a dict (a subclassed model's outputs)
    _record = None
    _accepts_scalar = False  # whether a rank-0 input is taken (Keras's CategoryEncoding)
    # whether an integer ``dtype`` (the outputs' dtype) is taken, as Keras's preprocessing
    # layers with integer outputs (CategoryEncoding, Discretization, Hashing) take it
    _integer_dtype_ok = False
    _output_dtype = None  # a symbolic output's dtype where it is not the layer's dtype

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "call" in cls.__dict__ and not cls.__module__.startswith("rnncore."):
            cls._rnncore_call = cls.__dict__["call"]
            if "__setattr__" not in cls.__dict__:
                cls.__setattr__ = _tracking_setattr

    def __new__(cls, *args, **kwargs):
        instance = super().__new__(cls)
        if not cls.__module__.startswith("rnncore."):
            # a user's class: its __init__ arguments are its config unless it writes
            # get_config (Keras's automatic config, see _auto_config)
            instance.__dict__["_auto_config"] = _auto_config.capture(cls, args, kwargs)
        return instance

    _BASE_KWARGS = ("name", "dtype", "trainable", "input_shape", "batch_input_shape",
                    "batch_size", "input_dim", "input_length", "autocast", "dynamic",
                    "activity_regularizer")

    def __init__(self, name=None, dtype=None, trainable=True, **kwargs):
        unknown = set(kwargs) - set(self._BASE_KWARGS)
        if unknown:
            raise TypeError(f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                            f"{ {k: kwargs[k] for k in sorted(unknown)} }")
        if name is not None and not isinstance(name, str):
            raise ValueError(f"name must be a string, got {name!r}")
        self.name = name or unique_name(_snake(type(self).__name__))
        # a dtype name, or Keras's dtype policy (a mixed one runs in float32)
        int_name = _integer_dtype_name(dtype) if self._integer_dtype_ok else None
        if int_name:  # Keras's preprocessing layers give integer outputs in this dtype
            self.dtype = self._policy_name = int_name
        else:
            self.dtype = _mixed_precision.layer_dtype(dtype)
            # the policy's name as given (``mixed_float16`` computes in float32 here)
            self._policy_name = _mixed_precision._policy_name(
                _mixed_precision.global_policy() if dtype is None else dtype)
        self.__dict__["_trainable"] = trainable  # (the setter would reach held layers)
        self.built = False
        # Keras 3: a layer that computes its own mask supports masking
        self.supports_masking = bool(self._rnncore_call) and \
            type(self).compute_mask is not Layer.compute_mask
        # whether forward takes an Embedding's rows as an ops.Lookup (the recurrent layers)
        self.accepts_lookup = False
        self.input_grad_needed = True
        # a Regularizer of the outputs (any layer takes one, as in Keras), and the penalties
        # and gradients it gave the last forward's outputs
        self.activity_regularizer = _regularizers.get(kwargs.get("activity_regularizer"),
                                                      "activity_regularizer")
        self._activity = None
        self._variables = []
        self._inbound_nodes = []
        self._batch_input_shape = None
        batch_size = kwargs.get("batch_size")
        if kwargs.get("batch_input_shape") is not None:
            self._batch_input_shape = tuple(kwargs["batch_input_shape"])
        elif kwargs.get("input_shape") is not None:
            self._batch_input_shape = (batch_size,) + tuple(kwargs["input_shape"])
        elif kwargs.get("input_dim") is not None:
            self._batch_input_shape = (batch_size, kwargs["input_dim"])

    # ---- weights -------------------------------------------------------------------------
    def add_weight(self, shape=(), initializer="glorot_uniform", name=None, trainable=True,
                   regularizer=None, constraint=None, dtype=None, autocast=True,
                   aggregation=None):
        """A new weight; its regularizer and constraint are the ones given, else the ones the
        layer was given for that weight name (``kernel_regularizer`` for ``kernel``, ...).
        Keras's ``dtype``, ``autocast`` and ``aggregation`` are accepted; the weight takes
        the layer's dtype unless ``dtype`` names another float type."""
        if self._in_call and self.built:
            raise ValueError(
                f"Layer {self.name!r} ({type(self).__name__}) tried to create the weight "
                f"{name!r} in call() after it was built. Create weights in __init__ or "
                "build(input_shape), as Keras requires.")
        if initializer is None:
            initializer = "glorot_uniform"
        if name is None:
            name = f"variable_{len(self._variables)}" if self._variables else "variable"
        init = _initializers.get(initializer)
        _config.charge_weight(int(np.prod(shape, dtype=np.int64)), f"{self.name}/{name}")
        dtype = self.dtype if dtype is None else np.dtype(dtype).name
        value = init(tuple(shape), dtype=dtype)
        if regularizer is None:
            regularizer = getattr(self, "_weight_regularizers", {}).get(name)
        if constraint is None:
            constraint = getattr(self, "_weight_constraints", {}).get(name)
        var = Variable(value, name=name, trainable=trainable,
                       path=f"{path_prefix()}{self.name}/{name}",
                       dtype=dtype, regularizer=_regularizers.get(regularizer),
                       constraint=_constraints.get(constraint))
        self._variables.append(var)
        _WEIGHTS_EPOCH[0] += 1
        _recorded.note_created(var)
        return var

    def _weight_options(self, **options):
        """Keras's per-weight arguments, checked and kept: for each prefix (``kernel``,
        ``recurrent`` for the recurrent kernel, ``bias``) its ``(initializer, regularizer,
        constraint)`` become ``<prefix>_initializer``, ``<prefix>_regularizer`` and
        ``<prefix>_constraint``, and the regularizers and constraints the maps by weight name
        that ``add_weight`` reads."""
        regularizers, constraints = {}, {}
        for prefix, (initializer, regularizer, constraint) in options.items():
            weight = "recurrent_kernel" if prefix == "recurrent" else prefix
            setattr(self, f"{prefix}_initializer",
                    _initializers.get(initializer, f"{prefix}_initializer"))
            regularizers[weight] = _regularizers.get(regularizer, f"{prefix}_regularizer")
            constraints[weight] = _constraints.get(constraint, f"{prefix}_constraint")
            setattr(self, f"{prefix}_regularizer", regularizers[weight])
            setattr(self, f"{prefix}_constraint", constraints[weight])
        self._weight_regularizers, self._weight_constraints = regularizers, constraints

    @property
    def weights(self):
        if self._rnncore_call:  # Keras's order: own weights, then each sub-layer's
            return self._all_variables()
        return self.trainable_weights + self.non_trainable_weights

    @property
    def dtype_policy(self):
        """Keras's ``DTypePolicy`` of the layer: from its ``dtype`` argument, or the global
        policy when it was made."""
        name = self.__dict__.get("_policy_name", self.dtype)
        if _integer_dtype_name(name):  # (rnncore's DTypePolicy refuses these for other layers)
            policy = object.__new__(_mixed_precision.DTypePolicy)
            policy._name = name
            return policy
        return _mixed_precision.DTypePolicy(name)

    @property
    def compute_dtype(self):
        """Keras's dtype of the layer's computations (a cell's ``get_initial_state`` reads
        it): rnncore computes in the layer's dtype."""
        return self.dtype

    @property
    def trainable(self):
        # pickles made before this was a property hold it as "trainable"
        return self.__dict__.get("_trainable", self.__dict__.get("trainable", True))

    @trainable.setter
    def trainable(self, value):
        self.__dict__["_trainable"] = value
        _WEIGHTS_EPOCH[0] += 1  # the cached weight lists of layers with call change
        # as Keras, the layers it holds take the same flag (a base model frozen then
        # unfrozen for fine-tuning unfreezes every layer in it)
        for child in self._trainable_children():
            if child is not self:
                child.trainable = value

    def _trainable_children(self):
        """The layers a ``trainable`` assignment reaches: the ones this layer runs inside it
        and, for a layer with its own call, the ones held in its attributes."""
        children = list(self._sublayers())
        if self._rnncore_call:
            children += [c for c in self._tracked_layers() if c not in children]
        return children

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        if not self._rnncore_call:
            return [v for v in self._variables if v.trainable]
        cached = self.__dict__.get("_trainable_cache")
        if cached is not None and cached[0] == _WEIGHTS_EPOCH[0] and \
                self._tracked_layers() is cached[1]:
            return list(cached[2])
        # a sub-layer set trainable=False keeps its weights out (rnncore's variables keep
        # their own flag; the layer's decides)
        allowed = {id(v) for v in self._variables if v.trainable}
        layers = self._tracked_layers()
        allowed.update(id(v) for layer in layers for v in layer.trainable_weights)
        out = [v for v in self._all_variables() if id(v) in allowed]
        self.__dict__["_trainable_cache"] = (_WEIGHTS_EPOCH[0], layers, out)
        return list(out)

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self._all_variables()
        if not self._rnncore_call:
            return [v for v in self._variables if not v.trainable]
        trainable = {id(v) for v in self.trainable_weights}
        return [v for v in self._all_variables() if id(v) not in trainable]

    def _all_variables(self):
        """The layer's own weights, trainable ones first, then (a layer with ``call``) those of
        the layers it holds as attributes, in the order Keras tracks them."""
        own = [v for v in self._variables if v.trainable] + \
            [v for v in self._variables if not v.trainable]
        if not self._rnncore_call:
            return own
        # kept while no weight was made, no custom layer's attribute set and no layer's
        # `trainable` flipped anywhere (the trainer asks several times a batch)
        layers = self._tracked_layers()
        key = (_WEIGHTS_EPOCH[0], len(layers))
        cached = self.__dict__.get("_variables_cache")
        if cached is not None and cached[0] == key:
            return list(cached[1])
        seen, out = set(), []
        for v in own + [w for layer in layers for w in layer.weights]:
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        self.__dict__["_variables_cache"] = (key, out)
        return list(out)

    def _tracked_layers(self):
        """The layers held in this layer's attributes (also in lists, tuples and dicts).

        Kept between calls (the trainer asks for the weights several times a batch): an
        attribute set anew (``__setattr__``) or a held list or dict that changed length
        makes it look again."""
        cached = self.__dict__.get("_tracked_cache")
        if cached is not None and all(len(c) == n for c, n in cached[1]):
            return cached[0]
        found = []

        def visit(value):
            if isinstance(value, Layer):
                if all(value is not f for f in found):
                    found.append(value)
            elif isinstance(value, (list, tuple)):
                for v in value:
                    visit(v)
            elif isinstance(value, dict):
                for v in value.values():
                    visit(v)
        containers = []
        for key, value in self.__dict__.items():
            if not key.startswith("_") or key == "_layers_list":
                visit(value)
                if isinstance(value, (list, dict)):
                    containers.append((value, len(value)))
        self.__dict__["_tracked_cache"] = (found, containers)
        return found


    # ---- losses: add_loss terms, activity and weight penalties ----------------------------
    @property
    def losses(self):
        """Keras's ``layer.losses``: the terms its last call (and its sub-layers') added with
        ``add_loss`` and the activity penalties of their outputs, layer by layer in Keras's
        order, then the penalties of the regularized trainable weights."""
        return self._added_losses() + [v.regularizer(v.value) for v in self.trainable_weights
                                       if v.regularizer is not None]

    def add_loss(self, loss):
        """Keras's ``add_loss``, called inside ``call``: `loss` (a tensor, or a list of them;
        a non-scalar one counts as its sum, as Keras sums it) joins the total loss of the
        training step that runs the call, differentiated with it, and ``evaluate``'s loss.
        ``layer.losses`` lists the terms of the last call."""
        terms = list(_recorded._flat(loss)) if isinstance(loss, (list, tuple)) else [loss]
        for term in terms:
            if isinstance(term, SymbolicTensor):
                raise ValueError(
                    f"Layer {self.name!r}: add_loss() got a symbolic tensor ({term!r}); rnncore "
                    "takes add_loss only inside a layer's or a subclassed model's call(), on "
                    "the tensors it computes")
            # a Python number is what a loss object returns outside a training step (a
            # symbolic call's trial run of an endpoint layer): a constant term
            value = np.asarray(_recorded.value_of(term)) if _recorded.is_array(term) or \
                isinstance(term, (int, float)) and not isinstance(term, bool) else None
            if value is None or value.dtype.kind not in "biuf":
                raise ValueError(
                    f"Layer {self.name!r}: add_loss() can only be called from inside build() or "
                    f"call(), on a tensor input (computed with rnncore.ops); received {term!r:.80}")
        self.__dict__["_losses"] = (self.__dict__.get("_losses") or []) + terms
        _recorded.note_added_losses(terms)

    def _clear_losses(self):
        """Keras clears the losses of a layer and of all it holds when a call starts: the
        ``add_loss`` terms and the activity penalties of an earlier forward."""
        for layer in self._flatten_layers():
            layer.__dict__.pop("_losses", None)
            layer._activity = None

    def _flatten_layers(self):
        """This layer and every layer inside it in Keras's order (``_flatten_layers``: a
        deque of the held layers, each one's own held layers put in front, reversed)."""
        # kept while no weight was made, no layer's attribute set and the held layers are
        # the same (the trainer walks it twice a batch)
        children = self._loss_children()
        key = (_WEIGHTS_EPOCH[0], tuple(map(id, children)))
        cached = self.__dict__.get("_flat_cache")
        if cached is not None and cached[0] == key:
            return cached[1]
        found, seen = [self], {id(self)}
        queue = collections.deque(children)
        while queue:
            layer = queue.popleft()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            found.append(layer)
            queue.extendleft(layer._loss_children())
        self.__dict__["_flat_cache"] = (key, found)
        return found

    def _loss_children(self):
        """The layers whose losses this one's ``losses`` gathers: the ones a layer with
        ``call`` holds as attributes, or a built-in wrapper's own (a Bidirectional's two)."""
        return self._tracked_layers() if self._rnncore_call else self._sublayers()

    def _added_losses(self):
        return [p for layer in self._flatten_layers() for p in layer._own_losses()]

    def _own_losses(self):
        """Keras's ``_get_own_losses``: the terms of this layer's ``add_loss`` calls, then the
        activity penalty a model's graph walk gave its outputs."""
        terms = [_recorded.value_of(t) for t in self.__dict__.get("_losses") or ()]
        return terms + (list(self._activity[0]) if self._activity else [])

    # ---- activity regularization -----------------------------------------------------------
    def _sublayers(self):
        """The layers this one runs inside it (none; a Bidirectional its two directions)."""
        return []

    def _record_activity(self, outputs):
        """Keras's activity penalty of this forward's outputs: the regularizer of each output
        array divided by its batch size (0 for an empty batch), in the output's dtype; kept
        with its gradient for the backward pass. The model calls this after each forward."""
        reg = self.activity_regularizer
        if reg is None:
            self._activity = None
            return
        values, grads = [], []
        for y in (outputs if isinstance(outputs, (list, tuple)) else [outputs]):
            y = np.asarray(y)
            batch = y.dtype.type(y.shape[0] if y.ndim else 1)
            value, grad = y.dtype.type(reg(y)), reg.gradient(y).astype(y.dtype, copy=False)
            values.append(value / batch if batch else y.dtype.type(0))
            grads.append(grad / batch if batch else np.zeros_like(y))
        self._activity = (values, grads)

    def preactivation_activity_grad(self):
        """For a layer whose loss is taken from its pre-activation (Dense): the activity
        penalty's gradient carried there, or None."""
        return None

    def _with_activity_grad(self, d_outputs):
        """`d_outputs` (an array, or a list with one entry per output, None for none) plus the
        gradient of the activity penalty, when the layer has one."""
        if not self._activity:
            return d_outputs
        grads = self._activity[1]
        if isinstance(d_outputs, (list, tuple)) or len(grads) > 1:
            ds = list(d_outputs) if isinstance(d_outputs, (list, tuple)) else [d_outputs]
            ds += [None] * (len(grads) - len(ds))
            return [g if d is None else d + g for d, g in zip(ds, grads)]
        return grads[0] if d_outputs is None else d_outputs + grads[0]

    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def get_weights(self):
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights):
        mine = self.weights
        if not isinstance(weights, (list, tuple)):
            raise ValueError(f"Layer {self.name!r}: set_weights expects a list of arrays (as "
                             f"get_weights returns), got {type(weights).__name__}")
        weights = list(weights)
        if len(weights) != len(mine):
            raise ValueError(f"Layer {self.name!r} expects {len(mine)} weights, but the weights "
                             f"list has {len(weights)} elements")
        for var, w in zip(mine, weights):
            w = np.asarray(w)
            if w.shape != var.shape:
                raise ValueError(f"Layer {self.name!r} weight {var.name!r}: expected shape "
                                 f"{var.shape}, got {w.shape}")
        weights = [var.checked(w) for var, w in zip(mine, weights)]  # all, before any changes
        for var, w in zip(mine, weights):
            var.assign(w)

    def count_params(self):
        return int(sum(v.value.size for v in self.weights))

    @property
    def grads(self):
        """Gradients of the trainable weights from the last backward pass, in weight order."""
        return [v.grad for v in self.trainable_weights]

    # ---- shapes and building -------------------------------------------------------------
    def build(self, input_shape):
        self.built = True

    def _maybe_build(self, input_shape):
        if not self.built:
            self.build(input_shape)
            self.built = True

    def compute_output_shape(self, input_shape):
        if self._rnncore_call:
            return _symbolic_calls.output_shape_by_running(self, input_shape)
        return input_shape

    def check_input_shape(self, input_shape):
        """Keras's input-spec check of the (first) input's shape, batch dimension included,
        when the layer is called on a symbolic tensor or a Sequential model is built."""
        shape = tuple(input_shape)
        ndim = len(shape)
        if (self.input_ndim is not None and ndim != self.input_ndim) or (
                self.input_min_ndim is not None and ndim < self.input_min_ndim):
            expected = (f"ndim={self.input_ndim}" if self.input_ndim is not None
                        else f"min_ndim={self.input_min_ndim}")
            raise ValueError(f"Input 0 of layer {self.name!r} is incompatible with the layer: "
                             f"expected {expected}, found ndim={ndim}. Full shape received: "
                             f"{shape}")

    def compute_mask(self, inputs, mask=None):
        return mask if self.supports_masking else None

    def check_input(self, x):
        """Validate and convert one eager input (hook for subclasses); returns an ndarray."""
        return as_float_array(x, "inputs", self.dtype)

    # ---- calling ------------------------------------------------------------------------
    def __call__(self, inputs=_NO_INPUTS, *args, **kwargs):
        if inputs is _NO_INPUTS:
            inputs = inputs_by_keyword(self, kwargs)
        if self._rnncore_call and type(self).forward is not Layer.forward:
            base = next(c for c in type(self).__mro__ if c.__module__.startswith("rnncore."))
            raise NotImplementedError(
                f"{type(self).__name__} subclasses rnncore's {base.__name__} and overrides call: "
                f"rnncore runs {base.__name__} on its own forward and backward, which would "
                f"ignore that call. Hold a {base.__name__} as a sub-layer of a Layer subclass "
                "instead")
        if args and self._call_positional is not None and not self._rnncore_call:
            args, kwargs = self._bind_positional(args, kwargs)
        if self.input_spec is not None:
            _input_spec.assert_input_compatibility(self.input_spec, inputs, self.name,
                                                   self.dtype)
        if _recorded.is_recorded([inputs, args, kwargs]):  # inside a recorded call
            return self._as_keras_returns(_recorded.call_inside(self, inputs, args, kwargs))
        if self._rnncore_call and _is_symbolic(list(args) + list(kwargs.values())):
            inputs, args, kwargs = _symbolic_calls.pack_tensor_arguments(self, inputs, args, kwargs)
        if _is_symbolic(inputs) or _is_symbolic(kwargs.get("initial_state")):
            if args:
                raise NotImplementedError(
                    f"Layer {self.name!r}: called on symbolic tensors with positional "
                    f"arguments that are not tensors ({args!r:.80}); pass them by keyword")
            return self._as_keras_returns(self._symbolic_call(inputs, **kwargs))
        if self._rnncore_call:
            return _with_keras_mask(_recorded.eager_call(self, inputs, args, kwargs))
        # Keras's eager masks: an output carries its mask as `_keras_mask`, and a layer that
        # supports masking takes the mask its input carries
        carried = getattr(inputs, "_keras_mask", None)
        if carried is None and isinstance(inputs, (list, tuple)):  # a merge's or Attention's
            carried = [getattr(x, "_keras_mask", None) for x in inputs]
            carried = carried if any(m is not None for m in carried) else None
        if carried is not None and self.supports_masking and kwargs.get("mask") is None and \
                not args:
            kwargs["mask"] = carried
        if not _recorded.in_call():
            self._clear_losses()
        out = self._eager_call(inputs, *args, **kwargs)
        if self.activity_regularizer is not None:
            _recorded._add_activity_penalty(self, out)
        return self._as_keras_returns(
            _with_keras_mask(out, self._eager_output_mask(inputs, kwargs.get("mask"))))

    def _as_keras_returns(self, out):
        # Keras's recurrent layers return (output, *states) as a tuple with return_state;
        # rnncore's graph keeps the list, the caller gets Keras's type
        if type(out) is list and getattr(self, "return_state", False) and \
                not self._rnncore_call:
            return tuple(out)
        return out

    def _bind_positional(self, args, kwargs):
        names = self._call_positional
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__}.call() takes inputs and at most "
                            f"{len(names)} more positional arguments ({', '.join(names)}); "
                            f"received {len(args)}")
        kwargs = dict(kwargs)
        for name, value in zip(names, args):
            if name in kwargs:
                raise TypeError(f"{type(self).__name__}.call() got multiple values for "
                                f"argument {name!r}")
            kwargs[name] = value
        return (), kwargs

    def call(self, inputs, *args, **kwargs):
        """Keras's ``layer.call(inputs, ...)`` of a built-in layer: what calling the layer
        computes (on arrays eagerly; on recorded tensors inside a recorded ``call``, one node
        whose gradient is the layer's backward). A class written with its own ``call``
        replaces this; defined here, it is not mistaken for one (``_rnncore_call``)."""
        return self(inputs, *args, **kwargs)

    def _eager_output_mask(self, inputs, mask):
        try:
            out_mask = self.compute_mask(inputs, mask)
        except Exception:  # a mask rnncore cannot work out eagerly is one Keras programs lack
            return None
        return out_mask

    def _eager_call(self, inputs, training=False, mask=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}() got unexpected arguments {sorted(kwargs)}")
        x = self.check_input(inputs)
        if np.ndim(x) == 0 and not self._accepts_scalar:
            raise ValueError(f"Layer {self.name!r}: inputs must have a batch dimension, got a "
                             f"scalar ({inputs!r})")
        self.check_input_shape(np.shape(x))
        self._maybe_build(x.shape)
        return self.forward(x, training=bool(training), mask=mask)

    def _symbolic_call(self, inputs, **kwargs):
        shape = inputs.shape if isinstance(inputs, SymbolicTensor) else [i.shape for i in inputs]
        self.check_input_shape(shape if isinstance(inputs, SymbolicTensor) else shape[0])
        self._maybe_build(shape)
        mask, previous = _symbolic_calls.symbolic_masks(self, inputs, kwargs.get("mask"))
        if self._rnncore_call and type(self).compute_output_shape is Layer.compute_output_shape:
            out_shape = _symbolic_calls.output_shape_by_running(self, shape, mask)
        else:
            out_shape = _flat_shapes(self.compute_output_shape(shape))
        node_index = len(self._inbound_nodes)
        if isinstance(out_shape, list):
            outputs = [SymbolicTensor(s, self.dtype, self, node_index, i, name=self.name)
                       for i, s in enumerate(out_shape)]
        else:
            outputs = SymbolicTensor(out_shape, self._output_dtype or self.dtype, self,
                                     node_index, 0, name=self.name)
        self._inbound_nodes.append(Node(self, inputs, outputs, kwargs))
        _symbolic_calls.set_symbolic_masks(self, inputs, outputs, previous)
        self._warn_if_mask_dropped(inputs)
        return outputs

    def _warn_if_mask_dropped(self, inputs):
        """Keras's warning when a masked input reaches a layer that does not support masking
        (GlobalMaxPooling1D after Embedding(mask_zero=True), ...): the mask stops there."""
        from ..models._model import Model

        if self.supports_masking or isinstance(self, Model):
            return
        if any(getattr(t, "_keras_mask", None) is not None
               for t in (inputs if isinstance(inputs, (list, tuple)) else [inputs])):
            warnings.warn(f"Layer '{self.name}' (of type {type(self).__name__}) was passed an "
                          "input with a mask attached to it. However, this layer does not "
                          "support masking and will therefore destroy the mask information. "
                          "Downstream layers will not see the mask.")

    @property
    def input(self):
        """The tensor(s) this layer was first called on in a functional graph (Keras 3's
        ``layer.input``)."""
        return self._first_node("input").inputs

    @property
    def output(self):
        """The tensor(s) the layer's first call made in a functional graph (``layer.output``)."""
        return self._first_node("output").outputs

    def _first_node(self, what):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name!r} has never been called and thus has no "
                                 f"defined {what}.")
        return self._inbound_nodes[0]

    def forward(self, inputs, training=False, mask=None):
        if self._rnncore_call:
            return _recorded.forward(self, inputs, training, mask)
        raise NotImplementedError(f"Layer {self.name!r} ({type(self).__name__}) defines no "
                                  "call(inputs): write one, as in Keras")

    def backward(self, d_outputs):
        if self._rnncore_call:
            return _recorded.backward(self, d_outputs)
        raise NotImplementedError(f"Layer {self.name!r} ({type(self).__name__}) defines no "
                                  "call(inputs): write one, as in Keras")

    # ---- serialisation ------------------------------------------------------------------
    def get_config(self):
        # the dtype as Keras 3 writes it: its DTypePolicy's serialized form (a plain dtype
        # name, which older files hold, is read back as well)
        config = {"name": self.name, "trainable": self.trainable,
                  "dtype": {"module": "keras", "class_name": "DTypePolicy",
                            "config": {"name": self.dtype}, "registered_name": None}}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = _regularizers.serialize(self.activity_regularizer)
        if "_auto_config" in self.__dict__ and type(self).get_config is Layer.get_config:
            return _auto_config.apply(self, config, self.__dict__["_auto_config"])
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # ---- pickling and deep copies ---------------------------------------------------------
    # What one forward pass leaves for its backward pass (inputs, activations, dropout masks,
    # the recurrent ops' caches, which hold a kernel module): a pickled or deep-copied layer
    # drops it, as a fresh layer has none, and the next forward makes it again.
    _TRANSIENT = ("_cache", "_x", "_z", "_y", "_keep", "_ids", "_tape", "_w", "_shape",
                  "_yf", "_yb", "_input_shape", "_activity", "_record", "_tracked_cache",
                  "_variables_cache", "_trainable_cache", "_losses", "_flat_cache")

    def __getstate__(self):
        """The layer's ``__dict__`` for pickle and ``copy.deepcopy``: configuration, weights
        (with their regularizers and constraints), the symbolic graph (``_inbound_nodes``),
        the dropout generator and a stateful layer's ``states`` travel; the per-forward data
        in ``_TRANSIENT`` is dropped and the workspace (scratch arrays reused between batches)
        is replaced by an empty one."""
        state = self.__dict__.copy()
        for name in self._TRANSIENT:
            if name in state:
                state[name] = None
        workspace = state.get("_workspace")
        if workspace is not None:
            state["_workspace"] = type(workspace)()
        return state

    def __repr__(self):
        # (also for a layer whose __init__ failed before it had a name)
        return (f"<{type(self).__name__} name={getattr(self, 'name', None)}, "
                f"built={getattr(self, 'built', False)}>")


def _flat_shapes(shapes):
    """One output's shape as it is; several outputs' shapes (a list, or Keras's nested tuple
    of a stacked RNN's states) as one flat list, one symbolic output each."""
    if isinstance(shapes, (list, tuple)) and shapes and \
            all(isinstance(s, (list, tuple)) for s in shapes):
        flat = []
        for s in shapes:
            item = _flat_shapes(s)
            flat.extend(item if isinstance(item, list) else [item])
        return flat
    return shapes


class KerasArray(np.ndarray):
    """An eager layer output that carries the mask Keras attaches to it (``_keras_mask``);
    otherwise a plain ndarray (views and results of NumPy operations carry no mask)."""

    _keras_mask = None

    def __array_finalize__(self, obj):
        self._keras_mask = None

    def numpy(self):
        return np.asarray(self)


def _with_keras_mask(out, mask=None):
    """An eager call's result as Keras gives it: each array a :class:`KerasArray` (with
    ``.numpy()``, as TensorFlow's eager tensors have) in the same list, tuple or dict, and a
    single output carrying `mask` as its ``_keras_mask``; several outputs carry a list of
    masks one each, or one mask on the first (an attention's output, not its scores)."""
    if isinstance(out, (list, tuple)) and type(out) in (list, tuple):
        if isinstance(mask, (list, tuple)) and len(mask) == len(out):
            masks = list(mask)
        else:
            masks = [None] * len(out)
            if out and mask is not None and not isinstance(mask, (list, tuple)):
                masks[0] = mask
        return type(out)(_with_keras_mask(item, m) for item, m in zip(out, masks))
    if isinstance(mask, (list, tuple)):
        mask = mask[0] if mask else None
    if isinstance(out, dict) and type(out) is dict:
        return {key: _with_keras_mask(item) for key, item in out.items()}
    if not isinstance(out, np.ndarray) or (mask is None and isinstance(out, KerasArray)):
        return out
    out = out.view(KerasArray)
    if mask is not None:
        out._keras_mask = np.asarray(mask)
    return out


def _integer_dtype_name(dtype):
    """The name of `dtype` (a name, NumPy dtype, DTypePolicy or its config) when it is an
    integer dtype, else None."""
    if dtype is None:
        return None
    try:
        name = _mixed_precision._policy_name(dtype)
        kind = np.dtype(name).kind
    except (TypeError, ValueError):
        return None
    return np.dtype(name).name if kind in "iu" else None


def as_float_array(x, argument, dtype):
    """Convert to a float ndarray of `dtype`; integer and non-contiguous input is converted,
    non-numeric input is a ValueError naming `argument`."""
    arr = np.asarray(x.value if isinstance(x, Variable) else x)
    if arr.dtype == object or np.issubdtype(arr.dtype, np.complexfloating) or not (
            np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ValueError(f"{argument} must be a numeric array of real numbers, got dtype "
                         f"{arr.dtype}")
    # np.require keeps a 0-d array 0-d (ascontiguousarray makes it (1,)), so a scalar is
    # refused by the rank checks instead of passing as one sample
    return np.require(arr, dtype=dtype, requirements="C")
