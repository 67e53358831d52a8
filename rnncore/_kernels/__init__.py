"""Compiled kernels (Cython), built once per vector ISA and chosen at import. Private: use
:mod:`rnncore.recurrent`.

setup.py compiles the kernels of this folder into one subpackage per variant:
``_isa_baseline`` (plain x86-64, or the platform's default elsewhere), ``_isa_avx2``
(x86-64-v3: AVX2 and FMA, the hand-written 8-float paths) and, when built, ``_isa_avx512``
(x86-64-v4: the same, with 16-float gemm micro-kernels in ``_gemm.h``). This package imports
the widest variant that was built and that the CPU runs, and makes its modules this package's
own: ``rnncore._kernels._lstm`` *is*
``rnncore._kernels._isa_avx2._lstm`` on an AVX2 machine, so callers import the kernels by the
same names on every machine.

The environment variable ``RNNCORE_ISA`` (``baseline``, ``avx2`` or ``avx512``) asks for one
variant instead, to run a narrower one on a wide machine; asking for one that this CPU cannot
run, or that was not built, raises RuntimeError (a setting to fix, not a missing build).

Attributes
----------
ISA : str
    The variant in use.
AVAILABLE : tuple of str
    The variants built that this CPU runs, narrowest first.
"""
import importlib
import importlib.util
import os
import sys

from ._cpu import x86_level

MODULES = ("_blas", "_rows", "_losses", "_recurrence")
# each variant, narrowest first, and the x86-64 level it needs (rnncore._kernels._cpu)
VARIANTS = {"baseline": 0, "avx2": 3, "avx512": 4}


def _built(isa):
    try:
        return importlib.util.find_spec(f"{__name__}._isa_{isa}._blas") is not None
    except ImportError:  # no such variant package
        return False


def _choose():
    level = x86_level()
    runs = [isa for isa, need in VARIANTS.items() if need <= level]
    built = [isa for isa in runs if _built(isa)]
    wanted = os.environ.get("RNNCORE_ISA", "").strip().lower()
    if not wanted:
        if not built:
            raise ImportError(f"no build of rnncore's kernels for this CPU (x86-64 level "
                              f"{level}) was found in {os.path.dirname(__file__)}")
        return built[-1], tuple(built)
    if wanted not in VARIANTS:
        raise RuntimeError(f"RNNCORE_ISA={wanted!r}: expected one of {list(VARIANTS)}")
    if wanted not in runs:
        raise RuntimeError(f"RNNCORE_ISA={wanted!r}: this CPU does not run it (x86-64 level "
                          f"{level}; it runs {runs})")
    if wanted not in built:
        raise RuntimeError(f"RNNCORE_ISA={wanted!r}: this build of rnncore has no such variant "
                          f"(it has {built}; setup.py builds the ones RNNCORE_ISAS names)")
    return wanted, tuple(built)


ISA, AVAILABLE = _choose()
for _name in MODULES:
    _module = importlib.import_module(f"{__name__}._isa_{ISA}.{_name}")
    sys.modules[f"{__name__}.{_name}"] = _module
    globals()[_name] = _module
del _name, _module
