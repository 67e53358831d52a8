"""Keras's ``keras.ops.math`` signal ops: the Fourier transforms on ``(real, imag)`` pairs of
float tensors (``fft``, ``fft2``, ``ifft2``, ``rfft``, ``irfft``), the short-time transform
and its inverse (``stft``, ``istft``, written with those), ``extract_sequences``,
``cdist``, ``saturate_cast`` and the complex views.

Each transform is linear, so its gradient is its adjoint, written with the transforms
themselves: ``fft``'s is ``n · ifft`` of the upstream pair, ``rfft``'s the real part of the
full inverse transform of the upstream zero-extended, ``irfft``'s the ``rfft`` of the upstream
with the entries that appear twice in the signal counted twice.
"""
import numpy as np

from . import _core as o
from ._arrays_more import scatter
from ._dtypes import keras_in
from ._tape import make_many, value_of


def _pair(x, name):
    """(recorded real, recorded imag, complex value) of Keras's ``(real, imag)`` input."""
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"Input `x` should be a tuple of two tensors - real and imaginary."
                         f"Received: x={x}")
    (tr, real), (ti, imag) = keras_in(x[0]), keras_in(x[1])
    if real.shape != imag.shape:
        raise ValueError(f"Input `x` should be a tuple of two tensors - real and imaginary."
                         f"Both the real and imaginary parts should have the same shape. "
                         f"Received: x[0].shape = {real.shape}, x[1].shape = {imag.shape}")
    if real.dtype.kind != "f" or imag.dtype.kind != "f":
        raise ValueError(f"At least one tensor in input `x` is not of type float.Received: "
                         f"x={x}.")
    return tr, ti, real + 1j * imag.astype(real.dtype), np.result_type(real, imag)


def _split(z, dtype):
    return [np.real(z).astype(dtype), np.imag(z).astype(dtype)]


def _upstream(gs, shape):
    gr, gi = gs if isinstance(gs, list) else (gs, None)
    gr = np.zeros(shape) if gr is None else gr
    gi = np.zeros(shape) if gi is None else gi
    return gr + 1j * gi


def fft(x):
    """The discrete Fourier transform over the last axis of ``x = (real, imag)``; returns the
    ``(real, imag)`` pair."""
    tr, ti, z, dtype = _pair(x, "fft")
    y = np.fft.fft(z, axis=-1)
    n = z.shape[-1]

    def vjp(gs):
        return _split(n * np.fft.ifft(_upstream(gs, y.shape), axis=-1), dtype)
    return tuple(make_many(_split(y, dtype), (tr, ti), vjp, "fft"))


def fft2(x):
    """The 2-D discrete Fourier transform over the last two axes of ``(real, imag)``."""
    tr, ti, z, dtype = _pair(x, "fft2")
    y = np.fft.fft2(z, axes=(-2, -1))
    n = z.shape[-1] * z.shape[-2]

    def vjp(gs):
        return _split(n * np.fft.ifft2(_upstream(gs, y.shape), axes=(-2, -1)), dtype)
    return tuple(make_many(_split(y, dtype), (tr, ti), vjp, "fft2"))


def ifft2(x):
    """The inverse 2-D discrete Fourier transform over the last two axes of
    ``(real, imag)``."""
    tr, ti, z, dtype = _pair(x, "ifft2")
    y = np.fft.ifft2(z, axes=(-2, -1))
    n = z.shape[-1] * z.shape[-2]

    def vjp(gs):
        return _split(np.fft.fft2(_upstream(gs, y.shape), axes=(-2, -1)) / n, dtype)
    return tuple(make_many(_split(y, dtype), (tr, ti), vjp, "ifft2"))


def rfft(x, fft_length=None):
    """The Fourier transform of the real ``x`` over its last axis (cut or zero-padded to
    ``fft_length``), its ``fft_length // 2 + 1`` non-negative frequencies as ``(real,
    imag)``."""
    t, xv = keras_in(x)
    length = xv.shape[-1]
    n = length if fft_length is None else int(fft_length)
    y = np.fft.rfft(xv, n=n, axis=-1)

    def vjp(gs):
        full = np.zeros(y.shape[:-1] + (n,), complex)
        full[..., :y.shape[-1]] = _upstream(gs, y.shape)
        back = np.real(n * np.fft.ifft(full, axis=-1))
        out = np.zeros(xv.shape, xv.dtype)
        m = min(n, length)
        out[..., :m] = back[..., :m]
        return (out,)
    return tuple(make_many(_split(y, xv.dtype), (t,), vjp, "rfft"))


