"""Build the Cython kernels, once per vector ISA, for a choice made at run time.

A wheel must run on any CPU of its platform, so nothing here uses -march=native. Instead the
kernels of rnncore/_kernels/ are compiled several times from the same sources, each time as a
subpackage of their own:

    rnncore/_kernels/_isa_baseline/   plain x86-64 (SSE2); on other platforms the compiler default
    rnncore/_kernels/_isa_avx2/       x86-64-v3: AVX2, FMA, BMI1/2, F16C, ... (x86 only)
    rnncore/_kernels/_isa_avx512/     x86-64-v4: v3 + AVX-512 F/BW/CD/DQ/VL (x86 only)

and rnncore/_kernels/__init__.py imports the widest one this CPU runs (rnncore/_kernels/_cpu.pyx,
compiled for the baseline only, reads CPUID). Each variant is a package of its own so that the
kernels' cimports of one another (`from ._blas cimport gemm`) resolve inside the variant.
The variant folders are generated here, copies of rnncore/_kernels/*.pyx|pxd|h (git-ignored;
never edit them): a copy is rewritten only when its source changed, so Cython recompiles only
what changed.

In the AVX-512 variant the small-product loops of _gemm.h (rnncore's own gemm micro-kernels)
are hand-written for 16-float vectors and 32 registers, with masked tails (__AVX512F__ selects
them); elsewhere it has the compiler's AVX-512 (16-float vectors, masked loop tails), which
took 3-4% off the GRU(8) and LSTM(8) kernels' CPU time against the AVX2 build on the
development machine (AMD EPYC, Zen 4; benchmarks/README.md), for a third more build time.
RNNCORE_ISAS=baseline,avx2 leaves it out.

Environment:
  RNNCORE_ISAS=baseline,avx2   the variants to build (default: all three on x86, else baseline)
  RNNCORE_DEBUG=1              Cython's bounds/wraparound checks on, symbols kept (no -s)
  RNNCORE_OPENMP=0             build without OpenMP (the batch blocks then run one by one)
Compilation runs on all cores (build_ext --parallel, default os.cpu_count()).
"""
import os
import platform
import shutil
import subprocess
import sys
import tempfile

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.modified import newer_group

DEBUG = os.environ.get("RNNCORE_DEBUG", "0") == "1"
KERNELS = ["_blas", "_rows", "_losses", "_recurrence"]
SRC = os.path.join("rnncore", "_kernels")
X86 = platform.machine().lower() in ("x86_64", "amd64")  # 64-bit: 32-bit x86 gets the baseline
# Each variant's flags, the first the compiler accepts: the -march levels need GCC 11 / clang 12,
# the explicit lists say the same to older compilers; the baseline falls back to the default.
_V3 = ["-mavx", "-mavx2", "-mfma", "-mbmi", "-mbmi2", "-mf16c", "-mlzcnt", "-mmovbe",
       "-msse4.2", "-mpopcnt"]
ISA_FLAGS = {
    "baseline": [["-march=x86-64", "-mtune=generic"], []] if X86 else [[]],
    "avx2": [["-march=x86-64-v3"], _V3],
    "avx512": [["-march=x86-64-v4"],
               _V3 + ["-mavx512f", "-mavx512bw", "-mavx512cd", "-mavx512dq", "-mavx512vl"]],
}
DEFAULT_ISAS = "baseline,avx2,avx512" if X86 else "baseline"


def _isas():
    names = os.environ.get("RNNCORE_ISAS", DEFAULT_ISAS).split(",")
    wanted = [s.strip() for s in names if s.strip()]
    for isa in wanted:
        if isa not in ISA_FLAGS:
            sys.exit(f"RNNCORE_ISAS: unknown variant {isa!r}; expected some of {list(ISA_FLAGS)}")
        if isa != "baseline" and not X86:
            sys.exit(f"RNNCORE_ISAS: {isa!r} is an x86 variant; this is {platform.machine()}")
    if "baseline" not in wanted:
        sys.exit("RNNCORE_ISAS must include 'baseline': it is the variant every CPU runs")
    return wanted


def _compiler_accepts(compiler, flags, source="int main(void) { return 0; }\n"):
    """True when `compiler` compiles and links `source` with `flags`."""
    tmp = tempfile.mkdtemp()
    try:
        path = os.path.join(tmp, "probe.c")
        with open(path, "w") as f:
            f.write(source)
        cmd = [compiler, path, "-o", os.path.join(tmp, "probe"), *flags]
        return subprocess.run(cmd, capture_output=True).returncode == 0
    except OSError:
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_if_changed(path, data):
    """Write bytes `data` to `path` unless it holds them already (its mtime then stays, and so
    Cython's and setuptools' up-to-date checks see nothing new)."""
    try:
        with open(path, "rb") as f:
            if f.read() == data:
                return
    except OSError:
        pass
    with open(path, "wb") as f:
        f.write(data)


