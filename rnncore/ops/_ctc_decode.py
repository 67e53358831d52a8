"""Keras's ``ctc_decode``: the label sequences a CTC model's per-frame class scores spell,
by best path (``"greedy"``) or by prefix beam search (``"beam_search"``).

Both give Keras's TensorFlow backend's results (``tf.nn.ctc_greedy_decoder`` and
``tf.nn.ctc_beam_search_decoder``):

* greedy: the best class of each frame, repeats merged (``merge_repeated``) and blanks dropped;
  its score is minus the sum of each frame's largest input (the inputs as given, not
  normalised);
* beam search: TensorFlow's beam over label prefixes, each holding the probability of ending
  in a blank and in its last label (Graves's thesis, 7.5), the inputs normalised with
  ``log_softmax`` at each frame. Each frame, every prefix in the beam is extended by its
  frame's blank and its own last label, and every non-blank class makes a child prefix; the
  ``beam_width`` most probable of those make the next beam. A prefix whose parent prefix
  left the beam stops gathering probability from it. The score is the path's log
  probability; repeats are not merged (``merge_repeated`` is ignored, as in Keras).

Decoded labels fill ``(top_paths, batch, max_length)`` from the left, ``-1`` after them. The
beam is vectorised over the batch: each frame ranks all ``beam_width * num_classes``
candidates of every item at once.
"""
import heapq

import numpy as np

from ._ctc import _int_array, blank_position, float_logits
from ._tape import value_of

_STRATEGIES = ("greedy", "beam_search")


def _greedy(x, lengths, blank, merge_repeated):
    batch, steps, _ = x.shape
    best = np.argmax(x, axis=2)
    live = np.arange(steps)[None, :] < lengths[:, None]
    scores = np.sum(np.where(live, -np.max(x, axis=2), 0), axis=1, dtype=x.dtype)[:, None]
    emit = live & (best != blank)
    if merge_repeated:
        before = np.full_like(best, -1)
        before[:, 1:] = best[:, :-1]
        emit &= best != before
    decoded = np.full((1, batch, steps), -1, np.int32)
    rows, cols = np.nonzero(emit)
    decoded[0, rows, (np.cumsum(emit, axis=1) - 1)[rows, cols]] = best[rows, cols]
    return decoded, scores


class _PrefixIds:
    """One id per label prefix however often it is reached: a prefix is its parent's id and
    its last label, kept in a sorted table, so that a prefix that leaves the beam and comes
    back is recognised as the parent of the prefixes built on it."""

    def __init__(self, first_id, num_labels):
        self.keys = np.empty(0, np.int64)
        self.ids = np.empty(0, np.int64)
        self.next = first_id
        self.num_labels = num_labels

    def __call__(self, parents, labels):
        keys = parents * self.num_labels + labels
        at = np.searchsorted(self.keys, keys)
        known = at < len(self.keys)
        known[known] = self.keys[at[known]] == keys[known]
        ids = np.empty_like(keys)
        ids[known] = self.ids[at[known]]
        fresh = np.unique(keys[~known])
        ids[~known] = self.next + np.searchsorted(fresh, keys[~known])
        every = np.concatenate([self.keys, fresh])
        order = np.argsort(every, kind="stable")
        self.keys = every[order]
        self.ids = np.concatenate([self.ids, self.next + np.arange(len(fresh))])[order]
        self.next += len(fresh)
        return ids


def _pick(a, index):
    return np.take_along_axis(a, index, axis=1)


def _order_dependent(rank, stays, src, parent_slot, total, node, live):
    """The batch items whose next beam depends on the order TensorFlow grows it in.

    TensorFlow grows the children prefix by prefix (most probable first) into a beam of
    `width`, each new one pushing out the least probable. When a prefix already pushed out
    comes up as the child of its parent before its own turn, it is taken for a new child,
    turned down, and loses its turn: its children are not grown. That changes the beam only
    when such a prefix (out of the new beam, parent in the old one and more probable) has
    children in the new beam; then the item's frame is replayed in order (:func:`_replay`).
    """
    kept = np.zeros(rank.shape, bool)
    b, s = np.nonzero(stays)
    kept[b, rank[b, s]] = True
    p = np.maximum(parent_slot, 0)
    suspect = (node >= 0) & ~kept & (parent_slot >= 0) & (_pick(total, p) >= total)
    has_child = np.zeros(rank.shape, bool)
    b, s = np.nonzero(~stays)
    has_child[b, src[b, s]] = True
    return np.flatnonzero(live & np.any(suspect & has_child, axis=1))