def irfft(x, fft_length=None):
    """The real signal of length ``fft_length`` (by default ``2 (m - 1)``) whose
    non-negative frequencies are the ``m`` entries of ``x = (real, imag)``."""
    tr, ti, z, dtype = _pair(x, "irfft")
    m = z.shape[-1]
    n = 2 * (m - 1) if fft_length is None else int(fft_length)
    y = np.fft.irfft(z, n=n, axis=-1).astype(dtype)
    half = n // 2 + 1

    def vjp(g):
        spectrum = np.fft.rfft(g, n=n, axis=-1)
        # the frequencies other than 0 and n/2 appear twice in the real signal
        twice = np.full(half, 2.0)
        twice[0] = 1.0
        if n % 2 == 0:
            twice[-1] = 1.0
        spectrum = spectrum * twice / n
        out = np.zeros(z.shape, complex)
        k = min(m, half)
        out[..., :k] = spectrum[..., :k]
        return _split(out, dtype)
    return make_many([y], (tr, ti), vjp, "irfft")[0]


def _window(window, sequence_length, fft_length, dtype):
    """The analysis window, centred in ``fft_length`` (None: no window)."""
    if window is None:
        return None
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ValueError(f'If a string is passed to `window`, it must be one of `"hann"`, '
                             f'`"hamming"`. Received: window={window}')
        # TensorFlow's periodic windows
        a = 0.5 if window == "hann" else 0.54
        phase = 2 * np.pi * np.arange(sequence_length) / sequence_length
        values = a - (1 - a) * np.cos(phase)
    else:
        values = np.asarray(value_of(window))
    if values.ndim != 1 or values.shape[0] != sequence_length:
        raise ValueError(f"The shape of `window` must be equal to [sequence_length].Received: "
                         f"window shape={values.shape}")
    left = (fft_length - sequence_length) // 2
    return np.pad(values, (left, fft_length - sequence_length - left)).astype(dtype)


