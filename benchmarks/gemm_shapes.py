"""GFLOP/s of rnncore's float32 products per ISA variant, beside OpenBLAS's sgemm, on the
shapes the recurrent kernels use.

Every variant's ``_blas`` module that was built (``rnncore/_kernels/_isa_*/``) is loaded into
this one process, so the variants take turns on each shape (round after round, in rotating
order) and a busy machine slows them alike; the table gives the median of the rounds. Extra
builds of ``_blas`` (say, one saved before a change) join with ``--extra NAME=PATH``.
Single-threaded: run it with ``OPENBLAS_NUM_THREADS=1`` (sgemm's column is then one core) and
without ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE``, which make OpenBLAS pick an older kernel::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \\
        python benchmarks/gemm_shapes.py

Paths (see ``rnncore._kernels._blas.time_products``): ``packed`` is how the recurrent kernels
multiply by U at every step (U packed once per sequence, untimed), ``gemm`` the shim's
dispatch (its own loops where they take the shape, else sgemm).
"""
import argparse
import glob
import json
import importlib.machinery
import importlib.util
import os
import statistics

import numpy as np

# (label, m, n, k, trans_b, path)
SHAPES = [
    ("LSTM(256) fwd h·U, batch", 64, 1024, 256, False, "packed"),
    ("LSTM(256) fwd h·U, half batch", 32, 1024, 256, False, "packed"),
    ("GRU(256) fwd h·U, batch", 64, 768, 256, False, "packed"),
    ("GRU(256) fwd h·U, half batch", 32, 768, 256, False, "packed"),
    ("LSTM(256) bwd dz·Uᵀ", 64, 256, 1024, True, "packed"),
    # two threads split LSTM(256)'s units (unit blocks): each a gate's half of U per step
    ("LSTM(256) fwd, a gate's half", 64, 128, 256, False, "packed"),
    ("LSTM(256) bwd, half the units", 64, 128, 1024, True, "packed"),
    ("LSTM(8) step h·U", 64, 32, 8, False, "gemm"),
    ("GRU(8) step h·U", 64, 24, 8, False, "gemm"),
    ("SimpleRNN(8) step h·U", 64, 8, 8, False, "gemm"),
]


def _load(name, path):
    """A built _blas extension module from its file, under a name of its own."""
    loader = importlib.machinery.ExtensionFileLoader("_blas", path)
    spec = importlib.util.spec_from_file_location("_blas", path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--seconds", type=float, default=0.02, help="per timing")
    parser.add_argument("--extra", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--json", metavar="PATH", help="also write every timing here")
    args = parser.parse_args()
    here = os.path.join(os.path.dirname(__file__), "..", "rnncore", "_kernels")
    engines = {}
    for isa in ("avx2", "avx512"):
        found = glob.glob(os.path.join(here, f"_isa_{isa}", "_blas.*"))
        if found:
            engines[isa] = _load(isa, found[0])
    for spec in args.extra:
        name, path = spec.split("=", 1)
        engines[name] = _load(name, path)
    blas = next(iter(engines.values()))
    rng = np.random.default_rng(0)
    cols = list(engines) + ["sgemm"]
    print(f"{'shape':32} {'m':>4} {'n':>5} {'k':>5}  " + "  ".join(f"{c:>10}" for c in cols)
          + "   (GFLOP/s, median of rounds)")
    results = []
    for label, m, n, k, trans_b, path in SHAPES:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
        c = np.zeros((m, n), np.float32)
        calls = [(name, mod, path) for name, mod in engines.items()] + [("sgemm", blas, "blas")]
        once = max(blas.time_products(a, b, c, False, trans_b, 1.0, "blas", 20), 1e-8)
        repeat = max(1, int(args.seconds / once))
        times = {name: [] for name, _, _ in calls}
        for r in range(args.rounds):
            for name, mod, p in calls[r % len(calls):] + calls[:r % len(calls)]:
                times[name].append(mod.time_products(a, b, c, False, trans_b, 1.0, p, repeat))
        flop = 2.0 * m * n * k
        results.append({"shape": label, "m": m, "n": n, "k": k, "trans_b": trans_b,
                         "path": path, "seconds": times})
        print(f"{label:32} {m:4} {n:5} {k:5}  " + "  ".join(
            f"{flop / statistics.median(times[name]) / 1e9:10.1f}" for name in cols))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
