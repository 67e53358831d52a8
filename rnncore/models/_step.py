"""What one batch does in a model: each output's loss and gradient, the penalties of
``model.losses``, the metrics (a mixin of :class:`rnncore.models.Model`).

Keras's TensorFlow backend marks every sigmoid and softmax output with its logits, and each
crossentropy then computes from those logits: binary crossentropy after a softmax (seed 000)
is sigmoid crossentropy of the softmax's logits, not of its probabilities. The targets and
sample weights arrive here as one array (one output) or a list with one per output.
"""
import numbers
import reprlib

import numpy as np

from .. import metrics as _metrics
from .._indexed_slices import IndexedSlices
from ..recurrent._blas_threads import single_threaded_blas
from . import _data, _heads

_LOGIT_ACTIVATIONS = ("sigmoid", "softmax")
_LOGIT_LOSSES = ("BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy")


def _scaled(grad, scale):
    if isinstance(grad, IndexedSlices):
        return grad.with_values(grad.values * grad.values.dtype.type(scale))
    grad = np.asarray(grad)
    return grad * grad.dtype.type(scale)


class TrainStep:
    """The per-batch methods of a model (forward, loss, backward, update, metrics)."""

    def _fused_activation(self, i=0):
        """The activation of output `i` that Keras's TF backend folds into its loss (it reads
        the logits behind a sigmoid/softmax output), or None."""
        last = self._output_layer(i)
        loss = self._heads[i].loss_obj
        act = getattr(last, "activation", None)
        if loss is None or getattr(loss, "from_logits", True) or \
                not hasattr(last, "preactivation"):
            return None
        fused = act in _LOGIT_ACTIVATIONS and type(loss).__name__ in _LOGIT_LOSSES
        return act if fused else None

    def _compute_losses(self, y, y_pred, sw, gradients):
        """Each output's loss (and, with `gradients`, its gradient times its loss weight) and
        the total; what the metrics need about each output."""
        single = len(self._heads) == 1
        ys, preds, sws = ([y], [y_pred], [sw]) if single else (
            y, y_pred, [None] * len(y) if sw is None else sw)
        masks = self._output_masks if not single else [self._output_mask]
        values, grads, fused, logits = [], [], [], []
        for i, (head, target, pred, weight, mask) in enumerate(
                zip(self._heads, ys, preds, sws, masks)):
            act = self._fused_activation(i)
            logit = self._output_layer(i).preactivation if act else None
            logits.append(logit)
            fused.append(act is not None)
            if head.loss_obj is None:
                values.append(None)
                grads.append(None)
                continue
            if gradients:
                value, grad = head.loss_obj.value_and_grad(
                    target, pred, sample_weight=weight, logits=logit, activation=act,
                    mask=mask)
                if head.weight is not None:
                    grad = grad * grad.dtype.type(head.weight)
                grads.append(grad)
            else:
                value = head.loss_obj(target, pred, sample_weight=weight, logits=logit,
                                      mask=mask)
                grads.append(None)
            values.append(value)
        if single and self._heads[0].weight is None:
            total = values[0]
        else:
            dtype = np.result_type(preds[0].dtype, np.float32)
            total = float(_heads.total_loss([v for v in values if v is not None],
                                            [h.weight for h, v in zip(self._heads, values)
                                             if v is not None], dtype))
        batch = (ys, preds, sws, masks, logits, values)
        if single:
            return total, grads[0], fused[0], batch
        return total, grads, fused, batch

    def _trains_on_own_losses(self):
        """Whether the model was compiled without a loss: then, as in Keras, it trains on
        its own losses only (an endpoint layer's ``add_loss``), and fit takes no targets."""
        return self.compiled and self.loss is None and not self._overrides_compute_loss()

    def _own_losses_batch(self, x, training):
        """One batch of a model compiled without a loss: the loss is ``model.losses``."""
        variables = self.trainable_weights
        if training:
            for v in variables:
                v.grad = None
        y_pred = self._forward(x, training=training)
        if not self._added_losses() and not any(v.regularizer is not None
                                                for v in variables):
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        preds = [y_pred] if self._single_output else list(y_pred)
        if training:
            # no output has a loss: the gradients start at the add_loss terms and penalties
            self._backward(None if self._single_output else [None] * len(preds))
        loss = self._add_penalties(0.0, variables, gradients=training)
        if training:
            for v in variables:
                if v.grad is None:
                    v.grad = np.zeros_like(v.value)
            self._apply_gradients(variables)
        self._update_metrics(loss, [], [np.asarray(preds[0])], [], [], [], [])
        return loss

    @single_threaded_blas
    def _train_batch(self, x, y, sw=None):
        self._refuse_own_step("train_step")
        if self._overrides_compute_loss():
            return self._custom_loss_batch(x, y, sw, training=True)
        if self._trains_on_own_losses():
            return self._own_losses_batch(x, training=True)
        y_pred = self._forward(x, training=True)
        loss, grads, fused, batch = self._compute_losses(y, y_pred, sw, gradients=True)
        self._backward(grads, from_logits=fused)
        variables = self.trainable_weights
        loss = self._add_penalties(loss, variables, gradients=True)
        self._apply_gradients(variables)
        self._update_metrics(loss, *batch)
        return loss

    def _apply_gradients(self, variables):
        """The optimizer's step with each variable's ``grad``. Keras's trainer differentiates
        ``optimizer.scale_loss(loss)`` (a LossScaleOptimizer's scale, an optimizer's
        ``loss_scale_factor``), which the optimizer divides out: the gradients are multiplied
        by that scale here."""
        scale = self.optimizer._gradient_scale()
        grads = [v.grad for v in variables]
        if scale is not None:
            grads = [g if g is None else _scaled(g, scale) for g in grads]
        self.optimizer.apply_gradients(zip(grads, variables))

    def _refuse_own_step(self, step):
        """Keras's guide overrides ``train_step`` with its backend's gradient code
        (``tf.GradientTape``, ``jax.value_and_grad``, ``torch``): rnncore cannot run that, so
        a model whose class defines one is refused rather than trained another way."""
        for klass in type(self).__mro__:
            if klass.__module__.startswith("rnncore."):
                return
            if step in klass.__dict__:
                raise NotImplementedError(
                    f"Model {self.name!r} ({type(self).__name__}) overrides {step}: rnncore "
                    f"runs its own {step} and cannot run one written with a backend's "
                    "gradient code. Override compute_loss instead (Keras's backend-agnostic "
                    "way to customize fit), or use compiled losses and metrics")

    @property
    def losses(self):
        """Keras's ``model.losses``: the terms of the last forward's ``add_loss`` calls and the
        activity penalties of its layer outputs (``activity_regularizer=...``), layer by layer
        in Keras's walk (``Layer._flatten_layers``), then the weight penalties
        (``kernel_regularizer=...``) of ``trainable_weights``."""
        return self._loss_terms()

    def _loss_children(self):
        return self.layers

    def _add_penalties(self, loss, variables, gradients):
        """Keras's compute_loss: the compiled loss plus ``model.losses`` (``add_loss`` terms,
        each summed, and activity penalties, then weight penalties), summed in float32 or the
        weights' dtype; with `gradients`, each penalized weight's gradient gains the
        penalty's (a sparse gradient turns dense, as when TensorFlow adds a dense one to it).
        The other terms' gradients join the backward pass where they were made (activity
        penalties at their layers' outputs, ``add_loss`` terms in the recorded calls)."""
        penalized = [v for v in variables if v.regularizer is not None]
        added = [np.sum(term) for term in self._added_losses()]
        if not penalized and not added:
            return loss
        values = [loss] + added + [v.regularizer(v.value) for v in penalized]
        if gradients:
            for v in penalized:
                extra = v.regularizer.gradient(v.value)
                g = v.grad.to_dense() if isinstance(v.grad, IndexedSlices) else v.grad
                v.grad = extra if g is None else g + extra
        # the terms' dtype as a dtype: NumPy 1 would cast a float64 scalar by its value
        dtype = penalized[0].dtype if penalized else \
            np.result_type(np.asarray(added[0]).dtype, np.float32)
        return float(np.sum(np.array(values, dtype=dtype)))

    def _update_metrics(self, loss, ys, preds, sws, masks, logits, values):
        n = preds[0].shape[0]
        self._loss_tracker.update_state(loss, sample_weight=n)
        for head, y, y_pred, sw, mask, logit, value in zip(self._heads, ys, preds, sws, masks,
                                                           logits, values):
            if head.loss_tracker is not None and value is not None:
                # Keras's TF backend weighs each output's loss by a batch size its traced
                # step does not know: every batch counts once (the total counts samples)
                head.loss_tracker.update_state(value)
            for m, weighted in zip(head.compiled_metrics(y_pred.shape, y.shape), head.weighted):
                w = sw if weighted else None
                if isinstance(m, _metrics.BinaryCrossentropy):
                    m.update_state(y, y_pred, sample_weight=w, logits=logit, mask=mask)
                elif isinstance(m, _metrics.MeanMetricWrapper):
                    m.update_state(y, y_pred, sample_weight=w, mask=mask)
                elif w is not None:
                    m.update_state(y, y_pred, sample_weight=w)
                else:
                    m.update_state(y, y_pred)
        _heads.name_metrics(self._heads)

    @single_threaded_blas
    def _test_batch(self, x, y, sw=None):
        self._refuse_own_step("test_step")
        if self._overrides_compute_loss():
            return self._custom_loss_batch(x, y, sw, training=False)
        if self._trains_on_own_losses():
            return self._own_losses_batch(x, training=False)
        y_pred = self._forward(x, training=False)
        loss, _, _, batch = self._compute_losses(y, y_pred, sw, gradients=False)
        loss = self._add_penalties(loss, self.trainable_weights, gradients=False)
        self._update_metrics(loss, *batch)
        return loss


    def _target_arrays(self, y, argument="y"):
        """The targets as one array (one output) or a list in output order (several), from
        an array, a list with one array per output or a dict keyed by output name."""
        n = self._n_outputs()
        if n == 1:
            if isinstance(y, dict) and len(y) == 1:
                y = next(iter(y.values()))
            elif isinstance(y, (list, tuple)) and len(y) == 1 and isinstance(y[0], np.ndarray):
                y = y[0]
            return _data.to_arrays(y, argument)
        names = self._head_names()
        if None in names:  # a subclassed model's call returned a list: unnamed outputs
            if isinstance(y, dict):
                raise ValueError(f"{argument} is a dict, but the outputs of model {self.name!r} "
                                 f"have no names (its call returns a list of {n}); give the "
                                 "targets as a list in the order of the outputs")
            names = list(range(n))
        if isinstance(y, dict):
            missing = [name for name in names if name not in y]
            if missing:
                raise ValueError(f"{argument} is a dict without targets for the outputs "
                                 f"{missing}; the model's outputs are {names}")
            y = [y[name] for name in names]
        elif not isinstance(y, (list, tuple)) or len(y) != n:
            raise ValueError(f"{argument} must give one target array per output ({n}: {names}), "
                             f"as a list or a dict keyed by output name; got {type(y).__name__}"
                             + (f" of length {len(y)}" if isinstance(y, (list, tuple)) else ""))
        return [_data.to_arrays(t, f"{argument}[{name!r}]") for t, name in zip(y, names)]

    def _weights_per_output(self, sample_weight, class_weight, y, argument="sample_weight"):
        """Sample weights for the loss: an array (one output) or a list with one entry per
        output (a single array weighs every output, as in Keras)."""
        if not isinstance(y, list):
            return _sample_weights(sample_weight, class_weight, y, argument)
        if class_weight is not None:
            raise ValueError("`class_weight` is only supported for models with a single "
                             f"output; this one has {len(y)}: {self._head_names()}")
        if sample_weight is None:
            return None
        if isinstance(sample_weight, dict):
            sample_weight = [sample_weight.get(name) for name in self._head_names()]
        elif not isinstance(sample_weight, (list, tuple)):
            sample_weight = [sample_weight] * len(y)
        elif len(sample_weight) != len(y):
            raise ValueError(f"{argument} must be one array for all outputs, or one per output "
                             f"({len(y)}); got a list of {len(sample_weight)}")
        return [None if w is None else _sample_weights(w, None, t, argument)
                for w, t in zip(sample_weight, y)]


