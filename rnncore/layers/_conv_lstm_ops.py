"""The ConvLSTM recurrence, forward and backward through time, on channels-last arrays.

Each step of Keras's ConvLSTM cell::

    z_t = conv(x_t, kernel) + conv(h_{t-1}, recurrent_kernel) + bias     split into i, f, c, o
    i, f, o = recurrent_activation(z_i, z_f, z_o)
    c_t = f ⊙ c_{t-1} + i ⊙ activation(z_c)
    h_t = o ⊙ activation(c_t)

The input convolution (the layer's strides, padding and dilation) does not depend on the state,
so it runs once over every frame of every step before the loop, as the fused LSTM hoists its
``x·W``; the recurrent one (stride 1, 'same', no dilation) runs at each step. The backward
pass walks the steps in reverse, collects ``dz`` for every step, and takes the input kernel's
gradient and the inputs' gradient from all of them at once after the loop.

Arrays are time-major inside: ``(steps, batch, *spatial, channels)``; a step's state
``(batch, *spatial, filters)`` is also read as ``(rows, filters)``, ``rows = batch·Πspatial``.
"""
import numpy as np

from .. import activations as _activations
from ._convolutional import same_padding

# im2col's scratch is made this many bytes at most: the frames are convolved in chunks, so a
# long sequence of large frames does not need every step's columns at once
_COLUMNS_BYTES = 1 << 25


def conv_pads(spatial, kernel_size, strides, dilation_rate, padding):
    """(before, after) zeros per spatial axis: none for 'valid', TensorFlow's for 'same'."""
    if padding == "valid":
        return [(0, 0)] * len(spatial)
    return [same_padding(n, d * (k - 1) + 1, s)
            for n, k, s, d in zip(spatial, kernel_size, strides, dilation_rate)]