def _replay(values, ok, total, occupied, in_beam, parent_slot, last, width, labels):
    """One item's next beam grown in TensorFlow's order: the beam's prefixes (already
    extended) first, then, prefix by prefix in decreasing probability, each label's child,
    kept if more probable than the least probable of a full beam, which it pushes out.
    Returns the chosen entries of `values` (as :func:`_beam_search` ranks them)."""
    heap = [(values[i], i) for i in np.flatnonzero(occupied)]
    heapq.heapify(heap)
    out, turned_down = set(), set()
    member_at = {(parent_slot[i], last[i]): i for i in np.flatnonzero(parent_slot >= 0)}
    children = values[width:].reshape(width, labels)
    # the bottom only rises: the children below it at the start never get in, so only the
    # others and those already in the beam are looked at, prefix by prefix, in label order
    bottom = heap[0][0] if len(heap) == width else -np.inf
    look = (ok[width:].reshape(width, labels) & (children > bottom)) | in_beam
    turn = np.empty(width, np.int64)
    turn[np.argsort(-total, kind="stable")] = np.arange(width)
    js, cs = np.nonzero(look)
    at = np.lexsort((cs, turn[js]))
    for j, c in zip(js[at].tolist(), cs[at].tolist()):
        if len(heap) == width and total[j] <= heap[0][0]:
            break  # neither this prefix's children nor any later one's can get in
        if j in turned_down:
            continue
        if in_beam[j, c]:
            m = member_at[(j, c)]
            if m in out:  # pushed out earlier: taken for a new child, and turned down
                turned_down.add(m)
            continue
        if len(heap) < width or children[j, c] > heap[0][0]:
            if len(heap) == width:
                out.add(heapq.heappop(heap)[1])
            heapq.heappush(heap, (children[j, c], width + j * labels + c))
    # full: a prefix was pushed out, or there would be nothing to replay
    return np.array([k for _, k in sorted(heap, key=lambda e: -e[0])])


def _empty_beam(batch, width, steps, dtype):
    """`width` slots per item, each a prefix (or empty: node -1): the log probabilities of
    its paths ending in a blank (blank), in its last label (label), either (total); its id
    (node), its parent's (parent) and the slot of its parent in the beam (parent_slot, -1
    when not there); its last label, length (depth) and labels (spelled). Slot 0 holds the
    empty prefix."""
    beam = {"total": np.full((batch, width), -np.inf, dtype),
            "blank": np.full((batch, width), -np.inf, dtype),
            "label": np.full((batch, width), -np.inf, dtype),
            "node": np.full((batch, width), -1, np.int64),
            "parent": np.full((batch, width), -1, np.int64),
            "parent_slot": np.full((batch, width), -1, np.int64),
            "last": np.full((batch, width), -1, np.int64),
            "depth": np.zeros((batch, width), np.int64),
            "spelled": np.full((batch, width, steps), -1, np.int32)}
    beam["total"][:, 0] = beam["blank"][:, 0] = 0
    beam["node"][:, 0] = np.arange(batch)
    return beam


