"""Keras's ``ctc_loss``: the connectionist temporal classification loss (Graves et al., 2006)
of label sequences under per-frame class logits, with its vector-Jacobian product.

The probability of a label sequence ``l`` (length L) sums over every frame-by-frame path that
collapses to it (repeats merged, blanks removed). It is computed on a lattice of 2(L+1) states,
laid out here as::

    state   0      1        2     3        4     ...   2L       2L+1
            start  blank_0  l_1   blank_1  l_2   ...   l_L      blank_L

``blank_k`` is a blank after k labels, ``start`` the state before any frame. A state is reached
from itself, from the state before it, and a label state ``l_k`` (k >= 2) also from ``l_{k-1}``
unless the two labels are equal (a blank must separate repeats); ``l_1`` is reached from
``start``. A path ends in ``l_L`` or ``blank_L`` after the sequence's last frame.

The numbers are Keras's TensorFlow backend's (``tf.nn.ctc_loss`` on dense labels), so its
rules hold, odd ones included:

* the blank is class ``mask_index`` (0 by default); the loss is ``-log p(l | x)`` with
  ``log_softmax`` applied to ``output`` (logits, not probabilities);
* the forward and backward recursions run in log space and are renormalised at every frame;
  the impossible is ``log(1e-307)`` (about -706.9) rather than ``-inf`` in the start and end
  weights, so a label sequence too long for its frames costs about 707 (times the number of
  such jumps) instead of ``inf``, with a finite gradient;
* frames at or past ``output_length`` are ignored and get a zero gradient; a
  ``target_length`` past ``target``'s width leaves no end state (a loss of about 707 or more);
* a label outside ``[0, num_classes)`` reads a log-probability of 0 and takes no share of the
  gradient.

Unlike Keras, which computes float64 inputs in float32, a float64 ``output`` is computed in
float64 (as rnncore's losses are).
"""
import numpy as np

from ._common import _in
from ._tape import Tensor, is_recording, make, value_of

# TensorFlow's stand-in for log(0) in the lattice's start and end weights: log(1e-307) rounded
# to float32, so that an impossible alignment still has a finite score
_LOG_ZERO = float(np.float32(np.log(1e-307)))


def _check_first_dim(name1, shape1, name2, shape2):
    if shape1[0] != shape2[0]:
        raise ValueError(f"Arguments `{name1}` and `{name2}` must have the same first "
                         f"dimension. Received shapes: `{shape1}` and `{shape2}`.")


def _int_array(name, value, op):
    """`value` as int64; labels and lengths may come as floats holding whole numbers (a float32
    ``Input`` of labels), which are truncated as ``tf.cast`` does."""
    a = np.asarray(value_of(value))
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{op}: `{name}` must hold integers; received an array of dtype "
                         f"{a.dtype}")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise ValueError(f"{op}: `{name}` must hold integers; received non-finite values in "
                         f"{name}={a!r}")
    return a.astype(np.int64)


def blank_position(mask_index, num_classes, op, default):
    """The class index of the blank: `mask_index` (negative counts from the end), or
    `default` for None; validated against `num_classes`."""
    if mask_index is None:
        return default
    if isinstance(mask_index, (bool, np.bool_)) or not isinstance(mask_index,
                                                                  (int, np.integer)):
        raise ValueError(f"{op}: `mask_index` must be an integer or None; received "
                         f"mask_index={mask_index!r}")
    if not -num_classes <= mask_index < num_classes:
        raise ValueError(f"{op}: `mask_index` must be a class index in [-{num_classes}, "
                         f"{num_classes}) for {num_classes} classes; received "
                         f"mask_index={mask_index}")
    return int(mask_index) % num_classes


def float_logits(values, name, op):
    """`values` as a 3-D float array (float64 kept, anything else float32), validated."""
    x = np.asarray(values)
    if x.dtype.kind not in "biuf":
        raise ValueError(f"{op}: `{name}` must hold numbers; received dtype {x.dtype}")
    if x.ndim != 3:
        raise ValueError(f"{op}: `{name}` must be a tensor of shape (batch_size, max_length, "
                         f"num_classes); received {name}.shape={x.shape}")
    return x.astype(np.float64 if x.dtype == np.float64 else np.float32, copy=False)


