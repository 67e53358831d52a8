"""Products of ``rnncore.ops``: matmul, dot, tensordot, einsum."""
import string

import numpy as np

from ._common import _arr, _in, _need
from ._elementwise import multiply
from ._tape import _unbroadcast, make, value_of


def matmul(x1, x2):
    """Matrix product with NumPy's (and Keras's) broadcasting of leading dimensions."""
    a, av = _in(x1)
    b, bv = _in(x2)
    av, bv = _arr(av), _arr(bv)
    if av.ndim == 0 or bv.ndim == 0:
        raise ValueError(f"matmul: the arguments must have at least one dimension, got shapes "
                         f"{av.shape} and {bv.shape}")
    if av.shape[-1] != bv.shape[-2 if bv.ndim > 1 else 0]:
        raise ValueError(f"matmul: the last dimension of x1 (shape {av.shape}) must equal the "
                         f"{'second-to-last' if bv.ndim > 1 else 'only'} dimension of x2 (shape "
                         f"{bv.shape})")
    y = np.matmul(av, bv)

    def vjp(g):
        a2 = av[None, :] if av.ndim == 1 else av
        b2 = bv[:, None] if bv.ndim == 1 else bv
        g2 = g
        if av.ndim == 1:
            g2 = np.expand_dims(g2, -2 if bv.ndim > 1 else 0)
        if bv.ndim == 1:
            g2 = g2[..., None]
        da = db = None
        if _need(a):
            da = _unbroadcast(np.matmul(g2, np.swapaxes(b2, -1, -2)), a2.shape).reshape(av.shape)
        if _need(b):
            db = _unbroadcast(np.matmul(np.swapaxes(a2, -1, -2), g2), b2.shape).reshape(bv.shape)
        return da, db
    return make(y, (a, b), vjp, "matmul")


def dot(x1, x2):
    """NumPy's ``dot``: a matrix product for up to 2-D, else a sum over the last axis of ``x1``
    and the second-to-last of ``x2``."""
    av, bv = np.shape(value_of(x1)), np.shape(value_of(x2))
    if len(av) == 0 or len(bv) == 0:
        return multiply(x1, x2)
    if len(av) <= 2 and len(bv) <= 2:
        return matmul(x1, x2)
    return tensordot(x1, x2, axes=([len(av) - 1], [len(bv) - 2 if len(bv) > 1 else 0]))


def tensordot(x1, x2, axes=2):
    na, nb = np.ndim(value_of(x1)), np.ndim(value_of(x2))
    if isinstance(axes, (int, np.integer)):
        ax_a, ax_b = list(range(na - axes, na)), list(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, (int, np.integer)) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, (int, np.integer)) else list(ax_b)
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(na)]
    sb = [next(letters) for _ in range(nb)]
    for i, j in zip(ax_a, ax_b):
        sb[j % nb] = sa[i % na]
    contracted = {sa[i % na] for i in ax_a}
    out = [c for c in sa if c not in contracted] + [c for c in sb if c not in contracted]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", x1, x2)


def _parse_einsum(subscripts, shapes):
    """Explicit subscripts with letters for the ellipses: ([per operand], output)."""
    subscripts = subscripts.replace(" ", "")
    inputs, _, output = subscripts.partition("->")
    parts = inputs.split(",")
    if len(parts) != len(shapes):
        raise ValueError(f"einsum: the subscripts {subscripts!r} name {len(parts)} operands, got "
                         f"{len(shapes)}")
    free = [c for c in string.ascii_letters if c not in subscripts]
    ell = 0
    for p, s in zip(parts, shapes):
        if "..." in p:
            ell = np.maximum(ell, len(s) - (len(p) - 3))
    ell_letters = "".join(free[:ell])
    parts = [p.replace("...", ell_letters[ell - (len(s) - (len(p) - 3)):]) if "..." in p else p
             for p, s in zip(parts, shapes)]
    if "->" not in subscripts:
        counts = {}
        for c in "".join(parts):
            counts[c] = counts.get(c, 0) + 1
        output = ell_letters + "".join(sorted(c for c, n in counts.items()
                                              if n == 1 and c not in ell_letters))
    else:
        output = output.replace("...", ell_letters)
    return parts, output


def einsum(subscripts, *operands):
    """Keras's ``einsum``: Einstein summation over ``operands`` as ``subscripts`` say."""
    ins = [_in(x) for x in operands]
    vals = [_arr(v) for _, v in ins]
    parts, output = _parse_einsum(subscripts, [v.shape for v in vals])
    try:
        y = np.einsum(f"{','.join(parts)}->{output}", *vals)
    except ValueError as exc:
        raise ValueError(f"einsum {subscripts!r}: operands of shapes "
                         f"{[v.shape for v in vals]} do not fit ({exc})") from None

    def vjp(g):
        grads = []
        for k, (t, _) in enumerate(ins):
            if not _need(t):
                grads.append(None)
                continue
            if len(set(parts[k])) != len(parts[k]):
                raise NotImplementedError(f"rnncore.ops.einsum: no gradient for an operand "
                                          f"with a repeated index ({subscripts!r})")
            others = [(parts[i], vals[i]) for i in range(len(vals)) if i != k]
            seen = set(output).union(*[set(p) for p, _ in others])
            target = "".join(c for c in parts[k] if c in seen)
            spec = ",".join([output] + [p for p, _ in others]) + "->" + target
            d = np.einsum(spec, g, *[v for _, v in others])
            if target != parts[k]:  # indices summed within this operand alone
                d = np.expand_dims(d, tuple(i for i, c in enumerate(parts[k]) if c not in seen))
                d = np.broadcast_to(d, vals[k].shape).copy()
            grads.append(d)
        return grads
    return make(y, [t for t, _ in ins], vjp, "einsum")
