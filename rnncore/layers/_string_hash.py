"""The two string hashes TensorFlow's ``tf.strings.to_hash_bucket_fast`` and
``to_hash_bucket_strong`` use, in plain Python, so that Hashing and the lookup layers put
every value in the bin Keras puts it in, without TensorFlow.

- ``fingerprint64``: FarmHash's Fingerprint64 (its "na" 64-bit hash, seed 81), which TensorFlow
  calls ``Fingerprint64``; the fast bucket is ``fingerprint64(s) % num_buckets``.
- ``cross_fingerprint``: the chained hash of ``tf.sparse.cross_hashed`` (HashedCrossing).
- ``siphash``: SipHash-2-4 with a 128-bit key given as two unsigned 64-bit halves (Keras's
  ``salt``); the strong bucket is ``siphash(key, s) % num_buckets``.

Both work on bytes and return an unsigned 64-bit int. Python ints are arbitrary precision, so
every product and sum is reduced modulo 2**64 (``& _M``), as C's unsigned arithmetic does.
"""
import struct

_M = (1 << 64) - 1
_K0 = 0xC3A5C85C97CB3127
_K1 = 0xB492B66FBE98F273
_K2 = 0x9AE16A3B2F90404F


def _u64(s, i):
    return struct.unpack_from("<Q", s, i)[0]


def _u32(s, i):
    return struct.unpack_from("<I", s, i)[0]


def _rotr(v, shift):
    return ((v >> shift) | (v << (64 - shift))) & _M


def _shift_mix(v):
    return v ^ (v >> 47)


def _mix16(u, v, mul):
    """FarmHash's HashLen16: two words folded into one with the multiplier `mul`."""
    a = ((u ^ v) * mul) & _M
    a ^= a >> 47
    b = ((v ^ a) * mul) & _M
    b ^= b >> 47
    return (b * mul) & _M


def _len_0_to_16(s, n):
    if n >= 8:
        mul = _K2 + n * 2
        a = (_u64(s, 0) + _K2) & _M
        b = _u64(s, n - 8)
        c = (_rotr(b, 37) * mul + a) & _M
        d = ((_rotr(a, 25) + b) * mul) & _M
        return _mix16(c, d, mul)
    if n >= 4:
        mul = _K2 + n * 2
        return _mix16((n + (_u32(s, 0) << 3)) & _M, _u32(s, n - 4), mul)
    if n > 0:
        y = (s[0] + (s[n >> 1] << 8)) & 0xFFFFFFFF
        z = (n + (s[n - 1] << 2)) & 0xFFFFFFFF
        return (_shift_mix(((y * _K2) ^ (z * _K0)) & _M) * _K2) & _M
    return _K2


def _len_17_to_32(s, n):
    mul = _K2 + n * 2
    a = (_u64(s, 0) * _K1) & _M
    b = _u64(s, 8)
    c = (_u64(s, n - 8) * mul) & _M
    d = (_u64(s, n - 16) * _K2) & _M
    return _mix16((_rotr((a + b) & _M, 43) + _rotr(c, 30) + d) & _M,
                  (a + _rotr((b + _K2) & _M, 18) + c) & _M, mul)


def _len_33_to_64(s, n):
    mul = _K2 + n * 2
    a = (_u64(s, 0) * _K2) & _M
    b = _u64(s, 8)
    c = (_u64(s, n - 8) * mul) & _M
    d = (_u64(s, n - 16) * _K2) & _M
    y = (_rotr((a + b) & _M, 43) + _rotr(c, 30) + d) & _M
    z = _mix16(y, (a + _rotr((b + _K2) & _M, 18) + c) & _M, mul)
    e = (_u64(s, 16) * mul) & _M
    f = _u64(s, 24)
    g = ((y + _u64(s, n - 32)) * mul) & _M
    h = ((z + _u64(s, n - 24)) * mul) & _M
    return _mix16((_rotr((e + f) & _M, 43) + _rotr(g, 30) + h) & _M,
                  (e + _rotr((f + a) & _M, 18) + g) & _M, mul)


def _weak32(s, i, a, b):
    """FarmHash's WeakHashLen32WithSeeds over the 32 bytes at `i`."""
    w, x, y, z = _u64(s, i), _u64(s, i + 8), _u64(s, i + 16), _u64(s, i + 24)
    a = (a + w) & _M
    b = _rotr((b + a + z) & _M, 21)
    c = a
    a = (a + x + y) & _M
    b = (b + _rotr(a, 44)) & _M
    return (a + z) & _M, (b + c) & _M


