"""Build the Cython kernels.

Optimisation is on (-O3, and -march=native unless RNNCORE_NATIVE=0 since the extension is
built on the machine that runs it); OpenMP is used where the compiler has it and left out
otherwise (the kernels then run their batch blocks one after another).
RNNCORE_DEBUG=1 turns Cython's bounds and wraparound checks back on.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

DEBUG = os.environ.get("RNNCORE_DEBUG", "0") == "1"
NATIVE = os.environ.get("RNNCORE_NATIVE", "1") == "1"
KERNELS = ["_blas", "_rows", "_losses", "_simple_rnn", "_lstm", "_gru"]


def _compiler_accepts(compiler, flags):
    """True when `compiler` compiles and links a small OpenMP-using C file with `flags`."""
    source = "#include <omp.h>\nint main(void) { return omp_get_max_threads() < 1; }\n"
    if "-fopenmp" not in flags:
        source = "int main(void) { return 0; }\n"
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


class BuildExt(build_ext):
    def build_extensions(self):
        cc = self.compiler.compiler_so[0] if hasattr(self.compiler, "compiler_so") else "cc"
        compile_args = ["-O3", "-fno-math-errno", "-fno-trapping-math"]
        link_args = []
        if NATIVE and _compiler_accepts(cc, ["-march=native"]):
            compile_args.append("-march=native")
        openmp = os.environ.get("RNNCORE_OPENMP", "1") == "1" and _compiler_accepts(cc, ["-fopenmp"])
        if openmp:
            compile_args.append("-fopenmp")
            link_args.append("-fopenmp")
        print(f"rnncore: compile flags {' '.join(compile_args)} (OpenMP {'on' if openmp else 'off'})",
              file=sys.stderr)
        for ext in self.extensions:
            ext.extra_compile_args = compile_args + ext.extra_compile_args
            ext.extra_link_args = link_args + ext.extra_link_args
        super().build_extensions()


def extensions():
    here = os.path.dirname(os.path.abspath(__file__))
    exts = []
    for name in KERNELS:
        pyx = os.path.join("rnncore", "_kernels", name + ".pyx")
        if not os.path.exists(os.path.join(here, pyx)):
            continue
        exts.append(Extension(
            "rnncore._kernels." + name,
            [pyx],
            include_dirs=[numpy.get_include(), os.path.join("rnncore", "_kernels")],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            # _rows and _losses round each operation on its own, as TensorFlow and NumPy do
            # (_rows to TensorFlow's bits): no fused multiply-adds there
            extra_compile_args=["-ffp-contract=off"] if name in ("_rows", "_losses") else [],
        ))
    directives = {
        "language_level": 3,
        "boundscheck": DEBUG,
        "wraparound": DEBUG,
        "initializedcheck": DEBUG,
        "cdivision": True,
        "embedsignature": True,
    }
    return cythonize(exts, compiler_directives=directives)


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
