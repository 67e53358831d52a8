"""Data-parallel scaling on this machine: samples/s of seed 001's model trained by one
single-threaded process, by one process with two threads, and by 2 single-threaded processes
under MPI (rnncore.distributed); plus an MPI ping-pong (latency, bandwidth) for the scaling
model in benchmarks/README.md.

    python benchmarks/distributed_scaling.py                 # the table, 3 rounds
    python benchmarks/distributed_scaling.py --rounds 1 --samples 6400   # quick look
    python benchmarks/distributed_scaling.py --model lstm256x2 --rounds 2

The model (`--model`): lstm8 = seed 001's Embedding(500, 16) -> LSTM(8) -> Dense(1, sigmoid),
RMSprop, on `--samples` random ids of length 100 (default 25,000, seed 001's data shape);
lstm32 = the same with LSTM(32); lstm256x2 = two LSTM(256) on 128 random features, Adam.
Batch 64 per process, `--epochs` timed epochs (a few seconds) after a warm-up of a few
batches; the one-process run alternates between the two cores from round to round. The configurations run in
alternation, round after round, so a busy minute on a shared machine slows all of them
alike; the table gives each one's median and every round's value, with the load average. OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE are removed from the runs' environment (see benchmarks/README.md). Results
also go to bench-results/distributed_scaling_<model>.json.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()


# name: (what it is, default samples, default epochs); T = 100 steps everywhere. The epochs
# make each timed run last a few seconds: this machine's speed drifts by 10-20% over seconds
# (the step times of one pinned process correlate 0.75 from one step to the next), and a run
# of under a second measures the minute more than the configuration
MODELS = {
    "lstm8": ("seed 001's Embedding(500, 16) -> LSTM(8) -> Dense(1), RMSprop", 25000, 8),
    "lstm32": ("Embedding(500, 16) -> LSTM(32) -> Dense(1), RMSprop", 12800, 4),
    "lstm256x2": ("LSTM(256) -> LSTM(256) -> Dense(1) on 128 features, Adam", 1280, 1),
}


def _model_and_data(rnncore, name, samples):
    """(model, optimizer, x, y) of a MODELS entry, the data drawn with a fixed seed."""
    rng = np.random.default_rng(1)
    y = (rng.random(samples) < 0.5).astype(np.float32)
    dense = rnncore.layers.Dense(1, activation="sigmoid")
    if name == "lstm256x2":
        x = rng.normal(size=(samples, 100, 128)).astype(np.float32)
        stack = [rnncore.layers.Input((100, 128)),
                 rnncore.layers.LSTM(256, return_sequences=True), rnncore.layers.LSTM(256)]
        opt = rnncore.optimizers.Adam
    else:
        x = rng.integers(0, 500, (samples, 100)).astype(np.int32)
        stack = [rnncore.layers.Input((100,), dtype="int32"), rnncore.layers.Embedding(500, 16),
                 rnncore.layers.LSTM(8 if name == "lstm8" else 32)]
        opt = rnncore.optimizers.RMSprop
    rnncore.utils.set_random_seed(1)
    return rnncore.Sequential(stack + [dense]), opt, x, y


def worker(args):
    """One run (in each rank when started by mpiexec): prints a JSON line on rank 0."""
    import rnncore

    rnncore.set_num_threads(args.threads)
    distributed = args.processes > 1
    if distributed:
        import rnncore.distributed as hvd

        hvd.init()
        rank, size = hvd.rank(), hvd.size()
    else:
        rank, size = 0, 1
    if args.cpu is not None:
        _pin(hvd.local_rank() if distributed else args.cpu)
    model, optimizer, x, y = _model_and_data(rnncore, args.model, args.samples)
    n = args.samples // size * size
    x, y = x[rank:n:size], y[rank:n:size]
    opt = optimizer(0.001 * size)
    callbacks = []
    if distributed:
        opt = hvd.DistributedOptimizer(opt, sparse_as_dense=args.sparse_as_dense)
        callbacks = [hvd.callbacks.BroadcastGlobalVariablesCallback(0)]
    model.compile(optimizer=opt, loss="binary_crossentropy", metrics=["acc"])
    warm = 4 * args.batch_size
    model.fit(x[:warm], y[:warm], batch_size=args.batch_size, epochs=1, verbose=0,
              callbacks=callbacks)
    if distributed:
        hvd.barrier()
    start = time.perf_counter()
    model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, verbose=0)
    if distributed:
        hvd.barrier()
    seconds = time.perf_counter() - start
    if rank == 0:
        samples = n * args.epochs
        print(json.dumps({"processes": size, "threads": args.threads, "samples": samples,
                          "seconds": seconds, "samples_per_s": samples / seconds}), flush=True)


def _pin(cpu):
    """Keep this process on one core (what `mpiexec -bind-to core` does for MPI ranks): a
    single-threaded process that the scheduler moves between the two cores loses its caches,
    and two ranks that wait for each other every step lose the most (a 64 KB allreduce took
    52 us with the ranks unpinned, 24 us pinned, on the 2-core machine of benchmarks/README)."""
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cores[cpu % len(cores)]})


def pingpong(args):
    """Latency of a small Allreduce and of a Send/Recv round trip, bandwidth of large ones."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    if args.cpu is not None:
        _pin(rank)
    out = {}
    for nbytes in (8, 4096, 65536, 1 << 20, 8 << 20):
        buf = np.zeros(nbytes, np.uint8)
        repeats = max(5, min(2000, (64 << 20) // max(nbytes, 1) // 8))
        for kind in ("pingpong", "allreduce"):
            comm.Barrier()
            start = time.perf_counter()
            for _ in range(repeats):
                if kind == "pingpong":
                    if rank == 0:
                        comm.Send(buf, dest=1)
                        comm.Recv(buf, source=1)
                    elif rank == 1:
                        comm.Recv(buf, source=0)
                        comm.Send(buf, dest=0)
                else:
                    comm.Allreduce(MPI.IN_PLACE, buf.view(np.float32) if nbytes >= 4 else
                                   buf, op=MPI.SUM)
            each = (time.perf_counter() - start) / repeats
            # a ping-pong moves the message twice
            out[f"{kind}_{nbytes}"] = each / 2 if kind == "pingpong" else each
    if rank == 0:
        print(json.dumps(out), flush=True)


# seed 001's model: what one rank sends per step with per-rank batch b (float32, T = 100)
DENSE_FLOATS = 16 * 32 + 8 * 32 + 32 + 8 + 1          # LSTM kernel, recurrent, bias; Dense
TABLE_FLOATS = 500 * 16                                 # the Embedding table
SLICE_BYTES = 8 + 16 * 4                                # one gathered (id, row)


def scaling_model(rate, alpha, bandwidth, slice_update=8e-9, ranks=(2, 8, 64, 512),
                  target=0.8):
    """A MODEL, not a measurement: the efficiency of `ranks` processes training seed 001's
    model (speed-up / ranks), from one process's samples/s (`rate`), a message latency
    `alpha` (s), a bandwidth (bytes/s) and the optimizer's time per Embedding slice
    (`slice_update`, s), with no overlap of compute and messages. Per step, batch b per rank:

    compute         t_c = b / rate
    allreduce, M B  t_ar = 2 log2(N) alpha + 2 (N-1)/N M / bandwidth   (MPICH's long-message
                    reduce-scatter + allgather; short messages pay the same latency term)
    allgatherv      t_ag = log2(N) alpha + (N-1) S / bandwidth         (S bytes per rank)
    exact           t_ar(dense) + t_ag(b x 100 slices) + (N-1) b 100 slice_update: every
                    rank gathers, and its optimizer updates, the slices of all ranks
    sparse_as_dense t_ar(dense + table), no extra optimizer work
    two tables      t_ar(dense + 2 tables): per row the sum of the slices and the sum of
                    their squares, all that RMSprop, Adam, Adagrad and SGD read of them (exact; what
                    DistributedOptimizer sends for them when the two tables are no bigger
                    than the gathered slices)
    efficiency      t_c / (t_c + t_comm)

    Returns, per rank count, each exchange's efficiency at batch 64 and the smallest power
    of two per-rank batch reaching `target` (None: none up to 65,536)."""
    import math

    def allreduce(n, floats):
        return 2 * math.log2(n) * alpha + 2 * (n - 1) / n * floats * 4 / bandwidth

    exchanges = {
        "exact": lambda n, b: (allreduce(n, DENSE_FLOATS) + math.log2(n) * alpha
                               + (n - 1) * b * 100 * (SLICE_BYTES / bandwidth + slice_update)),
        "sparse_as_dense": lambda n, b: allreduce(n, DENSE_FLOATS + TABLE_FLOATS),
        "two_tables": lambda n, b: allreduce(n, DENSE_FLOATS + 2 * TABLE_FLOATS),
    }
    rows = []
    for n in ranks:
        row = {"ranks": n}
        for name, comm in exchanges.items():
            def efficiency(b):
                return (b / rate) / (b / rate + comm(n, b))

            row[name] = next((b for b in (2 ** k for k in range(17))
                              if efficiency(b) >= target), None)
            row[name + "_at_64"] = efficiency(64)
        rows.append(row)
    return rows


def _print_model(rate, alpha, bandwidth, label):
    print(f"\nMODEL, not a measurement ({label}: latency {alpha * 1e6:.1f} us, bandwidth "
          f"{bandwidth / 1e9:.2f} GB/s; one process {rate:,.0f} samples/s). Efficiency at "
          f"batch 64 per rank; in brackets the smallest batch per rank reaching 80%:")
    print("| ranks | exact: gathered slices | sparse_as_dense | exact: two tables |")
    print("|---|---|---|---|")
    for row in scaling_model(rate, alpha, bandwidth):
        cells = [f"{row[k + '_at_64']:.0%} ({'none' if row[k] is None else row[k]})"
                 for k in ("exact", "sparse_as_dense", "two_tables")]
        print(f"| {row['ranks']} | " + " | ".join(cells) + " |")


def _mpiexec():
    here = Path(sys.executable).with_name("mpiexec")
    return str(here) if here.exists() else "mpiexec"


def _env():
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    return env


def _run(command):
    if command[0] == "together":
        # independent processes at once, each on its share: what the machine gives two
        # processes that never wait for each other (no MPI), the ceiling for data parallelism
        procs = [subprocess.Popen(c, stdout=subprocess.PIPE, text=True, env=_env())
                 for c in command[1:]]
        results = [_result(p.communicate(timeout=3600)[0]) for p in procs]
        seconds = max(r["seconds"] for r in results)
        samples = sum(r["samples"] for r in results)
        return {"samples_per_s": samples / seconds}
    result = subprocess.run(command, capture_output=True, text=True, env=_env(), timeout=3600)
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return _result(result.stdout)


def _result(stdout):
    return json.loads([line for line in stdout.splitlines() if line.startswith("{")][-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="lstm8")
    parser.add_argument("--samples", type=int, default=None,
                        help="default: 25,000 for lstm8 (seed 001), fewer for the others")
    parser.add_argument("--epochs", type=int, default=None,
                        help="timed epochs per run: default 8 for lstm8, 4 for lstm32, 1 for "
                             "lstm256x2 (a few seconds each)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default="bench-results")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pingpong", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--processes", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--sparse-as-dense", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-pin", action="store_true",
                        help="let the scheduler move the single-threaded processes between "
                             "cores (by default each is kept on its own core)")
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    if args.pingpong:
        return pingpong(args)
    args.samples = args.samples or MODELS[args.model][1]
    args.epochs = args.epochs or MODELS[args.model][2]

    python = [sys.executable, str(HERE), "--worker", "--model", args.model,
              "--batch-size", str(args.batch_size), "--epochs", str(args.epochs), "--samples"]
    half = python + [str(args.samples // 2), "--processes", "1", "--threads", "1"]
    python = python + [str(args.samples)]
    pin = (lambda cpu: []) if args.no_pin else (lambda cpu: ["--cpu", str(cpu)])
    configs = {
        # on core 0 in even rounds, core 1 in odd ones: the two cores need not run alike
        "1 process, 1 thread": lambda r: python + ["--processes", "1", "--threads", "1"]
        + pin(r),
        "1 process, 2 threads": python + ["--processes", "1", "--threads", "2"],
        "2 processes, 1 thread each": [_mpiexec(), "-n", "2"] + python
        + ["--processes", "2", "--threads", "1"] + pin(0),
        # the Embedding's gradient summed into its 500 x 16 table and reduced with the dense
        # ones: a 32 KB message instead of 64 x 100 gathered rows (460 KB per rank), but
        # RMSprop then squares row sums, not occurrences (not one process's update)
        "2 processes, sparse_as_dense": [_mpiexec(), "-n", "2"] + python
        + ["--processes", "2", "--threads", "1", "--sparse-as-dense"] + pin(0),
        "2 independent processes, no MPI": ["together", half + pin(0), half + pin(1)],
    }
    if args.model == "lstm256x2":  # no Embedding
        del configs["2 processes, sparse_as_dense"]
    loads, runs = [], {name: [] for name in configs}
    for r in range(args.rounds):
        order = list(configs)
        order = order[r % len(order):] + order[:r % len(order)]
        for name in order:
            loads.append(os.getloadavg()[0])
            command = configs[name](r) if callable(configs[name]) else configs[name]
            runs[name].append(_run(command)["samples_per_s"])
    net = _run([_mpiexec(), "-n", "2", sys.executable, str(HERE), "--pingpong"]
               + pin(0))
    base = float(np.median(runs["1 process, 1 thread"]))
    print(f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"load average during the runs {min(loads):.1f}..{max(loads):.1f}")
    print(f"{MODELS[args.model][0]}; {args.samples} samples of 100 steps, {args.epochs} "
          f"epoch(s), batch {args.batch_size} per process, {args.rounds} rounds in "
          f"alternation\n")
    print(f"| {'configuration':32} | samples/s (median) | vs 1 process | every round |")
    print(f"|{'-' * 34}|{'-' * 20}|{'-' * 14}|{'-' * 13}|")
    for name, values in runs.items():
        med = float(np.median(values))
        print(f"| {name:32} | {med:18,.0f} | {med / base:11.2f}x | "
              f"{', '.join(f'{v:,.0f}' for v in values)} |")
    print("\nMPI on this machine (2 ranks, shared memory), one way:")
    for size in (8, 4096, 65536, 1 << 20, 8 << 20):
        print(f"  {size:>8} B: ping-pong {net[f'pingpong_{size}'] * 1e6:9.1f} us, "
              f"allreduce {net[f'allreduce_{size}'] * 1e6:9.1f} us")
    if args.model != "lstm8":
        return _save(args, runs, loads, net)
    print(f"\nper step and rank: dense gradients {DENSE_FLOATS * 4:,} B in one allreduce; "
          f"gathered Embedding slices {args.batch_size * 100 * SLICE_BYTES:,} B "
          f"(batch {args.batch_size} x 100 ids x {SLICE_BYTES} B); with sparse_as_dense "
          f"{(DENSE_FLOATS + TABLE_FLOATS) * 4:,} B in one allreduce")
    alpha = net["pingpong_8"]
    bandwidth = (8 << 20) / net[f"pingpong_{8 << 20}"]  # the largest: least latency in it
    _print_model(base, alpha, bandwidth, "this machine's shared memory, ping-pong above")
    _print_model(base, 10e-6, 2.5e9, "assumed 25 Gb/s Ethernet between nodes")
    _save(args, runs, loads, net)


def _save(args, runs, loads, net):
    Path(args.out).mkdir(exist_ok=True)
    with open(Path(args.out) / f"distributed_scaling_{args.model}.json", "w") as f:
        json.dump({"model": args.model, "runs": runs, "loads": loads, "mpi": net,
                   "samples": args.samples, "epochs": args.epochs,
                   "batch_size": args.batch_size}, f, indent=1)


if __name__ == "__main__":
    main()