def _frame(beam, lp, live, ids):
    """The beam after one frame of log-probabilities `lp` ``(batch, classes)``, the last
    class the blank; items not `live` keep theirs."""
    total, blank, label, last = beam["total"], beam["blank"], beam["label"], beam["last"]
    node, parent_slot = beam["node"], beam["parent_slot"]
    batch, width = total.shape
    labels = lp.shape[1] - 1
    ninf = total.dtype.type(-np.inf)
    # prefixes that stay: a blank, or their last label again (or newly, from the parent
    # prefix if that is in the beam: from its blank paths when the label repeats)
    has_parent = parent_slot >= 0
    p = np.maximum(parent_slot, 0)
    from_parent = np.where(last == _pick(last, p), _pick(blank, p), _pick(total, p))
    kept_label = np.where(has_parent, np.logaddexp(label, from_parent), label)
    new_label = np.where(last >= 0, kept_label + _pick(lp, np.maximum(last, 0)), ninf)
    new_blank = total + lp[:, labels:]
    new_total = np.logaddexp(new_blank, new_label)
    # children: each prefix followed by each label (a repeat only after a blank), except
    # the children already in the beam
    child = np.where(np.arange(labels) == last[:, :, None], blank[:, :, None],
                     total[:, :, None]) + lp[:, None, :labels]
    in_beam = np.zeros((batch, width, labels), bool)
    b, s = np.nonzero(has_parent)
    in_beam[b, parent_slot[b, s], last[b, s]] = True
    child_ok = ((node >= 0) & (total > ninf))[:, :, None] & ~in_beam & (child > ninf)

    # the `width` most probable of the beam and the children
    values = np.concatenate([new_total, child.reshape(batch, -1)], axis=1)
    ok = np.concatenate([node >= 0, child_ok.reshape(batch, -1)], axis=1)
    with np.errstate(invalid="ignore"):
        rank = np.argsort(np.where(ok, -values, np.nan), axis=1, kind="stable")[:, :width]
    stays = rank < width
    src = np.where(stays, rank, (rank - width) // labels)
    for b in _order_dependent(rank, stays, src, parent_slot, total, node, live):
        rank[b] = _replay(values[b], ok[b], total[b], node[b] >= 0, in_beam[b],
                          parent_slot[b], last[b], width, labels)
    stays = rank < width
    src = np.where(stays, rank, (rank - width) // labels)
    chosen = _pick(ok, rank)
    grown = (rank - width) % labels
    is_child = chosen & ~stays & live[:, None]

    new = {"total": np.where(chosen, _pick(values, rank), ninf)}
    new["blank"] = np.where(chosen & stays, _pick(new_blank, src), ninf)
    new["label"] = np.where(stays, _pick(new_label, src), new["total"])
    new["label"][~chosen] = ninf
    new["parent"] = np.where(stays, _pick(beam["parent"], src), _pick(node, src))
    new["node"] = np.where(chosen & stays, _pick(node, src), -1)
    new["node"][is_child] = ids(new["parent"][is_child], grown[is_child])
    new["last"] = np.where(stays, _pick(last, src), grown)
    new["depth"] = _pick(beam["depth"], src) + is_child
    new["spelled"] = beam["spelled"][np.arange(batch)[:, None], src]
    b, s = np.nonzero(is_child)
    new["spelled"][b, s, beam["depth"][b, src[b, s]]] = grown[b, s]
    # where each prefix's parent sits in the new beam
    same = (new["parent"][:, :, None] == new["node"][:, None, :]) \
        & (new["node"] >= 0)[:, None, :]
    new["parent_slot"] = np.where(same.any(axis=2), same.argmax(axis=2), -1)
    return {k: np.where(live.reshape((-1,) + (1,) * (v.ndim - 1)), new[k], v)
            for k, v in beam.items()}


def _beam_search(x, lengths, beam_width, top_paths):
    """TensorFlow's CTC beam search on ``(batch, T, classes)`` scores whose last class is the
    blank: ``(decoded (top_paths, batch, T), log probabilities (batch, top_paths))``."""
    batch, steps, num_classes = x.shape
    top = np.max(x, axis=2, keepdims=True)
    logp = x - (top + np.log(np.sum(np.exp(x - top), axis=2, keepdims=True)))
    beam = _empty_beam(batch, beam_width, steps, x.dtype)
    ids = _PrefixIds(batch, num_classes - 1)
    for t in range(min(steps, int(lengths.max(initial=0)))):
        beam = _frame(beam, logp[:, t, :], t < lengths, ids)

    present = beam["node"] >= 0
    if np.any(present.sum(axis=1) < top_paths):
        raise ValueError(f"ctc_decode: fewer prefixes in the beam "
                         f"({present.sum(axis=1).min()}) than top_paths={top_paths} (Less "
                         "leaves in the beam search than requested); decode longer sequences "
                         "or ask for fewer paths")
    with np.errstate(invalid="ignore"):
        best = np.argsort(np.where(present, -beam["total"], np.nan), axis=1,
                          kind="stable")[:, :top_paths]
    spelled = beam["spelled"][np.arange(batch)[:, None], best]  # (batch, top_paths, T)
    spelled[np.arange(steps) >= _pick(beam["depth"], best)[:, :, None]] = -1
    return spelled.transpose(1, 0, 2), _pick(beam["total"], best)


def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1,
               merge_repeated=True, mask_index=0):
    """Decodes the output of a CTC model.

    Parameters
    ----------
    inputs : ``(batch_size, max_length, num_classes)`` per-frame class scores: logits, or
        the softmax output of a model (greedy decoding reads only their order and sum).
    sequence_lengths : ``(batch_size,)`` the frames to decode of each item (at most
        ``max_length``).
    strategy : ``"greedy"`` (best path) or ``"beam_search"``.
    beam_width : int, default 100: the prefixes kept per frame by the beam search.
    top_paths : int, default 1: the number of best paths the beam search returns.
    merge_repeated : bool, default True: greedy decoding merges a class repeated in
        consecutive frames (the beam search never does, as in Keras).
    mask_index : int or None, default 0: the class of the blank (None: the last class;
        negative counts from the end. Keras's TensorFlow backend mis-slices a negative
        index for the beam search, decoding over a doubled class axis: there its positive
        equivalent gives Keras's numbers).

    Returns
    -------
    ``(decoded, scores)``: ``decoded`` int32 ``(1, batch_size, max_length)`` for greedy,
    ``(top_paths, batch_size, max_length)`` for beam search, labels from the left and ``-1``
    after them; ``scores`` ``(batch_size, 1)`` (greedy: minus the sum of each frame's largest
    input) or ``(batch_size, top_paths)`` (beam search: each path's log probability), float64
    for float64 inputs and float32 otherwise.

    Example
    -------
    >>> decoded, scores = ops.ctc_decode(y_pred, np.full(len(y_pred), y_pred.shape[1]))
    >>> decoded[0]   # (batch_size, max_length), -1 past each sequence's labels
    """
    if strategy not in _STRATEGIES:
        raise ValueError(f"Invalid strategy {strategy}. Supported values are 'greedy' and "
                         "'beam_search'.")
    x = float_logits(value_of(inputs), "inputs", "ctc_decode")
    lengths = _int_array("sequence_lengths", sequence_lengths, "ctc_decode")
    batch, steps, num_classes = x.shape
    if lengths.shape != (batch,):
        raise ValueError(f"ctc_decode: `sequence_lengths` must have shape (batch_size,) = "
                         f"({batch},); received sequence_lengths.shape={lengths.shape}")
    too_long = np.flatnonzero(lengths > steps)
    if len(too_long):
        i = too_long[0]
        raise ValueError(f"ctc_decode: `sequence_lengths` must be at most the number of "
                         f"frames of `inputs` ({steps}); received sequence_lengths[{i}]="
                         f"{lengths[i]}")
    if strategy == "greedy":
        blank = blank_position(mask_index, num_classes, "ctc_decode", num_classes - 1)
        return _greedy(x, lengths, blank, merge_repeated)

    for name, value in (("beam_width", beam_width), ("top_paths", top_paths)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"ctc_decode: `{name}` must be a positive integer; received "
                             f"{name}={value!r}")
    if top_paths > beam_width:
        raise ValueError(f"ctc_decode: `top_paths` must be at most `beam_width` (requested "
                         f"more paths than the beam width); received top_paths={top_paths}, "
                         f"beam_width={beam_width}")
    blank = blank_position(mask_index, num_classes, "ctc_decode", num_classes - 1)
    # TensorFlow's beam search takes the last class as the blank: move it there, and the
    # decoded classes after it back up one
    order = np.r_[np.arange(blank), np.arange(blank + 1, num_classes), blank]
    decoded, scores = _beam_search(x[:, :, order], lengths, int(beam_width), int(top_paths))
    decoded = np.where(decoded >= blank, decoded + 1, decoded).astype(np.int32)
    return decoded, scores
