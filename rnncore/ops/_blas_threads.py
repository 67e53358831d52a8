"""Keep SciPy's OpenBLAS single-threaded while rnncore's kernels run.

rnncore parallelises itself (independent batch blocks in the recurrent kernels, row or column
blocks in the big gemms, OpenMP threads in both); OpenBLAS threads on top of that would
oversubscribe the cores, and OpenBLAS's spinning threads are very slow on a busy machine
(a 6400×16·16×8 product went from 0.05 ms to 20 ms with two threads under load). The kernels
call the OpenBLAS that SciPy ships (through ``scipy.linalg.cython_blas``); NumPy's own OpenBLAS
is a different library and is left alone.
"""
import ctypes
import functools
import glob
import os

_lib = {"set": None, "get": None, "searched": False}


def _find():
    _lib["searched"] = True
    import scipy

    libs_dir = os.path.join(os.path.dirname(os.path.dirname(scipy.__file__)), "scipy.libs")
    for path in glob.glob(os.path.join(libs_dir, "libscipy_openblas*.so*")):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas_", "openblas_"):
            setter = getattr(lib, prefix + "set_num_threads", None)
            getter = getattr(lib, prefix + "get_num_threads", None)
            if setter is not None and getter is not None:
                setter.argtypes, getter.restype = [ctypes.c_int], ctypes.c_int
                _lib["set"], _lib["get"] = setter, getter
                return


def single_threaded_blas(fn):
    """Decorator: run ``fn`` with SciPy's OpenBLAS at one thread, then restore its setting."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not _lib["searched"]:
            _find()
        setter, getter = _lib["set"], _lib["get"]
        if setter is None:
            return fn(*args, **kwargs)
        previous = getter()
        if previous == 1:
            return fn(*args, **kwargs)
        setter(1)
        try:
            return fn(*args, **kwargs)
        finally:
            setter(previous)

    return wrapper