def _generate_variant(isa):
    """rnncore/_kernels/_isa_<isa>/: copies of the kernel sources and an __init__.py."""
    dest = os.path.join(SRC, "_isa_" + isa)
    os.makedirs(dest, exist_ok=True)
    sources = [n for n in os.listdir(SRC)
               if n.endswith((".pxd", ".h")) or n[:-4] in KERNELS and n.endswith(".pyx")]
    for name in sources:
        with open(os.path.join(SRC, name), "rb") as f:
            _write_if_changed(os.path.join(dest, name), f.read())
    for name in os.listdir(dest):  # a source deleted upstream goes here too
        if name.endswith((".pyx", ".pxd", ".h")) and name not in sources:
            os.remove(os.path.join(dest, name))
    _write_if_changed(os.path.join(dest, "__init__.py"), (
        f'"""rnncore\'s kernels built for {isa!r}: generated by setup.py from '
        f'rnncore/_kernels/; do not edit."""\n').encode())


class BuildExt(build_ext):
    def finalize_options(self):
        super().finalize_options()
        if not self.parallel:
            self.parallel = os.cpu_count() or 1

    def build_extensions(self):
        cc = self.compiler.compiler_so[0] if hasattr(self.compiler, "compiler_so") else "cc"
        common = ["-O3", "-fno-math-errno", "-fno-trapping-math"]
        link = []
        if not DEBUG and _compiler_accepts(cc, ["-g0", "-s"]):
            common.append("-g0")  # no debug info: faster to compile, and stripped below
            link.append("-s")
        openmp = (os.environ.get("RNNCORE_OPENMP", "1") == "1" and _compiler_accepts(
            cc, ["-fopenmp"],
            "#include <omp.h>\nint main(void) { return omp_get_max_threads() < 1; }\n"))
        if openmp:
            common.append("-fopenmp")
            link.append("-fopenmp")
        isa_flags = {}
        for isa in {ext.rnncore_isa for ext in self.extensions}:
            isa_flags[isa] = next((f for f in ISA_FLAGS[isa] if _compiler_accepts(cc, f)), None)
            if isa_flags[isa] is None:
                raise RuntimeError(f"rnncore: {cc} accepts none of the flags of the {isa!r} "
                                   f"variant ({ISA_FLAGS[isa]}); leave it out of RNNCORE_ISAS")
            print(f"rnncore: {isa}: {' '.join(common + isa_flags[isa])} "
                  f"(OpenMP {'on' if openmp else 'off'})", file=sys.stderr)
        for ext in self.extensions:
            ext.extra_compile_args = common + isa_flags[ext.rnncore_isa] + ext.extra_compile_args
            ext.extra_link_args = link + ext.extra_link_args
        super().build_extensions()

    def build_extension(self, ext):
        # pip's editable install builds into a new temporary folder each time, where setuptools'
        # up-to-date check never finds the last build: it recompiled every kernel of every
        # variant on each `pip install -e .`. The last build is in the source tree: reuse it
        # while it is newer than the module's C file (which Cython rewrote if a .pyx/.pxd/.h
        # changed). Changing only flags or RNNCORE_* settings needs `make clean` first.
        if self.editable_mode and not self.force:
            inplace, regular = self._get_inplace_equivalent(
                self.get_finalized_command("build_py"), ext)
            if os.path.exists(inplace) and not newer_group(
                    list(ext.sources) + list(ext.depends or []), inplace, "newer"):
                os.makedirs(os.path.dirname(regular), exist_ok=True)
                shutil.copy2(inplace, regular)
                return
        super().build_extension(ext)


def _extension(module, pyx, isa):
    ext = Extension(
        module, [pyx],
        include_dirs=[numpy.get_include(), SRC],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        # _rows and _losses round each operation on its own, as TensorFlow and NumPy do
        # (_rows to TensorFlow's bits): no fused multiply-adds there
        extra_compile_args=(["-ffp-contract=off"]
                            if module.rsplit(".", 1)[1] in ("_rows", "_losses") else []),
    )
    ext.rnncore_isa = isa
    return ext


def extensions():
    here = os.path.dirname(os.path.abspath(__file__))
    os.chdir(here)
    isas = _isas()
    for stale in set(ISA_FLAGS) - set(isas):  # a variant built before and not now
        shutil.rmtree(os.path.join(SRC, "_isa_" + stale), ignore_errors=True)
    # the CPU probe the dispatcher runs before it knows what this CPU runs: baseline only
    exts = [_extension("rnncore._kernels._cpu", os.path.join(SRC, "_cpu.pyx"), "baseline")]
    for isa in isas:
        _generate_variant(isa)
        for name in KERNELS:
            pyx = os.path.join(SRC, "_isa_" + isa, name + ".pyx")
            if os.path.exists(pyx):
                exts.append(_extension(f"rnncore._kernels._isa_{isa}.{name}", pyx, isa))
    directives = {
        "language_level": 3,
        "boundscheck": DEBUG,
        "wraparound": DEBUG,
        "initializedcheck": DEBUG,
        "cdivision": True,
        "embedsignature": True,
    }
    isa_of = {ext.name: ext.rnncore_isa for ext in exts}
    built = cythonize(exts, compiler_directives=directives, nthreads=os.cpu_count() or 1)
    for ext in built:  # cythonize may hand back new Extension objects
        ext.rnncore_isa = isa_of[ext.name]
    return built


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