def _lse(stacked, axis):
    """log(sum(exp)) over `axis`, the largest term factored out; -inf where all are -inf."""
    top = np.max(stacked, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0)
    with np.errstate(divide="ignore"):
        return np.squeeze(np.log(np.sum(np.exp(stacked - top), axis=axis, keepdims=True))
                          + top, axis=axis)


class _Lattice:
    """The states of each batch item's label sequence and their transitions.

    Parameters
    ----------
    labels : ``(batch, L)`` int, the labels with the blank moved to class 0.
    label_length : ``(batch,)`` int.
    num_classes : int.
    """

    def __init__(self, labels, label_length, num_classes, dtype):
        batch, width = labels.shape
        self.size = 2 * (width + 1)
        self.labels = labels
        self.valid = (labels >= 0) & (labels < num_classes)
        # label state l_k may be entered from l_{k-1}: always for l_1 (from start), for
        # later labels only when they differ from the one before
        skip = np.zeros((batch, self.size), bool)
        if width:
            skip[:, 2] = True
            skip[:, 4::2] = labels[:, 1:] != labels[:, :-1]
        self.skip = skip
        self.start = np.full((batch, self.size), _LOG_ZERO, dtype)
        self.start[:, 0] = 0
        self.end = np.full((batch, self.size), _LOG_ZERO, dtype)
        rows = np.flatnonzero((label_length >= 0) & (label_length <= width))
        self.end[rows, 2 * label_length[rows]] = 0
        self.end[rows, 2 * label_length[rows] + 1] = 0

    def observations(self, logp):
        """Each state's log-probability at each frame: ``(T, batch, states)`` from the
        time-major class log-probabilities ``(T, batch, classes)``."""
        steps, batch, _ = logp.shape
        obs = np.empty((steps, batch, self.size), logp.dtype)
        obs[:, :, 0] = -np.inf
        obs[:, :, 1::2] = logp[:, :, :1]
        index = np.where(self.valid, self.labels, 0)[None].repeat(steps, axis=0)
        picked = np.take_along_axis(logp, index, axis=2)
        obs[:, :, 2::2] = np.where(self.valid[None], picked, 0)
        return obs

    def from_predecessors(self, a):
        """log(sum(exp(a))) over each state's predecessors: itself, the state before it and,
        for a label state that allows it, the label state before that."""
        before = np.full_like(a, -np.inf)
        before[:, 1:] = a[:, :-1]
        skipped = np.full_like(a, -np.inf)
        skipped[:, 2:] = np.where(self.skip[:, 2:], a[:, :-2], -np.inf)
        return _lse(np.stack([a, before, skipped]), axis=0)

    def from_successors(self, a):
        """log(sum(exp(a))) over each state's successors (the transitions reversed)."""
        after = np.full_like(a, -np.inf)
        after[:, :-1] = a[:, 1:]
        skipped = np.full_like(a, -np.inf)
        skipped[:, :-2] = np.where(self.skip[:, 2:], a[:, 2:], -np.inf)
        return _lse(np.stack([a, after, skipped]), axis=0)


def _backward_pass(lattice, obs, frames, keep):
    """The log-likelihood of each label sequence from the backward recursion; with `keep`,
    also each frame's backward message (``(T, batch, states)``, the frame's own observation
    excluded), which the gradient needs."""
    steps = obs.shape[0]
    beta = lattice.end
    total = np.zeros(beta.shape[0], obs.dtype)
    kept = np.empty_like(obs) if keep else None
    for t in range(steps - 1, -1, -1):
        if keep:
            kept[t] = beta
        step = lattice.from_successors(beta + obs[t])
        scale = _lse(step, axis=1)
        live = frames[t]
        total += np.where(live, scale, 0)
        beta = np.where(live[:, None], step - scale[:, None], lattice.end)
    return beta[:, 0] + total, kept


