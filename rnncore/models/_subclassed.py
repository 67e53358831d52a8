"""What a model written as Keras subclasses it (``__init__`` + ``call``) runs on.

Model's per-batch protocol (``_forward``, ``_backward``, ``_check_inputs``, ...) for a
subclass of ``Model`` that defines ``call``: the layers are the ones it holds as attributes,
and a training step records its ``call`` and replays the record backward, the same mechanism
as a custom layer (``rnncore.layers._recorded``). Functional and Sequential models override
all of these with their graph walk.

``call`` may return several outputs, as in Keras: a list or tuple (Keras names their losses
after the loss functions, ``mse_loss``, and their metrics plainly, ``mae``) or a dict (its
keys, sorted, are the outputs' names: ``<key>_loss``, ``<key>_<metric>``). The model learns
which from its first call; ``predict`` returns the same kind of container.
"""
import numpy as np

from ..layers import _recorded
from ..layers._base import Layer


class CallModel:
    """The graph of a subclassed model is its ``call``."""

    _dict_outputs = True
    _single_output = True
    # what the last call returned: None (not called yet), "one", "list" (a list or, with
    # _call_output_tuple, a tuple) or "dict" (with _call_output_keys)
    _call_outputs = None
    _call_output_keys = ()
    _call_output_tuple = False

    @property
    def output_names(self):
        """Keras's subclassed models have no output names; a dict's keys name its outputs."""
        return list(self._call_output_keys) if self._call_outputs == "dict" else []

    def _head_names(self):
        """The outputs' names for ``compile``'s heads: ``output_names``, or for a subclassed
        model's list of outputs one None per output (unnamed, as in Keras)."""
        if self._rnncore_call and self._call_outputs == "list":
            return [None] * self._call_n_outputs
        return self.output_names

    def _n_outputs(self):
        return 1 if self._single_output else self._call_n_outputs

    def _structure_outputs(self, values):
        if self._single_output:
            return values[0]
        if self._call_outputs == "dict":
            return dict(zip(self._call_output_keys, values))
        return tuple(values) if self._call_output_tuple else list(values)

    def _learn_outputs(self, x):
        """Run a subclassed model's call once on two samples (building it) when what it
        returns is not known yet, so that the targets can be matched to its outputs."""
        if not self._rnncore_call or self._call_outputs is not None:
            return
        x = self._check_inputs(x)
        if not self.built:
            self._build_from(x)
        self._output_shape(x)

    def _note_outputs(self, out):
        """What a subclassed model's call returned: one array, a list or tuple, or a dict,
        as a list with one array per output."""
        if isinstance(out, dict):
            keys = _recorded.output_keys(out)
            kind, outs = "dict", [out[k] for k in keys]
        elif isinstance(out, (list, tuple)) and len(out) != 1:
            kind, keys, outs = "list", (), list(out)
        else:
            kind, keys, outs = "one", (), [out[0] if isinstance(out, (list, tuple)) else out]
        for i, o in enumerate(outs):
            if isinstance(o, (list, tuple, dict)):
                raise NotImplementedError(
                    f"Model {self.name!r} ({type(self).__name__}): call returned nested outputs "
                    f"(output {i} is a {type(o).__name__}); rnncore trains a subclassed model "
                    "whose call returns an array, a list or tuple of arrays, or a dict of them")
        self._call_outputs, self._call_output_keys = kind, tuple(keys)
        self._call_output_tuple = isinstance(out, tuple)
        self._call_n_outputs, self._single_output = len(outs), kind == "one"
        return outs[0] if kind == "one" else outs

    @property
    def layers(self):
        return self._tracked_layers()

    def _note_call_inputs(self, x):
        # a subclassed model takes whatever its call takes: a list or tuple of arrays is
        # several inputs, as in Keras
        if self._rnncore_call:
            several = isinstance(x, (list, tuple)) and len(x) > 1 and all(
                np.ndim(v) >= 1 and not isinstance(v, (int, float)) for v in x) and \
                len({np.shape(v)[0] for v in x}) == 1 and not all(np.ndim(v) == 0 for v in x)
            self._call_n_inputs = len(x) if several else 1

    def _n_inputs(self):
        if not self._rnncore_call:
            raise NotImplementedError(
                f"Model {self.name!r} ({type(self).__name__}) defines no call(inputs): a "
                "subclass of Model writes one, as in Keras")
        return getattr(self, "_call_n_inputs", 1)

    def _string_inputs(self):
        return ()

    def _check_inputs(self, x):
        return _recorded._arrays(x, self.dtype)

    def _build_from(self, x):
        shape = _recorded._shapes(x)
        shape = [(None,) + tuple(s[1:]) for s in shape] if isinstance(shape, list) else \
            (None,) + tuple(shape[1:])
        if type(self).build not in (Layer.build, CallModel.build):
            self.build(shape)
        self.built = True
        self._build_shape = shape

    def build(self, input_shape=None):
        """Keras's ``Model.build`` for a subclass: ``call`` runs once on zeros of
        ``input_shape`` (None dimensions taken as 1), so every layer makes its weights."""
        if not self._rnncore_call:
            return Layer.build(self, input_shape)
        if input_shape is None:
            raise ValueError(f"build: pass input_shape, e.g. model.build((None, 10, 3)); got "
                             f"None for model {self.name!r}")
        several = isinstance(input_shape, list) and all(
            isinstance(s, (list, tuple)) for s in input_shape)
        shapes = input_shape if several else [input_shape]
        zeros = [np.zeros([1 if d is None else int(d) for d in s], self.dtype) for s in shapes]
        self._build_shape = input_shape  # what a saved file's build_config holds
        self._call_n_inputs = len(zeros) if several else 1
        self.built = True
        self._forward(zeros if several else zeros[0], training=False)

    def _output_layer(self, i=0):
        # the layer that made the recorded output: a sigmoid/softmax Dense there has its loss
        # computed from its logits, as Keras's TensorFlow backend does (through the output
        # tensor's cached logits); outside training, or when the output also feeds something
        # else of the call, the probabilities are used
        return _recorded.output_layer(self, i) or self

    def _output_shape(self, x, i=0):
        # found by running call on two samples, once per shape of the inputs (train_on_batch
        # asks at every batch)
        key = (i,) + tuple(np.shape(v)[1:] for v in (x if isinstance(x, list) else [x]))
        known = self.__dict__.setdefault("_output_shapes", {})
        if key not in known:
            head = [v[:2] for v in x] if isinstance(x, list) else x[:2]
            out = self._forward(head, training=False)
            out = out[i] if isinstance(out, list) else out
            known[key] = (None,) + np.shape(out)[1:]
        return known[key]

    def _forward(self, x, training):
        out = self._note_outputs(_recorded.forward(self, x, training))
        self._output_masks = [None] * self._call_n_outputs
        self._output_mask = None
        return out

    def _backward(self, d, from_logits=False):
        flags = from_logits if isinstance(from_logits, (list, tuple)) else [from_logits]
        for i, fused in enumerate(flags):
            if fused:
                _recorded.mark_fused(self, i)
        if self._call_outputs == "one" and isinstance(self._record[1], (list, tuple)):
            d = [d]  # call returned [output]
        return _recorded.backward(self, d)
