"""Keras's ``keras.ops.math`` ops that a custom layer or metric reaches for: ``top_k`` and
``segment_sum``, each with its gradient."""
import numpy as np

from ._common import _in
from ._more import take_along_axis
from ._tape import make, value_of


def top_k(x, k, sorted=True):  # noqa: A002  (Keras's name)
    """The ``k`` largest entries of ``x`` along its last axis and their indices (int32), the
    largest first; equal values keep their order (TensorFlow's ``top_k``). The gradient goes
    back to the places the values came from."""
    xv = np.asarray(value_of(x))
    k = int(k)
    if not 0 <= k <= xv.shape[-1]:
        raise ValueError(f"top_k: `k` must lie in [0, {xv.shape[-1]}] for x.shape={xv.shape}; "
                         f"received k={k}")
    # a stable sort of the negated values keeps the lower index first among equals
    order = np.argsort(-xv, axis=-1, kind="stable")[..., :k].astype(np.int32)
    return take_along_axis(x, order, axis=-1), order


def segment_sum(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Sums of the rows of ``data`` sharing a segment id: output row ``s`` adds the rows ``i``
    with ``segment_ids[i] == s`` (TensorFlow's ``unsorted_segment_sum``: negative ids are
    dropped, ids from ``num_segments`` on are an error; without ``num_segments``, as many
    segments as distinct ids; with ``sorted=True``, ``max(id) + 1``)."""
    t, dv = _in(data)
    dv = np.asarray(dv)
    ids = np.asarray(value_of(segment_ids)).astype(np.int64)
    if dv.shape[:ids.ndim] != ids.shape:
        raise ValueError(f"segment_sum: segment_ids.shape must begin data.shape; received "
                         f"segment_ids.shape={ids.shape}, data.shape={dv.shape}")
    if sorted:
        if num_segments is not None:
            raise ValueError("segment_sum: `num_segments` cannot be set with sorted=True; "
                             f"received num_segments={num_segments}")
        n = int(ids.max()) + 1 if ids.size else 0
    else:
        n = len(np.unique(ids)) if num_segments is None else int(value_of(num_segments))
    flat_ids = ids.reshape(-1)
    if flat_ids.size and flat_ids.max() >= n:
        raise ValueError(f"segment_sum: `segment_ids` must be below num_segments={n}; "
                         f"received an id {flat_ids.max()}")
    rows = dv.reshape((flat_ids.size,) + dv.shape[ids.ndim:])
    keep = (flat_ids >= 0) & (flat_ids < n)
    out = np.zeros((n,) + rows.shape[1:], dv.dtype)
    np.add.at(out, flat_ids[keep], rows[keep])

    def vjp(g):
        d = np.zeros(rows.shape, g.dtype)
        d[keep] = g[flat_ids[keep]]
        return (d.reshape(dv.shape),)
    return make(out, (t,), vjp, "segment_sum")

