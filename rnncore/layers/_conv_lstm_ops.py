"""The ConvLSTM recurrence, forward and backward through time, on channels-last arrays.

Each step of Keras's ConvLSTM cell::

    z_t = conv(x_t, kernel) + conv(h_{t-1}, recurrent_kernel) + bias     split into i, f, c, o
    i, f, o = recurrent_activation(z_i, z_f, z_o)
    c_t = f ⊙ c_{t-1} + i ⊙ activation(z_c)
    h_t = o ⊙ activation(c_t)

The input convolution (the layer's strides, padding and dilation) does not depend on the state,
so it runs once over every frame of every step before the loop, as the fused LSTM hoists its
``x·W``; the recurrent one (stride 1, 'same', no dilation) runs at each step. The backward
pass walks the steps in reverse, collects ``dz`` for every step, and takes both kernels'
gradients and the inputs' gradient from all of them at once after the loop. The convolutions
are ``rnncore.ops``' (``ops._conv``'s plain forward and backward functions), run on inputs
padded here once, with padding 'valid'.

Arrays are time-major inside: ``(steps, batch, *spatial, channels)``; a step's state
``(batch, *spatial, filters)`` is also read as ``(rows, filters)``, ``rows = batch·Πspatial``.
"""
import numpy as np

from .. import activations as _activations
from ..ops._conv import (_windows, conv_backward, conv_forward, conv_output_shape, conv_pads,
                         conv_transpose_forward)

# im2col's scratch is made this many bytes at most: the frames are convolved in chunks, so a
# long sequence of large frames does not need every step's columns at once
_COLUMNS_BYTES = 1 << 25


def _frame_slices(n, frame_bytes):
    """Slices of `n` frames, each with at most ``_COLUMNS_BYTES`` of scratch."""
    step = max(1, _COLUMNS_BYTES // max(int(frame_bytes), 1))
    return [slice(a, min(n, a + step)) for a in range(0, n, step)]


def _columns_slices(xp, kernel_shape, strides, dilation_rate):
    """(out_spatial, slices of frames) for :func:`conv` of `xp`, whose im2col has
    ``Π out_spatial`` rows of ``Π kernel_shape[:-1]`` entries per frame."""
    out_spatial = conv_output_shape(xp.shape[1:-1], kernel_shape[:-2], strides, "valid",
                                    dilation_rate)
    frame_bytes = np.prod(out_spatial) * np.prod(kernel_shape[:-1]) * xp.itemsize
    return out_spatial, _frame_slices(xp.shape[0], frame_bytes)


def pad(x, pads):
    """`x` (n, *spatial, channels) with `pads` zeros around each spatial axis."""
    if not any(p for pair in pads for p in pair):
        return x
    return np.pad(x, [(0, 0), *pads, (0, 0)])


def conv(xp, kernel, strides, dilation_rate):
    """``ops.conv``'s forward over the already padded `xp` (its padding 'valid')."""
    _, chunks = _columns_slices(xp, kernel.shape, strides, dilation_rate)
    parts = [conv_forward(xp[c], kernel, strides, "valid", dilation_rate)[0] for c in chunks]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def conv_kernel_grad(xp, kernel, dy, strides, dilation_rate):
    """The kernel's gradient of :func:`conv`. The columns are made again from `xp` rather
    than kept from the forward pass: every step's would be held at once otherwise."""
    out_spatial, chunks = _columns_slices(xp, kernel.shape, strides, dilation_rate)
    dk = np.zeros(kernel.shape, xp.dtype)
    for c in chunks:
        part = xp[c]
        cols = np.ascontiguousarray(_windows(part, kernel.shape[:-2], strides, dilation_rate,
                                             out_spatial)).reshape(-1, dk[..., 0].size)
        dk += conv_backward(dy[c], cols, part.shape, kernel, strides, "valid", dilation_rate,
                            input_grad=False)[1]
    return dk


def conv_input_grad(dy, kernel, strides, dilation_rate, padded_shape):
    """The padded input's gradient of :func:`conv`: ``ops.conv_transpose``'s forward of `dy`,
    its output padding making up the cells at the end that no window read."""
    ksize = kernel.shape[:-2]
    extra = tuple(n - ((o - 1) * s + d * (k - 1) + 1) for n, o, k, s, d in zip(
        padded_shape[1:-1], dy.shape[1:-1], ksize, strides, dilation_rate))
    # the transposed convolution's scratch: every tap's product for every pixel of `dy`
    chunks = _frame_slices(dy.shape[0], np.prod(dy.shape[1:-1]) * np.prod(kernel.shape[:-1])
                           * dy.itemsize)
    parts = [conv_transpose_forward(dy[c], kernel, strides, "valid", extra, dilation_rate)
             for c in chunks]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _blocks(kernel, masks):
    """(input multiplier, kernel, the kernel's output channels) for each convolution to run:
    the whole kernel alone, or with dropout `masks` (4, ...) each gate's block of the kernel
    reading the input times its own mask, as Keras's cell runs them."""
    if masks is None:
        return [(None, kernel, slice(None))]
    filters = kernel.shape[-1] // 4
    blocks = [slice(g * filters, (g + 1) * filters) for g in range(4)]
    return [(m, kernel[..., b], b) for m, b in zip(masks, blocks)]


def gated_conv(xp, kernel, masks, strides, dilation_rate):
    """:func:`conv` of `xp` with `kernel`, each gate's block on its own dropout mask."""
    parts = [conv(xp if m is None else xp * m, k, strides, dilation_rate)
             for m, k, _ in _blocks(kernel, masks)]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-1)


