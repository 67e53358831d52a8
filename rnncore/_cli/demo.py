"""``python -m rnncore demo``: seed 001's model trained by rnncore and by its peers, Keras on
TensorFlow, Keras on JAX and PyTorch.

The model is Embedding(500, 16) -> LSTM(8) -> Dense(1, sigmoid), RMSprop, batch 64,
100 steps (seed 001 uses learning rate 1e-4 for up to 100 epochs; the demo uses 1e-3 so that
the model visibly learns in its 5 epochs). rnncore builds it and draws the initial weights;
Keras (on either backend) gets the same weights through ``set_weights(get_weights())`` and
PyTorch through the layout conversion in :mod:`._engines`. Each engine trains in its own process on the same batches in the same order,
and the demo prints a side-by-side table and writes a PNG of the curves and a JSON file.
"""
import argparse
import json
import math
import os
import statistics
import tempfile
import textwrap

import numpy as np

from . import _data, _machine, _processes, _report, _worker
from ._engines import CELLS, ENGINES, ModelSpec, missing

HELP = ("train seed 001's model (Embedding -> LSTM(8) -> Dense) with rnncore, then Keras on "
        "TensorFlow and on JAX and PyTorch from the same weights; print a side-by-side table, "
        "plot the curves")
DESCRIPTION = """\
Trains seed 001's model, Embedding(500, 16) -> LSTM(8) -> Dense(1, sigmoid) with
RMSprop(1e-3), batch 64 and 100 steps, on 20,000 synthetic IMDB-format reviews: first with
rnncore (with a progress bar), then the same model from the same initial weights with Keras
on TensorFlow, Keras on JAX and PyTorch (those installed), each in its own process, on the
same batches in the same order. Prints a side-by-side table (time per epoch, samples/s,
rnncore's speed-up over each peer and over the best, final loss and accuracy) and writes a PNG of the loss and accuracy curves and a JSON file."""

#: Defaults per data set. The reviews follow seed 001's 20,000 training / 5,000 validation
#: reviews, for 5 epochs instead of 100 (about 1.5 minutes for rnncore, Keras/TF and PyTorch
#: on 2 idle cores) and so with learning rate 1e-3 instead of the seed's 1e-4, which barely moves the
#: accuracy in 5 epochs. Digits need a larger step still.
DEFAULTS = {
    "synthetic": {"samples": 20000, "epochs": 5, "units": 8, "learning_rate": 1e-3},
    "imdb": {"samples": 20000, "epochs": 5, "units": 8, "learning_rate": 1e-3},
    "digits": {"samples": _data.DIGITS_TRAIN, "epochs": 20, "units": 32,
               "learning_rate": 3e-3},
}
BATCH_SIZE = 64
EMBED_DIM = 16


