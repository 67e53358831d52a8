"""What a model written as Keras subclasses it (``__init__`` + ``call``) runs on.

Model's per-batch protocol (``_forward``, ``_backward``, ``_check_inputs``, ...) for a
subclass of ``Model`` that defines ``call``: the layers are the ones it holds as attributes,
and a training step records its ``call`` and replays the record backward, the same mechanism
as a custom layer (``rnncore.layers._recorded``). Functional and Sequential models override
all of these with their graph walk.
"""
import numpy as np

from ..layers import _recorded
from ..layers._base import Layer


class CallModel:
    """The graph of a subclassed model is its ``call``."""

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
        # tensor's cached logits); outside training the probabilities are used
        return _recorded.output_layer(self) or self

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
        self._output_mask, self._output_masks = None, [None]
        out = _recorded.forward(self, x, training)
        if isinstance(out, (list, tuple)):
            self._record = None
            raise NotImplementedError(
                f"Model {self.name!r} ({type(self).__name__}): call returned {len(out)} outputs; "
                "rnncore trains subclassed models with one output so far. Return one array "
                "(e.g. ops.concatenate of them), or build the model functionally")
        return out

    def _backward(self, d, from_logits=False):
        if from_logits:
            _recorded.mark_fused(self)
        return _recorded.backward(self, d)