def gated_kernel_grad(xp, kernel, masks, dy, strides, dilation_rate):
    """The kernel's gradient of :func:`gated_conv`."""
    parts = [conv_kernel_grad(xp if m is None else xp * m, k,
                              dy if m is None else np.ascontiguousarray(dy[..., b]),
                              strides, dilation_rate)
             for m, k, b in _blocks(kernel, masks)]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-1)


def gated_input_grad(dy, kernel, masks, strides, dilation_rate, padded_shape):
    """The padded input's gradient of :func:`gated_conv`: each gate's, times its mask."""
    out = None
    for m, k, b in _blocks(kernel, masks):
        d = conv_input_grad(dy if m is None else np.ascontiguousarray(dy[..., b]), k,
                            strides, dilation_rate, padded_shape)
        d = d if m is None else d * m
        out = d if out is None else out + d
    return out


def _inside(pads, spatial, leading=1):
    """The index of the unpadded part of an array padded by `pads`."""
    return (slice(None),) * leading + tuple(slice(a, a + n) for (a, _), n in zip(pads, spatial))


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
    spatial, out_spatial = x.shape[2:-1], h0.shape[1:-1]
    ones = (1,) * rank
    pads = conv_pads(spatial, ksize, strides, padding, dilation_rate)
    frames = np.ascontiguousarray(np.swapaxes(x, 0, 1)).reshape(T * B, *spatial, x.shape[-1])
    xp = pad(frames, pads)
    in_masks = None
    if dropout_masks is not None:  # the same mask for a sample at every step
        tiled = np.tile(dropout_masks, (1, T) + (1,) * (rank + 1))
        in_masks = pad(tiled.reshape(-1, *tiled.shape[2:]), pads).reshape(4, *xp.shape)
    z = gated_conv(xp, kernel, in_masks, strides, dilation_rate)
    if bias is not None:
        z += bias
    N = B * int(np.prod(out_spatial))
    z = z.reshape(T, N, 4 * F)
    a = np.empty_like(z)
    # the states h are kept inside zeros, the recurrent convolution's 'same' padding, so that
    # each step reads its windows without padding a copy
    rec_pads = conv_pads(out_spatial, ksize, ones, "same", ones)
    hs_padded = np.zeros((T + 1, B, *(n + a_ + b_ for n, (a_, b_) in zip(out_spatial, rec_pads)),
                          F), x.dtype)
    hs = hs_padded[_inside(rec_pads, out_spatial, 2)]
    rec_masks = None
    if recurrent_dropout_masks is not None:
        rec_masks = pad(recurrent_dropout_masks.reshape(-1, *out_spatial, F),
                        rec_pads).reshape(4, *hs_padded.shape[1:])
    cs = np.empty((T + 1, N, F), x.dtype)
    hs[0], cs[0] = h0, c0.reshape(N, F)
    cell_c = np.empty((T, N, F), x.dtype)   # c_t as the cell computed it (masked or not)
    tanh_c = np.empty_like(cell_c)          # activation(c_t)
    rows_mask = None if mask is None else np.repeat(mask, N // B, axis=0).T[..., None]
    outputs = np.empty((T, N, F), x.dtype)
    for t in range(T):
        z[t] += gated_conv(hs_padded[t], recurrent_kernel, rec_masks, ones,
                           ones).reshape(N, 4 * F)
        a[t] = _gates(activation, recurrent_activation, z[t], F)
        i, f, g, o = a[t, :, :F], a[t, :, F:2 * F], a[t, :, 2 * F:3 * F], a[t, :, 3 * F:]
        np.multiply(f, cs[t], out=cell_c[t])
        cell_c[t] += i * g
        tanh_c[t] = _activations.forward(activation, cell_c[t])
        h = np.multiply(o, tanh_c[t], out=outputs[t])
        if mask is None:
            cs[t + 1] = cell_c[t]
        else:
            m = rows_mask[t]
            h = np.where(m, h, hs[t].reshape(N, F))
            cs[t + 1] = np.where(m, cell_c[t], cs[t])
            before = 0.0 if zero_output_for_mask or t == 0 else outputs[t - 1]
            outputs[t] = np.where(m, outputs[t], before)
        hs[t + 1] = h.reshape(hs.shape[1:])
    cache = dict(xp=xp, kernel=kernel, recurrent_kernel=recurrent_kernel,
                 bias=bias, z=z, a=a, hs_padded=hs_padded, cs=cs, cell_c=cell_c,
                 tanh_c=tanh_c, rows_mask=rows_mask, in_masks=in_masks, rec_masks=rec_masks,
                 strides=strides, dilation_rate=dilation_rate, pads=pads, rec_pads=rec_pads,
                 activation=activation, recurrent_activation=recurrent_activation,
                 zero_output_for_mask=zero_output_for_mask, x_shape=x.shape)
    return (outputs.reshape(T, B, *out_spatial, F), np.ascontiguousarray(hs[T]),
            cs[T].reshape(hs.shape[1:]), cache)


def backward(cache, d_outputs, d_h, d_c, need_dx=True):
    """Gradients of :func:`forward`'s run: `d_outputs` (steps, batch, *new_spatial, filters)
    arriving at each step's output (None: none), `d_h`, `d_c` at the final states (None:
    none). Returns a dict with ``kernel``, ``recurrent_kernel``, ``bias`` (None without one),
    ``x`` (None without `need_dx`), ``h0`` and ``c0``."""
    z, a, cs, hs_padded = cache["z"], cache["a"], cache["cs"], cache["hs_padded"]
    T, N, F4 = z.shape
    F = F4 // 4
    rank = hs_padded.ndim - 3
    ones = (1,) * rank
    act, rec_act = cache["activation"], cache["recurrent_activation"]
    rows_mask, U, rec_masks = cache["rows_mask"], cache["recurrent_kernel"], cache["rec_masks"]
    B, rec_pads = cache["x_shape"][0], cache["rec_pads"]
    out_spatial = tuple(n - a_ - b_ for n, (a_, b_) in zip(hs_padded.shape[2:-1], rec_pads))
    inside = _inside(rec_pads, out_spatial)
    dtype = z.dtype
    dh = np.zeros((N, F), dtype) if d_h is None else np.array(d_h, dtype).reshape(N, F)
    dc = np.zeros((N, F), dtype) if d_c is None else np.array(d_c, dtype).reshape(N, F)
    carried = np.zeros((N, F), dtype)  # a masked step's output gradient, owed to the last one
    dz = np.empty_like(z)
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
        dzt[:, F:2 * F] = _activations.backward(rec_act, zt[:, F:2 * F], f, dcc * cs[t])
        dzt[:, 2 * F:3 * F] = _activations.backward(act, zt[:, 2 * F:3 * F], g, dcc * i)
        dzt[:, 3 * F:] = _activations.backward(rec_act, zt[:, 3 * F:], o, dh_cell * tc)
        dh_padded = gated_input_grad(dzt.reshape(B, *out_spatial, F4), U, rec_masks, ones, ones,
                                     hs_padded.shape[1:])
        dh = np.ascontiguousarray(dh_padded[inside]).reshape(N, F)
        dc = dcc * f
        if rows_mask is not None:
            dh += dh_skip
            dc += dc_skip
    # the recurrent kernel's gradient from every step at once: the states h_0 … h_{T-1} as
    # frames, each step's dz as their outputs' gradient
    h_frames = hs_padded[:T].reshape(T * B, *hs_padded.shape[2:])
    dz_frames = dz.reshape(T * B, *out_spatial, F4)
    rec_masks_t = None if rec_masks is None else np.tile(rec_masks, (1, T) + (1,) * (rank + 1))
    dU = gated_kernel_grad(h_frames, U, rec_masks_t, dz_frames, ones, ones)
    xp, kernel, in_masks = cache["xp"], cache["kernel"], cache["in_masks"]
    dW = gated_kernel_grad(xp, kernel, in_masks, dz_frames, cache["strides"],
                           cache["dilation_rate"])
    dx = None
    if need_dx:
        dxp = gated_input_grad(dz_frames, kernel, in_masks, cache["strides"],
                               cache["dilation_rate"], xp.shape)
        x_shape = cache["x_shape"]
        dframes = dxp[_inside(cache["pads"], x_shape[2:-1])]
        dx = np.ascontiguousarray(np.swapaxes(dframes.reshape(T, B, *dframes.shape[1:]), 0, 1))
    return dict(kernel=dW, recurrent_kernel=dU,
                bias=None if cache["bias"] is None else dz.reshape(-1, F4).sum(axis=0),
                x=dx, h0=dh.reshape(B, *out_spatial, F), c0=dc.reshape(B, *out_spatial, F))
