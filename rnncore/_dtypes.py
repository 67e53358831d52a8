"""Keras's dtype names and its type promotion (``keras.backend.standardize_dtype``,
``result_type``, ``is_float_dtype``, ``is_int_dtype``).

rnncore answers as Keras on its TensorFlow backend (the one its numbers are checked against):
Python's ``int`` is ``int64``, and 64-bit results stay 64-bit except ``uint64`` and
``complex128``, which Keras narrows to ``uint32`` and ``complex64``.

The promotion rule is JAX's, which Keras adopted: each dtype sits in a lattice (bool below the
weak ``int`` of Python ints, ints below the weak ``float``, ...), and the result of mixing
dtypes is their least upper bound. A weak type (Python's ``int`` or ``float``) takes the
precision of the strong type it meets, or ``floatx()``'s when none.
"""
import functools

from . import _config

ALLOWED_DTYPES = ("float16", "float32", "float64", "uint8", "uint16", "uint32", "uint64",
                  "int8", "int16", "int32", "int64", "bfloat16", "bool", "string",
                  "float8_e4m3fn", "float8_e5m2", "complex64", "complex128")
_PYTHON_TYPES = {bool: "bool", int: "int64", float: "float32", str: "string", "int": "int64",
                 complex: "complex128"}
_FLOAT8 = ("float8_e4m3fn", "float8_e5m2")
_NARROWED = {"uint64": "uint32", "complex128": "complex64"}

# Each dtype with the dtypes directly above it; "int", "float" and "complex" are the weak types
_ABOVE = {
    "bool": ["int"], "int": ["uint8", "int8", "complex64"],
    "uint8": ["int16", "uint16"], "uint16": ["int32", "uint32"], "uint32": ["int64", "uint64"],
    "uint64": ["float"], "int8": ["int16"], "int16": ["int32"], "int32": ["int64"],
    "int64": ["float"], "float": ["bfloat16", "float16"], "bfloat16": ["float32"],
    "float16": ["float32"], "float32": ["float64", "complex64"], "float64": ["complex128"],
    "complex64": ["complex128"], "complex128": [],
}


def standardize_dtype(dtype):
    """The dtype's Keras name (``'float32'``, ``'int64'``, ...) for a name, a NumPy dtype or
    type, a Python type, or any object with a ``name``; None: ``floatx()``."""
    if dtype is None:
        return _config.floatx()
    try:
        dtype = _PYTHON_TYPES.get(dtype, dtype)
    except TypeError:  # unhashable
        pass
    if hasattr(dtype, "name"):
        dtype = dtype.name
    elif hasattr(dtype, "__name__"):
        dtype = dtype.__name__
    if dtype not in ALLOWED_DTYPES:
        raise ValueError(f"Invalid dtype: {dtype}")
    return dtype


def is_float_dtype(dtype):
    """Whether ``dtype`` is a float type (``float*`` or ``bfloat16``)."""
    dtype = standardize_dtype(dtype)
    return dtype.startswith("float") or dtype.startswith("bfloat")


def is_int_dtype(dtype):
    """Whether ``dtype`` is a signed or unsigned integer type."""
    dtype = standardize_dtype(dtype)
    return dtype.startswith("int") or dtype.startswith("uint")


@functools.lru_cache(maxsize=None)
def _upper_bounds(dtype):
    """``dtype`` and every dtype above it in the lattice."""
    bounds = {dtype}
    for parent in _ABOVE[dtype]:
        bounds |= _upper_bounds(parent)
    return frozenset(bounds)


def _least_upper_bound(dtypes):
    unknown = [d for d in dtypes if d not in _ABOVE]
    if unknown:
        raise ValueError(f"dtype={unknown[0]!r} is not a valid dtype for Keras type promotion.")
    common = frozenset.intersection(*(_upper_bounds(d) for d in dtypes))
    least = [c for c in common if common <= _upper_bounds(c)]
    if len(least) != 1:
        raise ValueError(f"Input dtypes {tuple(dtypes)} have no available implicit dtype "
                         "promotion path. Try explicitly casting inputs to the desired output "
                         "type.")
    return least[0]


def _weak(dtype):
    for kind in ("float", "int", "complex"):
        if kind in dtype:
            return kind
    return dtype


def _resolve_weak(dtype):
    """A weakly typed result at ``floatx()``'s precision, by its kind: ints stay ints
    (``int32`` under float32), anything else becomes a float (a weak complex too, as in
    Keras)."""
    bits = _config.floatx()[-2:]
    if dtype == "bool":
        return dtype
    if dtype.startswith("int"):
        return f"int{bits}"
    if dtype.startswith("uint"):
        return f"uint{bits}"
    return f"float{bits}"


def result_type(*dtypes):
    """The dtype Keras gives the result of an operation on values of ``dtypes``.

    >>> result_type("int32", "float32")
    'float32'
    >>> result_type("float16", float)   # a Python float takes the array's precision
    'float16'
    """
    if not dtypes:
        return _config.floatx()
    for dtype in dtypes:
        if dtype in _FLOAT8:
            raise ValueError("There is no implicit conversions from float8 dtypes to others. "
                             f"You must cast it internally. Received: {dtypes}")
    weak = [d is int or d is float for d in dtypes]
    names = [standardize_dtype(_config.floatx() if d is None else d) for d in dtypes]
    if len(names) == 1:
        out, out_weak = names[0], weak[0]
    elif len(set(names)) == 1 and not all(weak):
        out, out_weak = names[0], False
    elif all(weak):
        out, out_weak = _least_upper_bound(sorted(set(names))), True
    else:
        out = _least_upper_bound(sorted({_weak(n) if w else n for n, w in zip(names, weak)}))
        out_weak = out in ("int", "float", "complex")
    if out_weak:
        out = _resolve_weak(out)
    return _NARROWED.get(out, out)