def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """The short-time Fourier transform of the real signals ``x`` (last axis): windowed frames
    of ``fft_length`` every ``sequence_stride`` samples (the signal reflected by
    ``fft_length // 2`` at both ends when ``center``), transformed by ``rfft``; returns
    ``(real, imag)`` of shape ``(..., frames, fft_length // 2 + 1)``."""
    xv = keras_in(x)[1]
    if xv.dtype not in (np.float32, np.float64):
        raise TypeError(f"Invalid input type. Expected `float32` or `float64`. Received: "
                        f"input type={xv.dtype.name}")
    if fft_length < sequence_length:
        raise ValueError(f"`fft_length` must equal or larger than `sequence_length`. "
                         f"Received: sequence_length={sequence_length}, "
                         f"fft_length={fft_length}")
    win = _window(window, sequence_length, fft_length, xv.dtype)
    if center:
        edge = fft_length // 2
        reflected = np.pad(np.arange(xv.shape[-1]), (edge, edge), mode="reflect")
        x = o.take(x, reflected, axis=-1)
    frames = extract_sequences(x, fft_length, sequence_stride)
    if win is not None:
        frames = o.multiply(frames, win)
    return rfft(frames, fft_length)


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann",
          center=True):
    """The inverse of :func:`stft`: each frame's ``irfft``, windowed by the analysis window
    over the sum of its overlapping squares, overlapped and added, the ``center`` padding cut
    (to ``length`` samples when given)."""
    real = keras_in(x[0])[1] if isinstance(x, (tuple, list)) and len(x) == 2 else None
    frames = irfft(x, fft_length)  # (..., n_frames, fft_length); validates x
    dtype = real.dtype
    win = _window(window, sequence_length, fft_length, dtype)
    if win is not None:
        # TensorFlow's inverse_stft_window_fn: the window over the sum of the squares of the
        # windows overlapping each sample
        overlaps = -(-fft_length // sequence_stride)
        squares = np.pad(win * win, (0, overlaps * sequence_stride - fft_length))
        total = squares.reshape(overlaps, sequence_stride).sum(axis=0)
        frames = o.multiply(frames, (win / np.tile(total, overlaps)[:fft_length]).astype(dtype))
    n_frames = np.shape(value_of(frames))[-2]
    out_length = sequence_stride * (n_frames - 1) + fft_length
    # overlap-add: frame f's sample t lands on f * stride + t
    places = (np.arange(n_frames)[:, None] * sequence_stride
              + np.arange(fft_length)[None, :]).reshape(-1, 1)
    lead = np.ndim(value_of(frames)) - 2
    flat = o.reshape(o.moveaxis(frames, (-2, -1), (0, 1)),
                     (n_frames * fft_length,) + np.shape(value_of(frames))[:lead])
    signal = o.moveaxis(scatter(places, flat, (out_length,) + np.shape(value_of(flat))[1:]),
                        0, -1)
    start = fft_length // 2 if center else 0
    if length is not None:
        end = start + length
    elif center:
        end = out_length - fft_length // 2
    else:
        end = out_length
    return o.getitem(signal, (Ellipsis, slice(start, end)))


def extract_sequences(x, sequence_length, sequence_stride):
    """The frames of ``sequence_length`` samples every ``sequence_stride`` along the last
    axis of ``x``: ``(..., num_frames, sequence_length)``."""
    length = np.shape(keras_in(x)[1])[-1]
    if sequence_length < 1 or sequence_stride < 1:
        raise ValueError(f"extract_sequences: sequence_length and sequence_stride must be "
                         f"positive; received sequence_length={sequence_length}, "
                         f"sequence_stride={sequence_stride}")
    frames = max(0, 1 + (length - sequence_length) // sequence_stride)
    index = (np.arange(frames)[:, None] * sequence_stride
             + np.arange(sequence_length)[None, :])
    return o.take(x, index.reshape(frames, sequence_length), axis=-1)


def cdist(x, y):
    """The Euclidean distances between the rows of ``x`` ``(..., n, d)`` and of ``y``
    ``(..., m, d)``: ``(..., n, m)``."""
    sx, sy = np.shape(keras_in(x)[1]), np.shape(keras_in(y)[1])
    if len(sx) < 2 or len(sy) < 2:
        raise ValueError("`cdist` inputs must have rank >= 2")
    if sx[-1] != sy[-1]:
        raise ValueError("Last dimension of inputs to `cdist` must match")
    diff = o.subtract(o.expand_dims(x, -2), o.expand_dims(y, -3))
    return o.sqrt(o.sum(o.square(diff), axis=-1))


def _limits(dtype):
    dtype = np.dtype(dtype)
    if dtype == bool:
        return 0, 1
    info = np.iinfo(dtype) if dtype.kind in "iu" else np.finfo(dtype)
    return info.min, info.max


def saturate_cast(x, dtype):
    """``x`` cast to ``dtype`` with its values first clipped to the range ``dtype`` holds
    (no wrap-around: -1 and 256 become 0 and 255 in uint8)."""
    xv = keras_in(x)[1]
    (lo, hi), (in_lo, in_hi) = _limits(dtype), _limits(xv.dtype)
    # a bound the input dtype cannot hold exactly is moved inside the range, so that the
    # cast of a clipped value never overflows (as Keras does)
    lo_v = np.asarray(max(lo, in_lo)).astype(xv.dtype)
    if float(lo_v) < lo:  # (compared exactly, not in the input dtype)
        lo_v = np.nextafter(lo_v, 0, dtype=xv.dtype)
    hi_v = np.asarray(min(hi, in_hi)).astype(xv.dtype)
    if float(hi_v) > hi:
        hi_v = np.nextafter(hi_v, 0, dtype=xv.dtype)
    return o.cast(o.clip(x, lo_v, hi_v), dtype)


def view_as_real(x):
    """``x`` as a real array with a last axis of (real, imag) (zeros for a real ``x``)."""
    xv = np.asarray(value_of(x))
    return np.stack([xv.real, np.imag(xv) if xv.dtype.kind == "c" else np.zeros_like(xv)],
                    axis=-1)


def view_as_complex(x):
    """A real ``x`` whose last axis holds (real, imag) pairs as a complex64 array (Keras's
    TensorFlow backend computes it in float32)."""
    xv = np.asarray(value_of(x))
    if xv.ndim == 0 or xv.shape[-1] != 2:
        raise ValueError(f"Last dimension of input must be size 2 (real and imaginary). "
                         f"Received shape: {xv.shape}")
    pairs = xv.astype(np.float32)
    return pairs[..., 0] + 1j * pairs[..., 1].astype(np.complex64)