def _occupancy(lattice, obs, betas, frames):
    """Each state's posterior probability at each frame, ``(T, batch, states)``: the
    normalised product of the forward and backward messages, zero past a sequence's end."""
    alpha = lattice.start
    post = np.empty_like(obs)
    for t in range(obs.shape[0]):
        alpha = lattice.from_predecessors(alpha) + obs[t]
        alpha = alpha - _lse(alpha, axis=1)[:, None]
        both = alpha + betas[t]
        post[t] = np.exp(both - _lse(both, axis=1)[:, None])
    post *= frames[:, :, None]
    return post


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """CTC (Connectionist Temporal Classification) loss of each batch item.

    Parameters
    ----------
    target : ``(batch_size, max_label_length)`` integer labels (floats holding integers are
        truncated); entries past ``target_length`` are padding.
    output : ``(batch_size, max_length, num_classes)`` logits (``log_softmax`` is applied
        here, so not probabilities).
    target_length : ``(batch_size,)`` the number of labels of each item.
    output_length : ``(batch_size,)`` the number of frames of each item.
    mask_index : int, default 0: the class of the blank; negative counts from the end.

    Returns
    -------
    ``(batch_size,)`` float: ``-log p(target | output)``, float64 for a float64 ``output``
    and float32 otherwise. Its gradient with respect to ``output`` is
    ``softmax(output) - posterior class occupancy`` on the frames before ``output_length``.

    Example
    -------
    Two labels in four frames of three equally likely classes (blank 0): 15 of the 81 paths
    spell ``1 2``, so the loss is ``-log(15 / 81)``:

    >>> ops.ctc_loss([[1, 2]], np.zeros((1, 4, 3), "float32"), [2], [4])
    array([1.6863991], dtype=float32)
    """
    recorded, x = _in(output)
    x = float_logits(x, "output", "ctc_loss")
    labels = _int_array("target", target, "ctc_loss")
    label_length = _int_array("target_length", target_length, "ctc_loss")
    frames_length = _int_array("output_length", output_length, "ctc_loss")
    if labels.ndim != 2:
        raise ValueError("ctc_loss: `target` must be a tensor of shape (batch_size, "
                         f"max_length); received target.shape={labels.shape}")
    for name, length in (("target_length", label_length), ("output_length", frames_length)):
        if length.ndim != 1:
            raise ValueError(f"ctc_loss: `{name}` must be a tensor of shape (batch_size,); "
                             f"received {name}.shape={length.shape}")
    _check_first_dim("target", labels.shape, "output", x.shape)
    _check_first_dim("target_length", label_length.shape, "target", labels.shape)
    _check_first_dim("output_length", frames_length.shape, "output", x.shape)
    num_classes = x.shape[2]
    blank = blank_position(mask_index, num_classes, "ctc_loss", 0)

    # the blank becomes class 0 and the classes before it move up one, as TensorFlow does
    order = np.r_[blank, np.arange(blank), np.arange(blank + 1, num_classes)]
    if blank:
        x = x[:, :, order]
        labels = np.where(labels < blank, labels + 1, labels)
    shifted = x - np.max(x, axis=2, keepdims=True)
    logp = shifted - np.log(np.sum(np.exp(shifted), axis=2, keepdims=True))
    logp = np.ascontiguousarray(logp.transpose(1, 0, 2))  # time-major
    lattice = _Lattice(labels, label_length, num_classes, x.dtype)
    obs = lattice.observations(logp)
    frames = np.arange(x.shape[1])[:, None] < frames_length[None, :]
    keep = is_recording() and isinstance(recorded, Tensor)
    loglik, betas = _backward_pass(lattice, obs, frames, keep)
    loss = -loglik

    def vjp(g):
        post = _occupancy(lattice, obs, betas, frames)
        # class occupancy: the blank states' sum, and each label state's onto its class
        # (blank-valued and out-of-range labels take none, as in TensorFlow)
        classes = np.arange(num_classes)
        onto = ((lattice.labels[:, :, None] == classes) & (classes > 0)).astype(x.dtype)
        occupied = np.einsum("tbl,blc->tbc", post[:, :, 2::2], onto)
        occupied[:, :, 0] += post[:, :, 1::2].sum(axis=2)
        grad = (np.exp(logp) - occupied) * frames[:, :, None]
        grad = grad.transpose(1, 0, 2) * np.asarray(g, x.dtype)[:, None, None]
        out = np.empty_like(grad)
        out[:, :, order] = grad
        return (out,)
    return make(loss, (recorded,), vjp, "ctc_loss")
