"""What the numbers were measured on: the child processes' environment, CPU, BLAS, load.

``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` make OpenBLAS pick an older, slower kernel on
the development machine (sgemm about 250 GFLOP/s with them, 450 without). They are read
when OpenBLAS loads, so the parent removes them from the environment of the child processes
that do the measuring and reports that it did.
"""
import os
import platform
import sys

#: Environment variables removed from the measuring processes.
UNSET_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


#: Thread-count variables every engine's libraries read (OpenMP, OpenBLAS, MKL, TensorFlow).
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "TF_NUM_INTRAOP_THREADS")


def child_env(threads=None):
    """Environment for a measuring child: the BLAS overrides removed, rnncore importable.

    ``threads``: pin every library's thread count (None: each engine's default).
    Returns ``(env, removed)`` where ``removed`` maps each removed variable to its value.
    """
    env = dict(os.environ)
    if threads is not None:
        env.update({name: str(threads) for name in THREAD_VARS})
    removed = {name: env.pop(name) for name in UNSET_VARS if name in env}
    # The child must import this very rnncore, also when it runs from a source tree.
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env["PYTHONUNBUFFERED"] = "1"
    return env, removed


def env_note(removed):
    """One line saying what happened to the BLAS environment variables."""
    names = " and ".join(UNSET_VARS)
    if removed:
        was = ", ".join(f"{k}={v}" for k, v in removed.items())
        return (f"Measuring processes run with {names} unset (they were set here: {was}; "
                "they make OpenBLAS pick a slower kernel).")
    return f"Measuring processes run with {names} unset (neither was set here)."


def _cpuinfo_field(name):
    """The first ``name : value`` line of /proc/cpuinfo, or None (not Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith(name):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_model():
    return _cpuinfo_field("model name") or platform.processor() or platform.machine()


#: CPU flags worth naming beside the ISA: what the vector kernels (ours, oneDNN's, XLA's) use.
_VECTOR_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                 "avx512_bf16", "amx_tile")


def vector_isa():
    """``(name, flags)``: the widest vector ISA this CPU and OS run, and its notable flags.

    The name comes from CPUID (:func:`rnncore._kernels._cpu.x86_level`, which also checks that
    the OS enables the wide registers); the flags from /proc/cpuinfo, where there is one.
    """
    from .._kernels._cpu import x86_level

    level = x86_level()
    name = {4: "AVX-512", 3: "AVX2"}.get(level, f"x86-64-v{level}" if level else "not x86")
    flags = (_cpuinfo_field("flags") or "").split()
    return name, [f for f in _VECTOR_FLAGS if f in flags]


def cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def load_average():
    """1-minute load average, or None where the OS does not say."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def machine():
    """The parent's view: CPU, its vector ISA, rnncore's kernel variant, cores, Python, load.

    The measuring children use the same kernel variant: they inherit ``RNNCORE_ISA`` and run
    on the same CPU.
    """
    from .._kernels import AVAILABLE, ISA

    isa, flags = vector_isa()
    return {"cpu": cpu_model(), "isa": isa, "cpu_flags": flags, "kernels": ISA,
            "kernels_available": list(AVAILABLE), "cpus": cpu_count(),
            "platform": platform.platform(), "python": sys.version.split()[0],
            "load_average_1min": load_average()}


def describe_machine(m):
    """The header line: ``CPU: <model>, 2 CPUs; vector ISA AVX-512 (...); rnncore kernels ...``."""
    flags = f" ({' '.join(m['cpu_flags'])})" if m["cpu_flags"] else ""
    return (f"CPU: {m['cpu']}, {m['cpus']} CPUs; vector ISA {m['isa']}{flags}; rnncore "
            f"kernels: the {m['kernels']} variant (built for this CPU: "
            f"{', '.join(m['kernels_available'])})")


def blas_pools():
    """The thread pools threadpoolctl sees in this process (BLAS kernel and threads)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    keys = ("internal_api", "prefix", "version", "architecture", "num_threads",
            "threading_layer", "filepath")
    return [{k: pool.get(k) for k in keys if pool.get(k) is not None}
            for pool in threadpool_info()]


def _owner(path):
    """Which package ships a library: NumPy's and SciPy's OpenBLAS share a prefix."""
    for folder, owner in (("numpy.libs", "NumPy"), ("scipy.libs", "SciPy"), ("torch", "PyTorch"),
                          ("tensorflow", "TensorFlow"), ("scikit_learn", "scikit-learn")):
        if folder in (path or ""):
            return f"{owner}'s"
    return "system" if (path or "").startswith(("/usr", "/lib")) else os.path.basename(path or "?")


def describe_pools(pools):
    """``SciPy's openblas 0.3.30 Haswell kernel x2 threads, ...`` or a reason."""
    if pools is None:
        return "threadpoolctl not installed"
    parts = []
    for p in sorted(pools, key=lambda p: (p.get("internal_api", ""), p.get("filepath", ""))):
        arch = f" {p['architecture']} kernel" if p.get("architecture") else ""
        version = f" {p['version']}" if p.get("version") else ""
        parts.append(f"{_owner(p.get('filepath'))} {p.get('internal_api')}{version}{arch} "
                     f"x{p.get('num_threads')} threads")
    return "; ".join(parts) or "no BLAS/OpenMP pools loaded"
