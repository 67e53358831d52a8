"""Keras 3's Circle loss (Sun et al., 2020) for metric learning, and its function.

``y_pred`` holds L2-normalised embeddings ``(batch, dim)``, ``y_true`` integer labels
``(batch,)``. From the cosine distances ``d = max(1 - p pᵀ, 0)`` between the samples, each
sample's loss is ``softplus(lse(pos) + lse(neg))``: ``lse`` a log-sum-exp over its positive
pairs (same label, itself left out) of ``-gamma max(margin + d, 0) (margin - d)`` and over its
negative pairs of ``gamma max(1 + margin - d, 0) (1 - margin - d)``. A sample with no
positive pair in the batch has loss 0 and, as in Keras (which masks the losses that are not
``> 0``), is left out of the batch mean.

The formula is written once with :mod:`rnncore.ops`, so the trainer's gradient comes from
recording it (as for :mod:`rnncore._losses_recorded`).
"""
import numpy as np

from . import losses as _losses

__all__ = ["Circle", "circle"]


def _logsumexp(ops, x, axis):
    # TensorFlow's reduce_logsumexp: shifted by the row's maximum where it is finite (0
    # elsewhere, so a row of -inf gives -inf, not NaN), the shift not differentiated
    top = ops.max(x, axis=axis, keepdims=True)
    top = ops.stop_gradient(ops.where(ops.isfinite(top), top, ops.zeros_like(top)))
    return ops.log(ops.sum(ops.exp(x - top), axis=axis)) + ops.squeeze(top, axis=axis)


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True,
           gamma=80, margin=0.4):
    """Per-sample Circle loss of embeddings ``y_pred`` ``(batch, dim)`` with labels
    ``y_true`` ``(batch,)``, against ``ref_embeddings``/``ref_labels`` (default: the batch
    itself). ``remove_diagonal`` leaves each sample's pair with itself out of its positives.
    See the module notes for the formula."""
    from . import ops

    y_pred = ops.convert_to_tensor(y_pred)
    dt = np.dtype(y_pred.dtype).type
    labels = np.asarray(ops.stop_gradient(y_true)).astype(np.int32)
    ref = y_pred if ref_embeddings is None else ops.convert_to_tensor(ref_embeddings)
    ref_labels = labels if ref_labels is None else np.asarray(ref_labels).astype(np.int32)
    distances = ops.maximum(dt(1) - ops.matmul(y_pred, ops.transpose(ref)), dt(0))
    positive = labels.reshape(-1, 1) == ref_labels.reshape(-1, 1).T
    negative = ~positive
    if remove_diagonal:
        positive = positive & ~np.eye(labels.size, ref_labels.size, dtype=bool)
    pos_weights = ops.maximum((dt(margin) + distances) * positive.astype(dt), dt(0))
    neg_weights = ops.maximum((dt(1 + margin) - distances) * negative.astype(dt), dt(0))
    pos = (pos_weights * dt(-1 * gamma)) * (dt(margin) - distances)
    neg = (neg_weights * dt(gamma)) * (dt(1 - margin) - distances)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_loss = _logsumexp(ops, ops.where(positive, pos, dt(-np.inf)), axis=1)
        n_loss = _logsumexp(ops, ops.where(negative, neg, dt(-np.inf)), axis=1)
        return ops.softplus(p_loss + n_loss)


class Circle(_losses.Loss):
    """Circle loss for metric learning (see the module notes): pulls embeddings of the same
    label together and pushes the others apart, each pair weighted by how far it is from its
    optimum.

    Parameters
    ----------
    gamma : float, default 80.0: the scale of the pair terms.
    margin : float, default 0.4: the relaxation margin.
    remove_diagonal : bool, default True: a sample is not its own positive pair.
    reduction, name, dtype : as :class:`rnncore.losses.Loss`.
    """

    def __init__(self, gamma=80.0, margin=0.4, remove_diagonal=True,
                 reduction="sum_over_batch_size", name="circle", dtype=None):
        super().__init__(name, reduction, dtype)
        self.gamma, self.margin, self.remove_diagonal = gamma, margin, remove_diagonal

    def _forward(self, t, x, from_logits):
        values, _, backward = _losses._recorded_forward(
            lambda t_, x_: circle(t_, x_, remove_diagonal=self.remove_diagonal,
                                  gamma=self.gamma, margin=self.margin), t, x, self)

        def quiet_backward(dv):
            # the -inf of a sample without positive pairs meets its zero weight on the way
            with np.errstate(divide="ignore", invalid="ignore"):
                return backward(dv)
        return values, values > 0, quiet_backward

    def get_config(self):
        return {**super().get_config(), "gamma": self.gamma, "margin": self.margin,
                "remove_diagonal": self.remove_diagonal}
