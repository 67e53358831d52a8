"""Keep the OpenBLAS libraries single-threaded while rnncore's kernels run.

rnncore parallelises itself (independent batch blocks in the recurrent kernels, row or column
blocks in the big gemms, OpenMP threads in both); OpenBLAS threads on top of that would
oversubscribe the cores, and OpenBLAS's spinning threads are very slow on a busy machine
(a 6400×16·16×8 product went from 0.05 ms to 20 ms with two threads under load). The kernels
call the OpenBLAS that SciPy ships (through ``scipy.linalg.cython_blas``); the tall-skinny
weight-gradient products go to NumPy's (see ``_recurrent.gemm``). Both are held at one thread
for the duration of an ops call and restored afterwards.
"""
import ctypes
import functools
import glob
import os
import threading

_libs = {"pairs": None}


def _controls():
    """(set_num_threads, get_num_threads) of the OpenBLAS builds bundled with SciPy and NumPy."""
    if _libs["pairs"] is not None:
        return _libs["pairs"]
    import numpy
    import scipy

    pairs = []
    for package in (scipy, numpy):
        site = os.path.dirname(os.path.dirname(package.__file__))
        libs_dir = os.path.join(site, package.__name__ + ".libs")
        for path in glob.glob(os.path.join(libs_dir, "lib*openblas*.so*")):
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for prefix in ("scipy_openblas_", "openblas_"):
                for suffix in ("", "64_"):
                    setter = getattr(lib, f"{prefix}set_num_threads{suffix}", None)
                    getter = getattr(lib, f"{prefix}get_num_threads{suffix}", None)
                    if setter is not None and getter is not None:
                        setter.argtypes, getter.restype = [ctypes.c_int], ctypes.c_int
                        pairs.append((setter, getter))
                        break
                else:
                    continue
                break
    _libs["pairs"] = pairs
    return pairs


# One setting for the whole process: the first call in (of any thread) holds the libraries at
# one thread, the last one out restores what it found. Per-call save and restore let two
# overlapping calls in two threads leave the libraries at one thread for good (the second saved
# the first's 1 and restored it last).
_lock = threading.Lock()
_held = {"depth": 0, "saved": []}


def _hold():
    with _lock:
        if _held["depth"] == 0:
            saved = []
            for setter, getter in _controls():
                previous = getter()
                if previous != 1:
                    setter(1)
                    saved.append((setter, previous))
            _held["saved"] = saved
        _held["depth"] += 1


def _release():
    with _lock:
        _held["depth"] -= 1
        if _held["depth"] == 0:
            for setter, previous in _held["saved"]:
                setter(previous)
            _held["saved"] = []


def single_threaded_blas(fn):
    """Decorator: run ``fn`` with the bundled OpenBLAS libraries at one thread each; the
    settings found before the first such call come back after the last one ends (nested
    calls, and calls overlapping in several threads, share one hold)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        _hold()
        try:
            return fn(*args, **kwargs)
        finally:
            _release()

    return wrapper