def _sample_weights(sample_weight, class_weight, y, argument="sample_weight"):
    """Per-sample loss weights from ``sample_weight`` or ``class_weight`` (Keras's rules: class
    ids are the labels, or their argmax for one-hot rows), or None."""
    if sample_weight is not None and class_weight is not None:
        raise ValueError("sample_weight and class_weight cannot both be given; received "
                         f"sample_weight={sample_weight!r}, class_weight={class_weight!r}")
    if sample_weight is not None:
        try:
            sw = np.asarray(sample_weight, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{argument} must be an array of numbers, one weight per sample; "
                             f"got {reprlib.repr(sample_weight)}") from None
        if sw.ndim == 0 or sw.shape[0] != y.shape[0]:
            raise ValueError(f"{argument} must have one weight per sample ({y.shape[0]}), got "
                             f"shape {sw.shape}")
        return sw
    if class_weight is None:
        return None
    if not isinstance(class_weight, dict):
        raise ValueError(f"class_weight must be a dict {{class: weight}}, got {class_weight!r}")
    for cls, weight in class_weight.items():
        if isinstance(cls, bool) or not isinstance(cls, numbers.Real) or cls != int(cls) \
                or cls < 0 or not isinstance(weight, numbers.Real):
            raise ValueError("class_weight must map class ids (non-negative integers) to "
                             f"numbers; got the entry {cls!r}: {weight!r}")
    classes = np.argmax(y, axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else \
        np.round(y).reshape(y.shape[0], -1)[:, 0].astype(np.int64)
    table = np.ones(int(max(max(class_weight), classes.max(initial=0))) + 1)
    for cls, weight in class_weight.items():
        table[int(cls)] = weight
    return table[classes]
