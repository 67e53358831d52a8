"""Functional models: ``Model(inputs, outputs)`` over a graph of layer calls."""
import copy

import numpy as np

from .._indexed_slices import IndexedSlices

from ..layers import _recorded
from ..layers._base import SymbolicTensor, unique_name
from ..layers._bidirectional import Bidirectional
from ..layers._cell_rnn import StatesFlatInGraphs
from ..layers._rnn import RNNBase
from ..layers._rnn_layer import RNN
from ..layers._core import InputLayer
from ..layers._embedding import Embedding
from .._serialization import with_custom_objects
from ..layers._op_config import check_op_entry, is_op_entry, rebuild_op, tensor_refs
from ..layers._op_layer import OpLayer
from ._model import Model


def _flat(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _template(structure, flat):
    """`structure` (a tensor, or nested lists, tuples and dicts of them) with each tensor
    replaced by its index in `flat`, to which it is appended; tuples stay tuples (written
    to JSON they become lists, as Keras's do). A dict's values are flattened in the order of
    its sorted keys, as Keras's ``tree.flatten`` does (that order is the order of the model's
    outputs, layers and weights), and keep the dict's own key order when packed."""
    if isinstance(structure, dict):
        indices = {k: _template(structure[k], flat) for k in sorted(structure)}
        return {"dict": {k: indices[k] for k in structure}}
    if isinstance(structure, (list, tuple)):
        return type(structure)(_template(v, flat) for v in structure)
    flat.append(structure)
    return len(flat) - 1


def _pack(template, values):
    """The inverse of :func:`_template`: `values` put back into the structure."""
    if isinstance(template, dict):
        return {k: _pack(v, values) for k, v in template["dict"].items()}
    if isinstance(template, (list, tuple)):
        return type(template)(_pack(v, values) for v in template)
    return values[template]


def _mask_tensor(node):
    """The symbolic ``mask=`` a layer was called with in the graph: a tensor, a list of
    tensors (or None entries) for a layer of several inputs, or None."""
    mask = node.kwargs.get("mask")
    if isinstance(mask, (list, tuple)) and any(isinstance(m, SymbolicTensor) for m in mask):
        return [m if isinstance(m, SymbolicTensor) else None for m in mask]
    return mask if isinstance(mask, SymbolicTensor) else None


def _node_tensors(node):
    """Every symbolic tensor a node reads, in Keras's order: the positional inputs (a recurrent
    layer's ``initial_state`` among them), then an explicit ``mask=``."""
    mask = _mask_tensor(node)
    return _flat(node.inputs) + [m for m in _flat(mask) if m is not None]


def _sum_shared_gradients(model, shared):
    """A shared layer's weights get the sum of its calls' gradients, as TensorFlow sums them:
    dense ones added, an Embedding's sparse ones concatenated (one slice per id occurrence of
    every call)."""
    for layer in model.layers:
        calls = shared.get(id(layer))
        if not calls:
            continue
        for k, var in enumerate(layer.trainable_weights):
            parts = [grads[k] for grads in calls if grads[k] is not None]
            if not parts:
                var.grad = None
            elif all(isinstance(g, IndexedSlices) for g in parts):
                var.grad = IndexedSlices(np.concatenate([g.indices for g in parts]),
                                         np.concatenate([g.values for g in parts]),
                                         parts[0].dense_shape)
            else:
                total = None
                for g in parts:
                    g = g.to_dense() if isinstance(g, IndexedSlices) else g
                    total = g if total is None else total + g
                var.grad = total


def _states_in_inputs(layer):
    """Whether a layer's list of inputs is [sequence, *initial_state] (rnncore's recurrent
    layers: Keras passes the states as a keyword, so the mask is the sequence's alone), not
    several inputs with a mask each (merge and attention layers)."""
    return isinstance(layer, (RNNBase, RNN, StatesFlatInGraphs, Bidirectional))


class Functional(Model):
    """A model defined by calling layers on ``Input`` tensors.

    >>> inp = Input(shape=(100,), dtype="int32")
    >>> out = Dense(2, activation="softmax")(SimpleRNN(32)(Embedding(10000, 64)(inp)))
    >>> model = Model(inputs=inp, outputs=out)

    Any number of inputs and outputs: ``outputs`` a tensor, a list of tensors (``predict``
    then returns a list, ``compile`` takes a loss per output) or a dict of tensors
    (``predict`` returns a dict with the same keys).
    """

    def __init__(self, inputs, outputs, name=None, trainable=True):
        super().__init__(name=name or unique_name(getattr(self, "_functional_name",
                                                          "functional")),
                         trainable=trainable)
        # dict inputs: the tensors in the order of their sorted keys (Keras's flattening), and
        # fit / predict take a dict of arrays by those keys
        self._input_keys = sorted(inputs) if isinstance(inputs, dict) else None
        self._inputs = [inputs[k] for k in self._input_keys] if self._input_keys else \
            _flat(inputs)
        self._output_keys = sorted(outputs) if isinstance(outputs, dict) else None
        # the outputs in order, and the user's structure with each tensor's position in it
        # (lists, tuples and dicts, nested: RNN(stacked cells, return_state=True) returns
        # [output, [h1, c1], [h2, c2]])
        outs = []
        self._output_template = _template(outputs, outs)
        if not outs:
            raise ValueError("a model needs at least one output tensor; received outputs=[]")
        # one output tensor trains as one output; predict gives it as one array (alone or in
        # a list, as Keras) or in its dict
        self._single_output = len(outs) == 1
        for t in self._inputs + outs:
            if not isinstance(t, SymbolicTensor):
                raise ValueError(f"inputs and outputs must be tensors from rnncore.Input and "
                                 f"layer calls, got {t!r}")
        for t in self._inputs:
            if not isinstance(t._keras_history[0], InputLayer):
                raise ValueError(f"model inputs must come from rnncore.Input(), got {t!r}")
        self._outputs = outs
        self._output = outs[0]
        self._nodes = self._topological_nodes()
        self._callers = self._node_callers()
        self._layers = self._keras_layer_order()
        self._lookup_nodes = self._embeddings_into_recurrent_layers()
        # nodes fed only by the model's inputs, whose gradient nobody uses (set on the layer at
        # each forward: a layer may also sit elsewhere in another model)
        input_ids = {id(t) for t in self._inputs}
        self._data_fed_nodes = {id(node) for node in self._nodes
                                if all(id(t) in input_ids for t in _flat(node.inputs))}
        if len(self._inputs) == 1:  # as Keras: a Sequential starting with this model
            self._batch_input_shape = tuple(self._inputs[0].shape)
        self.built = True

    def _node_callers(self):
        """The object that runs each node (aligned with ``_nodes``): the layer itself at its
        first node, and for a shared layer's later nodes a copy that shares its weights (and
        its random generator) but keeps its own caches, so that each call's backward finds
        what its own forward left."""
        callers, seen = [], set()
        for node in self._nodes:
            layer = node.layer
            if id(layer) not in seen:
                seen.add(id(layer))
                callers.append(layer)
                continue
            shared = {id(v): v for v in layer.weights}
            for sub in [layer] + layer._sublayers():
                for v in sub.weights:
                    shared[id(v)] = v
                rng = getattr(sub, "_rng", None)
                if rng is not None:
                    shared[id(rng)] = rng
            callers.append(copy.deepcopy(layer, shared))
        return callers

    def _call_objects(self, layer):
        """The layer and the copies that run its later calls in this model."""
        return [c for node, c in zip(self._nodes, self._callers) if node.layer is layer]

    def _loss_children(self):
        # each call of a shared layer adds its own penalties, as in Keras
        calls = {}
        for node, caller in zip(self._nodes, self._callers):
            calls.setdefault(id(node.layer), []).append(caller)
        return [obj for layer in self.layers for obj in calls.get(id(layer), [layer])]

    def _embeddings_into_recurrent_layers(self):
        """ids of the Embedding nodes whose output goes only to one recurrent layer, as its
        sequence input: those hand it an ops.Lookup (see Embedding.forward)."""
        uses = {}
        for node in self._nodes:
            for i, t in enumerate(_flat(node.inputs)):
                uses.setdefault(id(t), []).append((node, i))
        found = set()
        for node in self._nodes:
            out = node.outputs
            if not isinstance(node.layer, Embedding) or isinstance(out, list) or \
                    any(out is o for o in self._outputs):
                continue
            consumers = uses.get(id(out), [])
            if len(consumers) == 1 and consumers[0][1] == 0 and \
                    consumers[0][0].layer.accepts_lookup:
                found.add(id(node))
        return found

    def _topological_nodes(self):
        order, visiting, done = [], set(), set()
        input_ids = {id(t) for t in self._inputs}

        def visit(tensor):
            layer, node_index, _ = tensor._keras_history
            if isinstance(layer, InputLayer):
                if id(tensor) not in input_ids:
                    raise ValueError(f"the graph needs input {layer.name!r}, which is not in "
                                     "the model's inputs")
                return
            node = layer._inbound_nodes[node_index]
            if id(node) in done:
                return
            if id(node) in visiting:
                raise ValueError("the layer graph has a cycle")
            visiting.add(id(node))
            for t in _node_tensors(node):
                visit(t)
            visiting.discard(id(node))
            done.add(id(node))
            order.append(node)

        for output in self._outputs:
            visit(output)
        return order

    def _keras_layer_order(self):
        """The model's layers (its InputLayers included) in Keras's ``Functional.layers``
        order, which is also the order of ``get_weights()``: by depth, the longest path to the
        output, deepest first; ties in the order a depth-first walk from the output first
        reaches them (Keras's ``map_graph``). An encoder-decoder graph thus lists both
        Embeddings, then both LSTMs, as Keras does."""
        first_seen, post_order, finished = {}, [], set()

        def key(tensor):
            layer, node_index, _ = tensor._keras_history
            return layer if isinstance(layer, InputLayer) else layer._inbound_nodes[node_index]

        def walk(tensor):
            node = key(tensor)
            if id(node) in finished:
                return
            layer = tensor._keras_history[0]
            first_seen.setdefault(id(layer), (len(first_seen), layer))
            if not isinstance(node, InputLayer):
                for t in _node_tensors(node):
                    walk(t)
            finished.add(id(node))
            post_order.append((node, tensor))

        for output in self._outputs:
            walk(output)
        node_depth, layer_depth = {}, {}
        for node, _ in reversed(post_order):
            layer = node if isinstance(node, InputLayer) else node.layer
            depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(layer), 0))
            layer_depth[id(layer)] = node_depth[id(node)] = depth
            if not isinstance(node, InputLayer):
                for t in _node_tensors(node):
                    parent = key(t)
                    node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
        for t in self._inputs:  # inputs the output does not use: depth 0, before the rest
            layer = t._keras_history[0]
            if id(layer) not in layer_depth:
                layer_depth[id(layer)] = 0
                first_seen[id(layer)] = (-1, layer)
        return [layer for _, layer in sorted(
            first_seen.values(), key=lambda e: (-layer_depth[id(e[1])], e[0]))]

    @property
    def layers(self):
        """The layers, InputLayers included; as in Keras, not the op nodes (``x + y``...)."""
        return [layer for layer in self._layers if not isinstance(layer, OpLayer)]

    @property
    def operations(self):
        """The layers and the op nodes, in the graph's order (Keras's ``operations``)."""
        return list(self._layers)

    @property
    def inputs(self):
        return list(self._inputs)

    @property
    def outputs(self):
        return list(self._outputs)

    @property
    def input(self):
        """The input tensor, or the list (or dict) of them (Keras's ``model.input``)."""
        if getattr(self, "_input_keys", None):
            return dict(zip(self._input_keys, self._inputs))
        return self._inputs[0] if len(self._inputs) == 1 else list(self._inputs)

    def _inputs_by_name(self, x):
        """A dict of input arrays as the list the graph takes: by the keys of a model built
        on a dict of inputs, else by the inputs' names (as Keras matches them)."""
        if not isinstance(x, dict):
            self._check_input_count(x)
            return x
        keys = getattr(self, "_input_keys", None) or [t.name for t in self._inputs]
        missing = [k for k in keys if k not in x]
        if missing:
            raise ValueError(f"x: the model's inputs are {keys}, and the dict given has no "
                             f"{missing}; received keys {sorted(x)}")
        values = [x[k] for k in keys]
        return values[0] if len(values) == 1 else values

    def _check_input_count(self, x):
        """Keras's error for a list of several arrays given to a model of one input (NumPy
        would otherwise stack them into one array of the wrong shape)."""
        if len(self._inputs) != 1 or not isinstance(x, (list, tuple)) or len(x) < 2 or \
                not all(getattr(v, "shape", None) for v in x):
            return
        names = [t.name for t in self._inputs]
        raise ValueError(f'Layer "{self.name}" expects 1 named input(s) with keys {names}, but '
                         f"it received {len(x)} input tensors. Pass inputs as a dict, e.g. "
                         "`layer({" + ", ".join(f"'{n}': ..." for n in names) + "})`.")

    @property
    def output(self):
        """The output tensor, or the outputs in the structure the model was built with."""
        return self._structure_outputs(self._outputs)

    @property
    def input_shape(self):
        """The inputs' shapes, None for unknown sizes: one tuple, or a list for several."""
        shapes = [tuple(t.shape) for t in self._inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        """The outputs' shapes: one tuple, or a list (in output order) for several."""
        shapes = [tuple(t.shape) for t in self._outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_names(self):
        """The names Keras gives the outputs (in logs: ``<name>_loss``): the dict's keys, or
        the names of the layers that make them."""
        if self._output_keys is not None and len(self._output_keys) == len(self._outputs):
            return list(self._output_keys)
        names = [t._keras_history[0].name for t in self._outputs]
        return [n if names.count(n) == 1 else f"{n}_{t._keras_history[2]}"
                for n, t in zip(names, self._outputs)]

    def _n_outputs(self):
        return 1 if self._single_output else len(self._outputs)

    def _structure_outputs(self, values):
        """A list of per-output values in the user's structure (one array, or the lists and
        dicts the model was built with)."""
        if self._single_output and self._output_keys is None:
            return values[0]
        return _pack(self._output_template, list(values))

    def _symbolic_call(self, inputs, **kwargs):
        # the node keeps the flat list of output tensors; the caller gets them in the
        # structure the model was built with (a dict, a tuple...), as from Keras
        out = super()._symbolic_call(inputs, **kwargs)
        if isinstance(out, list) or self._output_keys is not None:
            return self._structure_outputs(out if isinstance(out, list) else [out])
        return out

    def _n_inputs(self):
        return len(self._inputs)

    def _string_inputs(self):
        return tuple(i for i, t in enumerate(self._inputs) if t.dtype == "string")

    def _check_inputs(self, x):
        xs = _flat(x) if len(self._inputs) > 1 else [x]
        checked = []
        for tensor, value in zip(self._inputs, xs):
            shape = tensor.shape
            # Keras adjusts a rank that is one off by a trailing axis of 1: (n,) feeds
            # Input((1,)), (n, 3, 1) feeds Input((3,))
            if value.ndim == len(shape) + 1 and value.shape[-1] == 1:
                value = value[..., 0]
            elif value.ndim == len(shape) - 1 and shape[-1] == 1:
                value = value[..., None]
            if value.ndim != len(shape) or any(d is not None and d != s
                                               for d, s in zip(shape[1:], value.shape[1:])):
                raise ValueError(f"Input {tensor.name!r} of model {self.name!r} is "
                                 f"incompatible with the model: expected shape={shape}, found "
                                 f"shape={value.shape} (None = any size)")
            consumer = next((n for n in self._nodes if n.inputs is tensor), None)
            if consumer is not None:
                value = consumer.layer.check_input(value)
            elif tensor.dtype != "string" and np.issubdtype(np.dtype(tensor.dtype), np.floating):
                value = np.ascontiguousarray(value, dtype=tensor.dtype)
            checked.append(value)
        return checked if len(self._inputs) > 1 else checked[0]

    def _build_from(self, x):
        self.built = True

    def compute_output_shape(self, input_shape):
        """The outputs' shapes for inputs of `input_shape` (their batch size)."""
        first = input_shape[0] if isinstance(input_shape, list) else input_shape
        shapes = [(first[0],) + tuple(t.shape[1:]) for t in self._outputs]
        return shapes[0] if self._single_output else shapes

    def _output_layer(self, i=0):
        """The layer that makes output `i`, when that output is its only one (the layer whose
        pre-activation a fused loss may read), else None."""
        layer, node_index, _ = self._outputs[i]._keras_history
        return None if isinstance(layer._inbound_nodes[node_index].outputs, list) else layer

    def _output_shape(self, x, i=0):
        n = (x[0] if isinstance(x, list) else x).shape[0]
        return (n,) + tuple(self._outputs[i].shape[1:])

    def _forward(self, x, training):
        if not _recorded.in_call():
            # Keras: a model's call clears the add_loss terms its layers made before
            self._clear_losses()
        xs = x if len(self._inputs) > 1 else [x]
        values = {id(t): v for t, v in zip(self._inputs, xs)}
        masks = {}
        for node, layer in zip(self._nodes, self._callers):
            ins = node.inputs
            if isinstance(ins, (list, tuple)):
                value = [values[id(t)] for t in ins]
                if _states_in_inputs(layer):
                    mask, primary = masks.get(id(ins[0])), value[0]
                else:
                    # Keras hands a layer of several inputs the list of their masks (None when
                    # no input has one), and computes its output mask from all of them
                    mask = [masks.get(id(t)) for t in ins]
                    mask = None if all(m is None for m in mask) else mask
                    primary = value
            else:
                value = values[id(ins)]
                mask = masks.get(id(ins))
                primary = value
            explicit = _mask_tensor(node)
            if isinstance(explicit, list):
                mask = [None if t is None else values[id(t)] for t in explicit]
            elif explicit is not None:  # Keras: a mask passed to the call replaces the inputs'
                mask = values[id(explicit)]
                if not isinstance(primary, list) and \
                        np.shape(mask) != np.shape(primary)[:np.ndim(mask)]:
                    raise ValueError(f"Layer {layer.name!r}: the mask passed to it (input "
                                     f"{explicit.name!r}) has shape {np.shape(mask)}, which "
                                     f"does not match its inputs' shape {np.shape(primary)}")
            layer.input_grad_needed = self._input_grads or id(node) not in self._data_fed_nodes
            if id(node) in self._lookup_nodes:
                out = layer.forward(value, training=training, lookup=True,
                                    projections=self._projections)
            else:
                out = layer.forward(value, training=training,
                                    mask=mask if layer.supports_masking or
                                    _recorded.has_call(layer) else None)
            layer._record_activity(out)
            out_mask = layer.compute_mask(primary, mask)
            for i, t in enumerate(_flat(node.outputs)):
                values[id(t)] = out[i] if isinstance(node.outputs, list) else out
                m = out_mask[i] if isinstance(out_mask, list) else out_mask
                if m is not None:
                    masks[id(t)] = m
        self._output_masks = [masks.get(id(t)) for t in self._outputs]
        self._output_mask = self._output_masks[0]
        if self._single_output:
            return values[id(self._output)]
        return [values[id(t)] for t in self._outputs]

    def _backward(self, d, from_logits=False):
        """Backward from the gradients `d` at the outputs (an array for a single output, else
        a list with None for outputs without a loss); `from_logits` (a flag, or a list of
        them) marks the outputs whose gradient is taken at their layer's pre-activation."""
        ds = [d] if self._single_output else list(d)
        flags = from_logits if isinstance(from_logits, (list, tuple)) else [from_logits] * len(ds)
        grads, fused_nodes = {}, set()
        for t, g, fused in zip(self._outputs, ds, flags):
            if g is None:
                continue
            grads[id(t)] = g if id(t) not in grads else grads[id(t)] + g
            if fused:
                layer, node_index, _ = t._keras_history
                fused_nodes.add(id(layer._inbound_nodes[node_index]))
        shared = self._shared_gradients()
        for node, layer in zip(reversed(self._nodes), reversed(self._callers)):
            outs = node.outputs
            fused = id(node) in fused_nodes
            if isinstance(outs, list):
                d_out = layer._with_activity_grad([grads.get(id(t)) for t in outs])
                if all(g is None for g in d_out) and not _recorded.has_added_losses(layer):
                    continue
            else:
                d_out = grads.get(id(outs))
                if not fused:
                    d_out = layer._with_activity_grad(d_out)
                if d_out is None and not _recorded.has_added_losses(layer):
                    continue
            if fused:
                extra = layer.preactivation_activity_grad()
                d_in = layer.backward_preactivation(d_out if extra is None else d_out + extra)
            else:
                d_in = layer.backward(d_out)
            if shared is not None and id(node.layer) in shared:
                shared[id(node.layer)].append([v.grad for v in node.layer.trainable_weights])
            if d_in is None:
                continue
            ins = _flat(node.inputs)
            d_ins = d_in if isinstance(d_in, list) else [d_in]
            for t, g in zip(ins, d_ins):
                if g is None:
                    continue
                grads[id(t)] = g if id(t) not in grads else grads[id(t)] + g
        if shared:
            _sum_shared_gradients(self, shared)
        # the gradients at the model's inputs (used when the model is a layer of another)
        d_inputs = [grads.get(id(t)) for t in self._inputs]
        return d_inputs[0] if len(d_inputs) == 1 else d_inputs

    def _shared_gradients(self):
        """For the layers this model calls more than once: a dict layer id -> list, to which
        each call's backward adds its weights' gradients (None when no layer is shared)."""
        counts = {}
        for node in self._nodes:
            counts[id(node.layer)] = counts.get(id(node.layer), 0) + 1
        shared = {key: [] for key, n in counts.items() if n > 1}
        return shared or None

    def get_config(self):
        from ..layers import serialize

        index = {}
        layers = []
        op_slots = {}  # an op node's place in `layers`, filled in once its inputs are named
        for layer in self._layers:
            if isinstance(layer, OpLayer):
                op_slots[id(layer)] = len(layers)
                layers.append(None)
                continue
            entry = serialize(layer)
            entry["name"] = layer.name
            entry["inbound_nodes"] = []
            layers.append(entry)
            index[id(layer)] = entry

        # a tensor is [layer name, which call of that layer in this model, which output]
        call_index, seen_calls = {}, {}
        for node in self._nodes:
            call_index[id(node)] = seen_calls.get(id(node.layer), 0)
            seen_calls[id(node.layer)] = call_index[id(node)] + 1

        def ref(t):
            layer, node_index, tensor_index = t._keras_history
            if isinstance(layer, InputLayer):
                return [layer.name, 0, tensor_index]
            return [layer.name, call_index[id(layer._inbound_nodes[node_index])], tensor_index]

        def tensor_json(t):
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": list(t.shape), "dtype": t.dtype,
                               "keras_history": ref(t)}}

        for node in self._nodes:
            if isinstance(node.layer, OpLayer):  # in Keras's form, constants and all
                layers[op_slots[id(node.layer)]] = node.layer.keras_entry(tensor_json)
                continue
            # the call's plain arguments (training, use_causal_mask, return_attention_scores...)
            kwargs = {k: v for k, v in node.kwargs.items()
                      if k != "mask" and (v is None or isinstance(v, (bool, int, float, str)))}
            explicit = _mask_tensor(node)
            if isinstance(explicit, list):
                kwargs["mask"] = [None if t is None else {"keras_tensor": ref(t)}
                                  for t in explicit]
            elif explicit is not None:
                kwargs["mask"] = {"keras_tensor": ref(explicit)}
            index[id(node.layer)]["inbound_nodes"].append(
                {"args": [ref(t) for t in _flat(node.inputs)],
                 "is_list": isinstance(node.inputs, (list, tuple)),
                 "kwargs": kwargs})
        config = {"name": self.name, "layers": layers,
                  "input_layers": [ref(t) for t in self._inputs],
                  "output_layers": [ref(t) for t in self._outputs]}
        if not self._single_output or self._output_keys is not None:
            config["output_structure"] = self._output_template
        return config

    @classmethod
    @with_custom_objects
    def from_config(cls, config):
        from ..layers import deserialize

        tensors = {}  # (layer name, call, output index) -> tensor
        pending = []  # (layer, node entry, call index): calls whose inputs may not exist yet
        for entry in config["layers"]:
            if entry["class_name"] == "InputLayer":
                layer = InputLayer(**entry["config"])
                tensors[(layer.name, 0, 0)] = layer.output
                continue
            if is_op_entry(entry):  # ops.mean(x, axis=1)...: made once its inputs are
                check_op_entry(entry, "from_config")
                pending.append((entry, entry["name"], None, 0))
                continue
            layer = deserialize({"class_name": entry["class_name"], "config": entry["config"]})
            # the graph refers to a layer by the name its entry was saved under: a custom
            # layer whose get_config leaves out `name` is made under a fresh one (as Keras's
            # functional_from_config keys its layers)
            key = entry.get("name") or layer.name
            pending += [(layer, key, node, k) for k, node in enumerate(entry["inbound_nodes"])]

        def tensor(ref):
            name, call, ti = ref
            return tensors.get((name, call, ti), False)  # False: not made (yet)

        while pending:  # a shared layer's later call may read tensors of layers listed after it
            waiting = []
            for layer, key, node, k in pending:
                if node is None:  # an op entry
                    if any(tensor(r) is False for r in tensor_refs(layer["inbound_nodes"][0])):
                        waiting.append((layer, key, node, k))
                        continue
                    out = rebuild_op(layer, tensor)
                    for i, t in enumerate(out if isinstance(out, list) else [out]):
                        tensors[(key, 0, i)] = t
                    continue
                if k != sum(1 for made in tensors if made[0] == key and made[2] == 0):
                    waiting.append((layer, key, node, k))  # its calls are made in order
                    continue
                args = [tensor(ref) for ref in node["args"]]
                kwargs = dict(node["kwargs"])
                mask = kwargs.get("mask")
                if isinstance(mask, dict):
                    kwargs["mask"] = tensor(mask["keras_tensor"])
                elif isinstance(mask, list):
                    kwargs["mask"] = [None if m is None else tensor(m["keras_tensor"])
                                      for m in mask]
                if any(a is False for a in args + _flat(kwargs.get("mask"))):
                    waiting.append((layer, key, node, k))
                    continue
                out = layer(args if node["is_list"] else args[0], **kwargs)
                flat = []
                _template(out, flat)  # a call may return nested lists (RNN of stacked cells)
                for i, t in enumerate(flat):
                    tensors[(key, k, i)] = t
            if len(waiting) == len(pending):
                layer = waiting[0][0]
                name = layer["name"] if isinstance(layer, dict) else layer.name
                raise ValueError(f"layer {name!r} refers to an unknown input")
            pending = waiting
        inputs = [tensors[tuple(ref)] for ref in config["input_layers"]]
        outputs = [tensors[tuple(ref)] for ref in config["output_layers"]]
        structure = config.get("output_structure")
        outputs = outputs[0] if structure is None else _pack(structure, outputs)
        return cls(inputs if len(inputs) > 1 else inputs[0], outputs, name=config.get("name"))