def conv_output_spatial(spatial, kernel_size, strides, dilation_rate, padding):
    """The output's spatial shape; a size may be zero or negative where the window does not
    fit (the caller reports it)."""
    out = []
    for n, k, s, d in zip(spatial, kernel_size, strides, dilation_rate):
        if n is None:
            out.append(None)
        elif padding == "same":
            out.append(-(-n // s))
        else:
            out.append((n - d * (k - 1) - 1) // s + 1)
    return tuple(out)


def _windows(xp, kernel_size, strides, dilation_rate, out_spatial):
    """A read-only view ``(n, *out_spatial, *kernel_size, channels)`` of `xp`
    ``(n, *padded, channels)``: ``view[b, p, k] = xp[b, p·strides + k·dilation_rate]``."""
    sn, *ss, sc = xp.strides
    return np.lib.stride_tricks.as_strided(
        xp, (xp.shape[0], *out_spatial, *kernel_size, xp.shape[-1]),
        (sn, *(a * s for a, s in zip(ss, strides)),
         *(a * d for a, d in zip(ss, dilation_rate)), sc), writeable=False)


def _chunk(n, row_bytes):
    return max(1, min(n, _COLUMNS_BYTES // max(row_bytes, 1)))


def _padded(x, pads):
    if not any(p for pair in pads for p in pair):
        return x
    return np.pad(x, [(0, 0), *pads, (0, 0)])


def conv(x, kernel, strides, dilation_rate, pads, out_spatial):
    """``y[b, p] = Σ_k xp[b, p·strides + k·dilation_rate] · kernel[k]`` for `x`
    ``(n, *spatial, in)``, `kernel` ``(*kernel_size, in, out)``: im2col and one gemm per chunk
    of frames."""
    ksize, cin, cout = kernel.shape[:-2], kernel.shape[-2], kernel.shape[-1]
    w = kernel.reshape(-1, cout)
    xp = _padded(x, pads)
    n, pixels = x.shape[0], int(np.prod(out_spatial))
    y = np.empty((n, *out_spatial, cout), x.dtype)
    y2 = y.reshape(n * pixels, cout)
    step = _chunk(n, pixels * w.shape[0] * x.itemsize)
    for a in range(0, n, step):
        b = min(n, a + step)
        cols = np.ascontiguousarray(_windows(xp[a:b], ksize, strides, dilation_rate,
                                             out_spatial)).reshape(-1, w.shape[0])
        np.matmul(cols, w, out=y2[a * pixels:b * pixels])
    return y


def conv_backward(x, kernel, dy, strides, dilation_rate, pads, need_dx=True):
    """The kernel's gradient ``Σ colsᵀ·dy`` and (with `need_dx`) the inputs' gradient, the
    adjoint of :func:`conv`: ``dy·kernelᵀ`` added back into every window it was read from."""
    ksize, cout = kernel.shape[:-2], kernel.shape[-1]
    w = kernel.reshape(-1, cout)
    out_spatial = dy.shape[1:-1]
    xp = _padded(x, pads)
    n, pixels = x.shape[0], int(np.prod(out_spatial))
    dy2 = dy.reshape(n * pixels, cout)
    dw = np.zeros(w.shape, x.dtype)
    dxp = np.zeros(xp.shape, x.dtype) if need_dx else None
    step = _chunk(n, pixels * w.shape[0] * x.itemsize)
    for a in range(0, n, step):
        b = min(n, a + step)
        rows = slice(a * pixels, b * pixels)
        cols = np.ascontiguousarray(_windows(xp[a:b], ksize, strides, dilation_rate,
                                             out_spatial)).reshape(-1, w.shape[0])
        dw += cols.T @ dy2[rows]
        if need_dx:
            dcols = (dy2[rows] @ w.T).reshape(b - a, *out_spatial, *ksize, x.shape[-1])
            _scatter_windows(dcols, dxp[a:b], strides, dilation_rate)
    dx = None
    if need_dx:
        dx = dxp[(slice(None), *(slice(p, p + s) for (p, _), s in zip(pads, x.shape[1:-1])))]
    return dw.reshape(kernel.shape), dx


def _scatter_windows(dcols, out, strides, dilation_rate):
    """Adds ``dcols[b, p, k]`` into ``out[b, p·strides + k·dilation_rate]``: a loop over the
    kernel's taps (at most Πkernel_size), never over pixels."""
    rank = len(strides)
    out_spatial = dcols.shape[1:1 + rank]
    for tap in np.ndindex(*dcols.shape[1 + rank:1 + 2 * rank]):
        where = tuple(slice(k * d, k * d + s * (o - 1) + 1, s)
                      for k, d, s, o in zip(tap, dilation_rate, strides, out_spatial))
        out[(slice(None), *where)] += dcols[(slice(None),) * (1 + rank) + tap]


def gated_conv(x, kernel, masks, strides, dilation_rate, pads, out_spatial):
    """:func:`conv` of `x`; with dropout `masks` (4, ...) each gate's block of the kernel
    reads `x` times its own mask, as Keras's cell does."""
    if masks is None:
        return conv(x, kernel, strides, dilation_rate, pads, out_spatial)
    filters = kernel.shape[-1] // 4
    parts = [conv(x * m, kernel[..., g * filters:(g + 1) * filters], strides, dilation_rate,
                  pads, out_spatial) for g, m in enumerate(masks)]
    return np.concatenate(parts, axis=-1)


def gated_conv_backward(x, kernel, masks, dy, strides, dilation_rate, pads, need_dx=True):
    if masks is None:
        return conv_backward(x, kernel, dy, strides, dilation_rate, pads, need_dx)
    filters = kernel.shape[-1] // 4
    dws, dx = [], None
    for g, m in enumerate(masks):
        block = slice(g * filters, (g + 1) * filters)
        dw, dxg = conv_backward(x * m, kernel[..., block], np.ascontiguousarray(dy[..., block]),
                                strides, dilation_rate, pads, need_dx)
        dws.append(dw)
        if need_dx:
            dx = dxg * m if dx is None else dx + dxg * m
    return np.concatenate(dws, axis=-1), dx


def _gates(activation, recurrent_activation, z, filters):
    """[i, f, activation(z_c), o] from z (rows, 4·filters), in one new array."""
    a = np.empty_like(z)
    F = filters
    a[:, :2 * F] = _activations.forward(recurrent_activation, z[:, :2 * F])
    a[:, 2 * F:3 * F] = _activations.forward(activation, z[:, 2 * F:3 * F])
    a[:, 3 * F:] = _activations.forward(recurrent_activation, z[:, 3 * F:])
    return a


def forward(x, kernel, recurrent_kernel, bias, h0, c0, *, strides, dilation_rate, padding,
            activation, recurrent_activation, mask=None, dropout_masks=None,
            recurrent_dropout_masks=None, zero_output_for_mask=False):
    """Run the sequence `x` ``(batch, steps, *spatial, channels)`` from states `h0`, `c0`
    ``(batch, *new_spatial, filters)``.

    `mask` (batch, steps) booleans: a masked step keeps the states and repeats the last output
    (zeros with `zero_output_for_mask`; the output before the first step is zeros), as
    Keras's ``backend.rnn``. Dropout masks: (4, batch, *spatial, channels) and
    (4, batch, *new_spatial, filters), one per gate, or None.

    Returns ``(outputs (steps, batch, *new_spatial, filters), h_T, c_T, cache)``.
    """
    B, T = x.shape[:2]
    rank = x.ndim - 3
    ksize = kernel.shape[:rank]
    F = recurrent_kernel.shape[-1] // 4
    spatial = x.shape[2:-1]
    out_spatial = h0.shape[1:-1]
    pads = conv_pads(spatial, ksize, strides, dilation_rate, padding)
    ones = (1,) * rank
    rec_pads = conv_pads(out_spatial, ksize, ones, ones, "same")
    frames = np.ascontiguousarray(np.swapaxes(x, 0, 1)).reshape(T * B, *spatial, x.shape[-1])
    in_masks = None if dropout_masks is None else np.tile(dropout_masks, (1, T) + (1,) * (rank + 1))
    z = gated_conv(frames, kernel, in_masks, strides, dilation_rate, pads, out_spatial)
    if bias is not None:
        z += bias
    N = B * int(np.prod(out_spatial))
    z = z.reshape(T, N, 4 * F)
    a = np.empty_like(z)
    hs = np.empty((T + 1, B, *out_spatial, F), x.dtype)
    cs = np.empty_like(hs)
    hs[0], cs[0] = h0, c0
    cell_c = np.empty((T, N, F), x.dtype)   # c_t as the cell computed it (masked or not)
    tanh_c = np.empty_like(cell_c)          # activation(c_t)
    rows_mask = None if mask is None else np.repeat(mask, N // B, axis=0).T[..., None]
    outputs = hs[1:] if mask is None else np.empty_like(hs[1:])
    for t in range(T):
        z[t] += gated_conv(hs[t], recurrent_kernel, recurrent_dropout_masks, ones, ones,
                           rec_pads, out_spatial).reshape(N, 4 * F)
        a[t] = _gates(activation, recurrent_activation, z[t], F)
        i, f, g, o = a[t, :, :F], a[t, :, F:2 * F], a[t, :, 2 * F:3 * F], a[t, :, 3 * F:]
        c_prev = cs[t].reshape(N, F)
        np.multiply(f, c_prev, out=cell_c[t])
        cell_c[t] += i * g
        tanh_c[t] = _activations.forward(activation, cell_c[t])
        h = o * tanh_c[t]
        if mask is None:
            hs[t + 1].reshape(N, F)[:] = h
            cs[t + 1].reshape(N, F)[:] = cell_c[t]
            continue
        m = rows_mask[t]
        hs[t + 1].reshape(N, F)[:] = np.where(m, h, hs[t].reshape(N, F))
        cs[t + 1].reshape(N, F)[:] = np.where(m, cell_c[t], c_prev)
        before = 0.0 if zero_output_for_mask or t == 0 else outputs[t - 1].reshape(N, F)
        outputs[t].reshape(N, F)[:] = np.where(m, h, before)
    cache = dict(frames=frames, kernel=kernel, recurrent_kernel=recurrent_kernel,
                 bias=bias, z=z, a=a, hs=hs, cs=cs, cell_c=cell_c, tanh_c=tanh_c,
                 rows_mask=rows_mask, in_masks=in_masks, rec_masks=recurrent_dropout_masks,
                 strides=strides, dilation_rate=dilation_rate, pads=pads, rec_pads=rec_pads,
                 activation=activation, recurrent_activation=recurrent_activation,
                 zero_output_for_mask=zero_output_for_mask, x_shape=x.shape)
    return outputs, hs[T], cs[T], cache


def backward(cache, d_outputs, d_h, d_c, need_dx=True):
    """Gradients of :func:`forward`'s run: `d_outputs` (steps, batch, *new_spatial, filters)
    arriving at each step's output (None: none), `d_h`, `d_c` at the final states (None:
    none). Returns a dict with ``kernel``, ``recurrent_kernel``, ``bias`` (None without one),
    ``x`` (None without `need_dx`), ``h0`` and ``c0``."""
    z, a, hs, cs = cache["z"], cache["a"], cache["hs"], cache["cs"]
    T, N, F4 = z.shape
    F = F4 // 4
    rank = hs.ndim - 3
    ones = (1,) * rank
    act, rec_act = cache["activation"], cache["recurrent_activation"]
    rows_mask, U, rec_masks = cache["rows_mask"], cache["recurrent_kernel"], cache["rec_masks"]
    dtype = z.dtype
    dh = np.zeros((N, F), dtype) if d_h is None else np.array(d_h, dtype).reshape(N, F)
    dc = np.zeros((N, F), dtype) if d_c is None else np.array(d_c, dtype).reshape(N, F)
    carried = np.zeros((N, F), dtype)  # a masked step's output gradient, owed to the last one
    dz = np.empty_like(z)
    dU = np.zeros(U.shape, dtype)
    for t in reversed(range(T)):
        d_out = None if d_outputs is None else d_outputs[t].reshape(N, F)
        if rows_mask is None:
            dh_cell = dh if d_out is None else dh + d_out
            dc_cell = dc
        else:
            m = rows_mask[t]
            d_here = carried if d_out is None else carried + d_out
            dh_cell = np.where(m, dh + d_here, 0.0)
            dc_cell = np.where(m, dc, 0.0)
            dh_skip, dc_skip = np.where(m, 0.0, dh), np.where(m, 0.0, dc)
            carried = (np.zeros_like(carried) if cache["zero_output_for_mask"]
                       else np.where(m, 0.0, d_here))
        i, f, g, o = a[t, :, :F], a[t, :, F:2 * F], a[t, :, 2 * F:3 * F], a[t, :, 3 * F:]
        tc = cache["tanh_c"][t]
        dcc = dc_cell + _activations.backward(act, cache["cell_c"][t], tc, dh_cell * o)
        zt, dzt = z[t], dz[t]
        dzt[:, :F] = _activations.backward(rec_act, zt[:, :F], i, dcc * g)
        dzt[:, F:2 * F] = _activations.backward(rec_act, zt[:, F:2 * F], f,
                                                dcc * cs[t].reshape(N, F))
        dzt[:, 2 * F:3 * F] = _activations.backward(act, zt[:, 2 * F:3 * F], g, dcc * i)
        dzt[:, 3 * F:] = _activations.backward(rec_act, zt[:, 3 * F:], o, dh_cell * tc)
        dU_t, dh_prev = gated_conv_backward(hs[t], U, rec_masks, dzt.reshape(hs[t].shape[:-1] + (F4,)),
                                            ones, ones, cache["rec_pads"])
        dU += dU_t
        dh = dh_prev.reshape(N, F)
        dc = dcc * f
        if rows_mask is not None:
            dh = dh + dh_skip
            dc = dc + dc_skip
    frames, kernel = cache["frames"], cache["kernel"]
    out_spatial = hs.shape[2:-1]
    dW, dframes = gated_conv_backward(frames, kernel, cache["in_masks"],
                                      dz.reshape(frames.shape[0], *out_spatial, F4),
                                      cache["strides"], cache["dilation_rate"], cache["pads"],
                                      need_dx)
    B, T_ = cache["x_shape"][:2]
    dx = None
    if need_dx:
        dx = np.ascontiguousarray(np.swapaxes(dframes.reshape(T_, B, *dframes.shape[1:]), 0, 1))
    return dict(kernel=dW, recurrent_kernel=dU,
                bias=None if cache["bias"] is None else dz.reshape(-1, F4).sum(axis=0),
                x=dx, h0=dh.reshape(hs.shape[1:]), c0=dc.reshape(hs.shape[1:]))