def _number(kind, accept, expected):
    """An argparse ``type``: ``kind(text)`` where ``accept`` holds, else an error that says
    what was ``expected`` and what was received."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


positive_int = _number(int, lambda v: v >= 1, "a positive integer")
non_negative_int = _number(int, lambda v: v >= 0, "a non-negative integer")
positive_float = _number(float, lambda v: 0 < v < math.inf, "a positive number")


def list_of(allowed):
    """An argparse ``type``: a comma-separated list of names in ``allowed``, duplicates
    dropped."""
    def parse(text):
        items = [t.strip() for t in text.split(",") if t.strip()]
        bad = [t for t in items if t not in allowed]
        if not items or bad:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated list of {', '.join(allowed)}; got {text!r}")
        return list(dict.fromkeys(items))

    return parse


def add_arguments(parser):
    parser.add_argument("--dataset", choices=_data.DATASETS, default="synthetic",
                        help="synthetic: generated IMDB-format reviews (default, offline); "
                             "imdb: Keras's real imdb.npz from Keras's cache; digits: "
                             "scikit-learn's digits as 8 steps x 8 features, 10 classes")
    parser.add_argument("--cell", choices=CELLS, default="lstm",
                        help="recurrent layer: SimpleRNN (rnn), LSTM or GRU (default lstm)")
    parser.add_argument("--units", type=positive_int,
                        help="units per recurrent layer (default 8; 32 for digits)")
    parser.add_argument("--layers", type=positive_int, default=1,
                        help="stacked recurrent layers (default 1)")
    parser.add_argument("--epochs", type=positive_int,
                        help="epochs (default 5; 20 for digits)")
    parser.add_argument("--samples", type=positive_int,
                        help="training samples (default 20000 reviews, as seed 001; all 1437 "
                             "digits); validation uses a quarter as many reviews (at least 64) "
                             "or the 360 test digits")
    parser.add_argument("--batch-size", type=positive_int, default=BATCH_SIZE,
                        help=f"batch size (default {BATCH_SIZE})")
    parser.add_argument("--lr", type=positive_float,
                        help="RMSprop learning rate (default 1e-3; 3e-3 for digits)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed of the initial weights")
    parser.add_argument("--no-compare", action="store_true",
                        help="train with rnncore alone (same as --engines rnncore)")
    parser.add_argument("--engines", type=list_of(ENGINES), default=list(ENGINES),
                        help=f"comma-separated engines among {', '.join(ENGINES)} (keras: "
                             "Keras on TensorFlow, jax: Keras on JAX; default all that are "
                             "installed; rnncore always runs)")
    parser.add_argument("--threads", type=positive_int, metavar="N",
                        help="pin every engine to N threads (default: each engine's own)")
    parser.add_argument("--processes", type=positive_int, default=1, metavar="N",
                        help="also train rnncore's model in N single-threaded processes "
                             "(rnncore.distributed over MPI, Horovod's idiom) against one "
                             "single-threaded process (needs pip install rnncore[distributed])")
    parser.add_argument("--out", default="demo-results", metavar="DIR",
                        help="folder for the PNG and JSON files (default demo-results/)")


def check_arguments(parser, args):
    """Fill the per-data-set defaults; errors name the option (argparse exit status 2)."""
    defaults = DEFAULTS[args.dataset]
    for option, key in (("samples", "samples"), ("epochs", "epochs"), ("units", "units"),
                        ("lr", "learning_rate")):
        if getattr(args, option) is None:
            setattr(args, option, defaults[key])
    limit = _data.max_samples(args.dataset)
    if limit is not None and args.samples > limit:
        parser.error(f"argument --samples: the {args.dataset} data set has {limit} training "
                     f"samples, got {args.samples}")


def _initial_weights(spec, seed):
    import rnncore
    from rnncore._random import set_random_seed

    from ._engines import build_keras_api_model

    set_random_seed(seed)
    model = build_keras_api_model(rnncore, spec)
    return model.get_weights(), model.count_params()


def _epoch_time(result):
    """Training seconds per epoch: median over the epochs after the first (warm-up) one."""
    times = result["epoch_train_s"]
    later = times[1:] or times
    return statistics.median(later)


def summary_rows(results, train_samples):
    ours = results.get("rnncore")
    base = _epoch_time(ours) if ours and "error" not in ours else None
    rows = []
    for engine, r in results.items():
        name = _report.title(engine) + ("*" if engine == "torch" else "")
        if "error" in r:
            rows.append([name] + ["-"] * 9)
            continue
        per_epoch = _epoch_time(r)
        h = {k: v[-1] for k, v in r["history"].items()}
        rows.append([name, _report.seconds(r["epoch_train_s"][0]), _report.seconds(per_epoch),
                     _report.rate(train_samples / per_epoch),
                     _report.ratio(per_epoch / base) if base else "-",
                     _report.seconds(r["fit_s"]), _report.number(h.get("loss")),
                     _report.number(h.get("accuracy")), _report.number(h.get("val_loss")),
                     _report.number(h.get("val_accuracy"))])
    return rows


SUMMARY_HEADERS = ["engine", "1st epoch s", "s/epoch", "samples/s", "rnncore speed-up",
                   "fit total s", "loss", "accuracy", "val_loss", "val_accuracy"]


def _say(label, text):
    """``Label: text`` wrapped at 100 columns, continuation lines indented."""
    print(textwrap.fill(text, 100, initial_indent=f"{label:<7}", subsequent_indent=" " * 7))


def _rel(a, b):
    return abs(a - b) / max(abs(b), 1e-12)


def _run_processes(args, task, workdir, env):
    """``--processes N``: (one process, N processes) results, or None when not asked for or
    not possible here (said on the terminal)."""
    if args.processes < 2:
        return None
    why = _processes.unavailable()
    if why:
        print(f"\n--processes {args.processes}: skipped ({why})")
        return None
    print(f"\n=== rnncore: 1 process and {args.processes} processes (MPI), one thread each ===",
          flush=True)
    path = os.path.join(workdir, "processes-task.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(task, f)
    return _processes.compare(path, args.processes, env)


def _print_processes(parallel, processes):
    one, many = parallel
    rows = []
    for result in (one, many):
        if "error" in result:
            rows.append(["?", "failed", "", "", result["error"]])
            continue
        speed = result["samples_per_s"] / one["samples_per_s"] if "error" not in one else None
        rows.append([f"{result['processes']}", f"{result['seconds_per_epoch']:.2f}",
                     f"{result['samples_per_s']:,.0f}",
                     _report.ratio(speed) if speed else "", f"{result['loss'][-1]:.4f}"])
    print(f"\n=== rnncore data-parallel: {processes} single-threaded processes against one ===")
    print(_report.text_table(["processes", "s/epoch", "samples/s", "speed-up", "final loss"],
                             rows))
    print(textwrap.fill(
        "Each rank trains on every N-th sample with the same batch size and a learning rate "
        "scaled by N, gradients averaged at every step (rnncore.distributed, Horovod's idiom): "
        "the N processes take N times fewer steps, so their loss differs from one process's. "
        "s/epoch: median of the epochs after the first.", 100))


def run(args):
    data_set = _data.load(args.dataset, args.samples)
    spec = ModelSpec(cell=args.cell, units=args.units, layers=args.layers,
                     timesteps=data_set.timesteps, vocab=data_set.vocab,
                     embed_dim=EMBED_DIM if data_set.vocab else None,
                     features=data_set.features,
                     outputs=1 if data_set.classes == 2 else data_set.classes,
                     learning_rate=args.lr)
    engines = ["rnncore"] if args.no_compare else [
        e for e in ENGINES if e == "rnncore" or e in args.engines]
    skipped = {e: missing(e) for e in engines if missing(e)}
    engines = [e for e in engines if e not in skipped]
    weights, n_params = _initial_weights(spec, args.seed)

    n, n_val = len(data_set.y_train), len(data_set.y_val)
    others = [_report.title(e) for e in engines if e != "rnncore"]
    print(f"rnncore demo: {spec.describe()} trained by rnncore"
          + (f", then by {', '.join(others)} from the same initial weights" if others
             else " alone"))
    _say("CPU:", _machine.describe_machine(_machine.machine()).removeprefix("CPU: "))
    _say("Data:", f"{data_set.description}; {n:,} training / {n_val:,} validation samples")
    _say("Model:", f"{spec.describe()}, {n_params:,} parameters; "
                   f"{spec.optimizer_title}(learning_rate={spec.learning_rate:g}), {spec.loss}")
    epochs = f"{args.epochs} epoch{'s' if args.epochs > 1 else ''}"
    _say("Fit:", f"batch {args.batch_size}, {epochs}, verbose=1; every engine starts from "
                 "rnncore's initial weights and sees the same batches in the same order")
    env, removed = _machine.child_env(args.threads)
    threads = (f"pinned to {args.threads} thread(s)" if args.threads
               else "with its default thread count")
    _say("Env:", f"{_machine.env_note(removed)} Each engine runs in its own process, "
                 f"{threads}.")
    for engine, why in skipped.items():
        _say("", f"{_report.title(engine)}: skipped ({why})")

    results = {}
    with tempfile.TemporaryDirectory(prefix="rnncore-demo-") as workdir:
        data_path = os.path.join(workdir, "data.npz")
        np.savez(data_path, **data_set.arrays())
        weights_path = os.path.join(workdir, "weights.npz")
        np.savez(weights_path, **{f"w{i}": w for i, w in enumerate(weights)})
        task = {"job": "demo", "spec": vars(spec), "data": data_path, "weights": weights_path,
                "epochs": args.epochs, "batch_size": args.batch_size, "verbose": 1,
                "threads": args.threads}
        for engine in engines:
            print(f"\n=== {_report.title(engine)} ===", flush=True)
            result = _worker.run_demo(dict(task, engine=engine), workdir, env)
            if result.get("missing"):
                skipped[engine] = f"cannot be imported: {result['error']}"
                print(f"{_report.title(engine)}: skipped ({skipped[engine]})")
                continue
            results[engine] = result
            if "error" in result:
                print(f"{_report.title(engine)} failed: {result['error']}")
        parallel = _run_processes(args, dict(task, engine="rnncore"), workdir, env)

    print(f"\n=== {spec.describe()} on {data_set.name}, {n:,} samples, {epochs} ===")
    print(_report.text_table(SUMMARY_HEADERS, summary_rows(results, n)))
    print(textwrap.fill(
        "s/epoch: training time of an epoch without its validation pass, median of the "
        "epochs after the first (the first includes tracing/compilation); rnncore speed-up: "
        "the engine's s/epoch / rnncore's s/epoch.", 100))
    ok = {e: r for e, r in results.items() if "error" not in r}
    _, best, ratio = _report.speedups({e: 1 / _epoch_time(r) for e, r in ok.items()})
    if best and ratio:
        print(f"rnncore vs the best peer ({_report.title(best)}): {_report.ratio(ratio)}.")
    if "torch" in ok:
        print(textwrap.fill(
            "* PyTorch: same model, same initial weights and batches, but its RMSprop adds "
            "epsilon outside the square root (torch.optim.RMSprop(lr, alpha=0.9, eps=1e-7)), "
            "so its numbers are for speed, not exact parity.", 100))
    if len(ok) > 1:
        start = ", ".join(f"{_report.title(e)} {r['initial']['loss']:.5f}" for e, r in ok.items())
        print(f"Same start: validation loss before training: {start}.")
        if "rnncore" in ok:
            ref = ok["rnncore"]["history"]["loss"]
            for epoch in sorted({0, len(ref) - 1}):
                diffs = ", ".join(
                    f"{_report.title(e)} {_rel(r['history']['loss'][epoch], ref[epoch]):.1e}"
                    for e, r in ok.items() if e != "rnncore")
                print(f"Training loss of epoch {epoch + 1}, relative difference from rnncore's: "
                      f"{diffs}.")
            if "keras" in ok or "jax" in ok:
                print(textwrap.fill(
                    "rnncore and Keras compute each step to float32 rounding (the tests hold "
                    "them to 1e-3 over several optimizer steps); over thousands of steps those "
                    "roundings grow, fastest where the loss leaves a plateau, so later epochs "
                    "can drift apart by more.", 100))

    if parallel is not None:
        _print_processes(parallel, args.processes)

    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, f"demo-{data_set.name}-{spec.cell}")
    generated = " (generated data, not real reviews)" if data_set.synthetic else ""
    heading = (f"{spec.describe()}, {spec.optimizer_title}({spec.learning_rate:g}), "
               f"batch {args.batch_size}\n"
               f"{data_set.name}{generated}: {n:,} training / {n_val:,} validation samples")
    try:
        png = _report.plot_curves(stem + ".png", {e: r["history"] for e, r in ok.items()},
                                  heading)
        print(f"Curves (loss and accuracy per epoch, every engine): {png}")
    except ImportError:
        print("Curves: not drawn (matplotlib is not installed: pip install matplotlib)")
    record = {"dataset": data_set.name, "synthetic": data_set.synthetic,
              "description": data_set.description, "model": spec.describe(),
              "spec": vars(spec), "train_samples": n, "val_samples": n_val,
              "epochs": args.epochs, "batch_size": args.batch_size,
              "env_note": _machine.env_note(removed), "machine": _machine.machine(),
              "skipped": skipped, "results": results, "processes": parallel}
    print(f"Results: {_report.write_json(stem + '.json', record)}")
    return 0 if "error" not in results.get("rnncore", {"error": 1}) else 1

