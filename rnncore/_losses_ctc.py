"""Keras 3's CTC loss: ``compile(loss=keras.losses.CTC())`` for a model whose output is a
sequence of per-frame class scores and whose targets are padded label sequences.

As Keras reads them: ``y_true`` ``(batch, max_label_length)`` holds the labels with 0 as
padding (class 0 is the blank, so never a label), each sequence's length is its number of
non-zero labels; ``y_pred`` ``(batch, frames, classes)`` is taken as logits and every frame
counts. The per-sample value is :func:`rnncore.ops.ctc_loss`, whose vector-Jacobian product
gives the trainer's gradient.
"""
import numpy as np

from . import losses as _losses

__all__ = ["CTC"]


def _check_ranks(y_true_shape, y_pred_shape):
    if len(y_true_shape) != 2:
        raise ValueError("Targets `y_true` are expected to be a tensor of shape "
                         "`(batch_size, max_length)` in integer format. "
                         f"Received: y_true.shape={tuple(y_true_shape)}")
    if len(y_pred_shape) != 3:
        raise ValueError("Logits `y_pred` are expected to be a tensor of shape "
                         "`(batch_size, max_length, num_classes)`. "
                         f"Received: y_pred.shape={tuple(y_pred_shape)}")


def _ctc_values(y_true, y_pred):
    from . import ops

    _check_ranks(np.shape(y_true), ops.shape(y_pred))
    batch, frames = ops.shape(y_pred)[:2]
    label_length = np.sum(np.asarray(y_true) != 0, axis=-1).astype(np.int32)
    return ops.ctc_loss(y_true, y_pred, label_length, np.full(batch, frames, np.int32),
                        mask_index=0)


class CTC(_losses.Loss):
    """CTC (Connectionist Temporal Classification) loss of padded label sequences.

    Parameters
    ----------
    reduction : as :class:`rnncore.losses.Loss`; the default averages over the batch.
    name : str, default ``"ctc"``.
    dtype : str or None, as :class:`rnncore.losses.Loss`.

    Example
    -------
    >>> model.compile(optimizer="adam", loss=keras.losses.CTC())
    >>> model.fit(frames, labels)   # frames (batch, T, features), labels (batch, max_len)
    """

    def __init__(self, reduction="sum_over_batch_size", name="ctc", dtype=None):
        super().__init__(name, reduction, dtype)

    def _forward(self, t, x, from_logits):
        return _losses._recorded_forward(_ctc_values, t, x, self)

    def check_targets(self, y_true, output_shape):
        """Targets must be ``(batch, max_label_length)`` label sequences, whatever their
        width against the output's frames."""
        _check_ranks(_losses._numeric_targets(y_true).shape, output_shape)