def fingerprint64(s):
    """FarmHash Fingerprint64 of the bytes `s` (TensorFlow's ``tf.fingerprint`` word)."""
    n = len(s)
    if n <= 16:
        return _len_0_to_16(s, n)
    if n <= 32:
        return _len_17_to_32(s, n)
    if n <= 64:
        return _len_33_to_64(s, n)
    seed = 81
    x = seed
    y = (seed * _K1 + 113) & _M
    z = (_shift_mix((y * _K2 + 113) & _M) * _K2) & _M
    v = w = (0, 0)
    x = (x * _K2 + _u64(s, 0)) & _M
    end = ((n - 1) // 64) * 64
    last64 = end + ((n - 1) & 63) - 63
    for i in range(0, end, 64):  # every whole 64-byte block but the last bytes
        x = (_rotr((x + y + v[0] + _u64(s, i + 8)) & _M, 37) * _K1) & _M
        y = (_rotr((y + v[1] + _u64(s, i + 48)) & _M, 42) * _K1) & _M
        x ^= w[1]
        y = (y + v[0] + _u64(s, i + 40)) & _M
        z = (_rotr((z + w[0]) & _M, 33) * _K1) & _M
        v = _weak32(s, i, (v[1] * _K1) & _M, (x + w[0]) & _M)
        w = _weak32(s, i + 32, (z + w[1]) & _M, (y + _u64(s, i + 16)) & _M)
        z, x = x, z
    mul = _K1 + ((z & 0xFF) << 1)
    i = last64
    w0 = (w[0] + ((n - 1) & 63)) & _M
    v0 = (v[0] + w0) & _M
    w0 = (w0 + v0) & _M
    v, w = (v0, v[1]), (w0, w[1])
    x = (_rotr((x + y + v[0] + _u64(s, i + 8)) & _M, 37) * mul) & _M
    y = (_rotr((y + v[1] + _u64(s, i + 48)) & _M, 42) * mul) & _M
    x ^= (w[1] * 9) & _M
    y = (y + v[0] * 9 + _u64(s, i + 40)) & _M
    z = (_rotr((z + w[0]) & _M, 33) * mul) & _M
    v = _weak32(s, i, (v[1] * mul) & _M, (x + w[0]) & _M)
    w = _weak32(s, i + 32, (z + w[1]) & _M, (y + _u64(s, i + 16)) & _M)
    z, x = x, z
    return _mix16((_mix16(v[0], w[0], mul) + _shift_mix(y) * _K0 + z) & _M,
                  (_mix16(v[1], w[1], mul) + x) & _M, mul)


def _rotl(v, shift):
    return ((v << shift) | (v >> (64 - shift))) & _M


def siphash(key, s):
    """SipHash-2-4 of the bytes `s` under the key ``(k0, k1)`` (two unsigned 64-bit ints)."""
    k0, k1 = key[0] & _M, key[1] & _M
    v0, v1 = k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D
    v2, v3 = k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573

    def rounds(count, v0, v1, v2, v3):
        for _ in range(count):
            v0 = (v0 + v1) & _M
            v1 = _rotl(v1, 13) ^ v0
            v0 = _rotl(v0, 32)
            v2 = (v2 + v3) & _M
            v3 = _rotl(v3, 16) ^ v2
            v0 = (v0 + v3) & _M
            v3 = _rotl(v3, 21) ^ v0
            v2 = (v2 + v1) & _M
            v1 = _rotl(v1, 17) ^ v2
            v2 = _rotl(v2, 32)
        return v0, v1, v2, v3

    n = len(s)
    whole = n - n % 8
    for i in range(0, whole, 8):
        m = _u64(s, i)
        v3 ^= m
        v0, v1, v2, v3 = rounds(2, v0, v1, v2, v3)
        v0 ^= m
    # the last 0-7 bytes, little-endian, with the length's low byte on top
    m = ((n & 0xFF) << 56) | int.from_bytes(s[whole:], "little")
    v3 ^= m
    v0, v1, v2, v3 = rounds(2, v0, v1, v2, v3)
    v0 ^= m
    v2 ^= 0xFF
    v0, v1, v2, v3 = rounds(4, v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


_CROSS_KEY = 0xDECAFCAFFE  # TensorFlow's SPARSE_CROSS_HASH_KEY, the seed of a hashed cross
_CAT_MUL = 0xC6A4A7935BD1E995


def _fingerprint_cat64(fp1, fp2):
    """TensorFlow's FingerprintCat64: two fingerprints combined into one."""
    h = fp1 ^ _CAT_MUL
    h ^= (_shift_mix((fp2 * _CAT_MUL) & _M) * _CAT_MUL) & _M
    h = (h * _CAT_MUL) & _M
    h = (_shift_mix(h) * _CAT_MUL) & _M
    return _shift_mix(h)


def cross_fingerprint(values):
    """The hash ``tf.sparse.cross_hashed`` gives one crossed feature: each value's own hash
    (a string's, bytes given, ``fingerprint64``; an integer's, its two's-complement word),
    chained in order from TensorFlow's key."""
    h = _CROSS_KEY
    for value in values:
        h = _fingerprint_cat64(h, fingerprint64(value) if isinstance(value, bytes)
                               else value & _M)
    return h
