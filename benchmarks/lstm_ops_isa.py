"""Milliseconds of rnncore.ops.lstm_forward and lstm_backward per ISA variant: LSTM(256) on
128 float32 features, batch 64, 100 steps (one layer of the issue-13 2xLSTM(256) model).

A process imports one variant, so each variant runs in subprocesses of its own
(``RNNCORE_ISA``), started in alternation, round after round, with OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE removed from their environment; the table gives the median over rounds of
each round's best of a few calls, wall time and CPU time::

    python benchmarks/lstm_ops_isa.py --rounds 6 --isas avx2,avx512
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, sys, time
import numpy as np
import rnncore._kernels as K
from rnncore import ops
B, T, D, H, calls, threads = (int(v) for v in sys.argv[1:7])
threads = threads if threads > 0 else None  # None: rnncore's default
rng = np.random.default_rng(0)
x = rng.standard_normal((B, T, D)).astype(np.float32)
W = (rng.standard_normal((D, 4 * H)) / np.sqrt(D)).astype(np.float32)
U = (rng.standard_normal((H, 4 * H)) / np.sqrt(H)).astype(np.float32)
b = np.zeros(4 * H, np.float32)
dy = rng.standard_normal((B, T, H)).astype(np.float32)
got = {"forward": [], "backward": [], "forward_cpu": [], "backward_cpu": []}
for i in range(calls + 1):  # the first call warms caches and allocations, untimed
    t0, c0 = time.perf_counter(), time.process_time()
    y, _, cache = ops.lstm_forward(x, W, U, b, return_sequences=True, n_threads=threads)
    t1, c1 = time.perf_counter(), time.process_time()
    ops.lstm_backward(cache, dy)
    t2, c2 = time.perf_counter(), time.process_time()
    if i:
        for key, v in (("forward", t1 - t0), ("backward", t2 - t1),
                       ("forward_cpu", c1 - c0), ("backward_cpu", c2 - c1)):
            got[key].append(v)
print(json.dumps(dict({key: min(v) for key, v in got.items()}, isa=K.ISA)))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="0: rnncore's default")
    parser.add_argument("--isas", default="avx2,avx512")
    parser.add_argument("--json", metavar="PATH", help="also write every timing here")
    args = parser.parse_args()
    isas = args.isas.split(",")
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    keys = ("forward", "backward", "forward_cpu", "backward_cpu")
    got = {isa: {key: [] for key in keys} for isa in isas}
    for r in range(args.rounds):
        for isa in isas[r % len(isas):] + isas[:r % len(isas)]:
            out = subprocess.run(
                [sys.executable, "-c", CHILD, "64", "100", "128", "256", str(args.calls),
                 str(args.threads or -1)],
                env=dict(env, RNNCORE_ISA=isa), capture_output=True, text=True, check=True)
            res = json.loads(out.stdout.strip().splitlines()[-1])
            assert res["isa"] == isa, res
            for key in keys:
                got[isa][key].append(res[key])
    print(f"ms, median of {args.rounds} rounds, each the best of {args.calls} calls; wall "
          f"(CPU time of all threads)")
    print(f"{'variant':10} {'forward':>18} {'backward':>18}")
    for isa in isas:
        med = {key: 1e3 * statistics.median(got[isa][key]) for key in keys}
        print(f"{isa:10} {med['forward']:8.1f} ({med['forward_cpu']:6.1f}) "
              f"{med['backward']:8.1f} ({med['backward_cpu']:6.1f})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(got, f, indent=1)


if __name__ == "__main__":
    main()
