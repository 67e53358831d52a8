"""Keras 3's ``Model.compute_loss`` hook (a mixin of :class:`rnncore.models.Model`).

``compute_loss(x, y, y_pred, sample_weight, training)`` is the loss a training step
differentiates and the ``loss`` that fit and evaluate report. Keras's own is the compiled loss
plus ``model.losses``; a subclass that overrides it (the backend-agnostic way to customize
``fit``) may return any loss it computes with ``rnncore.ops`` from ``y_pred``, and may call
``super().compute_loss(...)`` for the compiled part. rnncore then records the model's ``call``
and the override together and differentiates the loss it returns; the compiled metrics are
updated from ``y`` and ``y_pred`` as Keras's ``compute_metrics`` does. A functional model
(a subclass of Model made from inputs and outputs) runs its graph, the override is
differentiated as far as the outputs, and the graph's backward goes on from there.
"""
import inspect

import numpy as np

from .. import ops as _ops
from ..layers import _recorded
from ..ops._tape import Tensor, as_recorded, backward as replay, make, recording, value_of


class ComputeLoss:
    """``compute_loss`` and the training and test steps of a model that overrides it."""

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Keras's ``Model.compute_loss``: the compiled loss (each output's loss times its
        weight) plus ``model.losses`` (``add_loss`` terms, each summed, activity and weight
        penalties). Inside a training step, on the recorded ``y_pred``, the result is a
        recorded tensor whose gradient training follows; otherwise a float32 (or the
        outputs' dtype) scalar.

        Parameters
        ----------
        x : the inputs of the batch (unused here; an override may use them).
        y : the targets, as given to fit (an array, or one per output).
        y_pred : what ``call`` returned for `x`.
        sample_weight : the per-sample loss weights, or None.
        training : whether this is a training step.
        """
        preds = _recorded.flat_outputs(y_pred)
        heads = self._heads
        ys = [y] if len(heads) == 1 else (
            [y[name] for name in self._head_names()] if isinstance(y, dict) else list(y))
        sws = [sample_weight] if len(heads) == 1 else (
            [None] * len(heads) if sample_weight is None else list(sample_weight))
        terms = []
        for head, target, pred, weight in zip(heads, ys, preds, sws):
            if head.loss_obj is None:
                continue
            value, grad = head.loss_obj.value_and_grad(
                np.asarray(value_of(target)), np.asarray(value_of(pred)),
                sample_weight=None if weight is None else np.asarray(weight))
            scale = 1.0 if head.weight is None else head.weight
            dtype = np.asarray(value_of(pred)).dtype
            terms.append(make(np.asarray(np.float32(value) * np.float32(scale), dtype), [pred],
                              lambda g, grad=grad * scale: [g * grad], "compiled_loss"))
        terms += [_ops.sum(t) for t in self._loss_terms()]
        if not terms:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        return total

    def _loss_terms(self):
        """``model.losses``; inside a training step's compute_loss, recorded: the ``add_loss``
        terms of the recorded call and each weight penalty, so that the gradient of a loss
        made from them reaches the weights (a graph model's own backward already adds its
        layers' terms, so they stay plain values there)."""
        terms = getattr(self, "_terms_in_step", None)
        if terms is None:
            return self._added_losses() + self._weight_penalties(recorded=False)
        return list(terms) + self._weight_penalties(recorded=True)

    def _weight_penalties(self, recorded):
        out = []
        for v in self.trainable_weights:
            reg = v.regularizer
            if reg is None:
                continue
            value = np.asarray(reg(v.value), v.value.dtype)
            out.append(make(value, [as_recorded(v)],
                            lambda g, v=v, reg=reg: [g * reg.gradient(v.value)],
                            "weight_penalty") if recorded else value)
        return out

    def _overrides_compute_loss(self):
        own = ComputeLoss.compute_loss
        return getattr(type(self).compute_loss, "__code__", None) is not own.__code__

    def _call_compute_loss(self, x, y, y_pred, sw, training):
        # as Keras: positionally, and ``training`` only to an override that takes it (it
        # came in Keras 3.3)
        params = inspect.signature(self.compute_loss).parameters
        if "training" in params:
            return self.compute_loss(x, y, y_pred, sw, training=training)
        return self.compute_loss(x, y, y_pred, sw)

    def _custom_loss_batch(self, x, y, sw, training):
        """One batch of a model whose compute_loss is overridden: its call (recorded when
        training), the override's loss (differentiated when training), the loss tracker and
        the compiled metrics."""
        if not training:
            out = self._forward(x, training=False)
            y_pred = out if self._single_output else self._structure_outputs(out)
            loss = self._call_compute_loss(x, y, y_pred, sw, False)
        elif self._rnncore_call:
            self._forward(x, training=True)
            leaves, out, terms = self._record
            self._record = None
            self._terms_in_step = terms
            try:
                with recording(True):
                    loss = self._call_compute_loss(x, y, out, sw, True)
            finally:
                self._terms_in_step = None
            grads = self._loss_gradients(loss)
            y_pred = _recorded._values(out, self.dtype)
        else:
            # a graph model: the loss is differentiated as far as its outputs, and the graph
            # takes it back from there (with the gradients of its layers' add_loss terms and
            # activity penalties, which its backward always adds)
            out = self._forward(x, training=True)
            outs = [Tensor(np.asarray(o)) for o in (out if isinstance(out, list) else [out])]
            self._terms_in_step = self._added_losses()
            try:
                with recording(True):
                    loss = self._call_compute_loss(x, y, self._structure_outputs(outs), sw,
                                                   True)
            finally:
                self._terms_in_step = None
            grads = self._loss_gradients(loss)
            d = [grads.of(t) for t in outs]
            d = [np.zeros_like(t.value) if g is None else np.asarray(g, t.value.dtype)
                 for t, g in zip(outs, d)]
            direct = {id(v): v.grad for v in self.trainable_weights}
            self._backward(d[0] if self._single_output else d)
            for v in self.trainable_weights:
                if direct[id(v)] is not None:  # from the weights' penalties in the loss
                    v.grad = direct[id(v)] if v.grad is None else v.grad + direct[id(v)]
            y_pred = self._structure_outputs([t.value for t in outs])
        if training:
            variables = self.trainable_weights
            for v in variables:
                if v.grad is None:  # no gradient reached it, as a recorded call's backward
                    v.grad = np.zeros_like(v.value)
            self._apply_gradients(variables)
        value = np.asarray(value_of(loss))
        if value.ndim:
            value = np.sum(value)
        self._update_compiled_metrics(float(value), y, y_pred, sw)
        return float(value)

    def _loss_gradients(self, loss):
        """The gradients of `loss` (recorded): each weight's into ``v.grad``."""
        if not isinstance(loss, Tensor):
            raise ValueError(
                f"Model {self.name!r}: compute_loss returned a loss that does not depend on "
                f"y_pred or the model's weights ({loss!r:.60}); compute it with rnncore.ops "
                "from y_pred")
        grads = replay([loss], [np.ones_like(loss.value)])
        for v in self.trainable_weights:
            g = grads.variables.get(id(v), (v, None))[1]
            v.grad = None if g is None else g
        return grads

    def _update_compiled_metrics(self, loss, y, y_pred, sw):
        preds = _recorded.flat_outputs(y_pred)
        n = len(self._heads)
        ys = [y] if n == 1 else list(y)
        sws = [sw] if n == 1 else ([None] * n if sw is None else list(sw))
        masks = [None] * n
        self._update_metrics(loss, ys, preds, sws, masks, [None] * n, [None] * n)

