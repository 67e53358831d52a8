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
    env.setdefault("KERAS_BACKEND", "tensorflow")
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


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


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
    """The parent's view: CPU (with the vector ISA of the kernels in use), cores, Python, load."""
    from .._kernels import ISA
    return {"cpu": f"{cpu_model()}, rnncore kernels {ISA}", "cpus": cpu_count(),
            "platform": platform.platform(), "python": sys.version.split()[0],
            "load_average_1min": load_average()}


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
