"""``python -m rnncore bench``: training and prediction speed of rnncore and its peers, Keras
on TensorFlow, Keras on JAX and PyTorch.

The cases are the seeds' models (:data:`MODELS`), all with 100 steps and batch 64. Per case
and engine:

- train: samples/s of one optimizer step per batch (forward, backward, update;
  ``train_on_batch`` for rnncore and Keras, a standard loop for PyTorch), from the median
  batch after warm-up batches (Keras traces and compiles its step in the first calls);
- predict: samples/s of ``predict`` over several batches (median call).

rnncore's ratios are against every peer and against the best of them.

Each engine runs in its own process (TensorFlow's, XLA's and PyTorch's thread pools never
meet), all started at once and taking turns: every round each engine times a few batches, so
that a machine shared with other jobs slows all engines alike, in the same run.

rnncore's achieved GFLOP/s counts the recurrent gemms only (forward ``2*T*B*(I+H)*G*H`` per
layer, training 3x that) and is set against NumPy's float32 matmul at the same shapes,
measured in rnncore's process: one big gemm, and per step (``(T, B, H) @ (H, G*H)``, which
NumPy runs as T gemms in C, plus the hoisted input gemm).
"""
import datetime
import os
import statistics

from . import _machine, _report, _worker
from ._engines import ENGINES, ModelSpec, missing

BATCH = 64
TIMESTEPS = 100
_REVIEWS = {"vocab": 10000, "embed_dim": 64, "outputs": 2, "learning_rate": 1e-3}
_SEED_001 = {"vocab": 500, "embed_dim": 16}
_FEATURES = {"vocab": None, "embed_dim": None, "optimizer": "adam", "learning_rate": 1e-3}
#: the seeds' models, as issue 13's table lists them
MODELS = {
    "rnn32-flatten": dict(_REVIEWS, cell="rnn", units=32, flatten_dense=16),  # seed 000
    "rnn64-rnn32": dict(_REVIEWS, cell="rnn", units=[64, 32]),  # seed 000, stacked
    "lstm8": dict(_SEED_001, cell="lstm", units=8),  # seed 001
    "lstm8x2-dropout": dict(_SEED_001, cell="lstm", units=[8, 8], dropout=0.3),  # seed 001
    "gru8": dict(_SEED_001, cell="gru", units=8),
    "rnn50x3": dict(_FEATURES, cell="rnn", units=[50] * 3, features=10, outputs=4),  # seed 002
    "lstm256x2": dict(_FEATURES, cell="lstm", units=[256] * 2, features=128),
    "gru256x2": dict(_FEATURES, cell="gru", units=[256] * 2, features=128),
}
QUICK_MODELS = ("lstm8", "gru8")
#: rounds of turns; each turn first trains untimed for ``turn_warmup_seconds`` (at least one
#: batch), then times up to ``batches_per_round`` batches or ``round_seconds``
FULL_PLAN = {"warmup": 3, "rounds": 4, "batches_per_round": 5, "round_seconds": 2.0,
             "turn_warmup_seconds": 0.1, "predict_batches": 8}
QUICK_PLAN = {"warmup": 2, "rounds": 2, "batches_per_round": 3, "round_seconds": 0.5,
              "turn_warmup_seconds": 0.1, "predict_batches": 4}

HELP = ("benchmark: the seeds' models x rnncore, Keras/TF, Keras/JAX, PyTorch, train and "
        "predict samples/s, speed-up over each peer and the best, GFLOP/s; writes JSON and "
        "Markdown")
DESCRIPTION = f"""\
Benchmark of the seeds' models ({', '.join(MODELS)}), {TIMESTEPS} steps, batch {BATCH},
for rnncore, Keras on TensorFlow, Keras on JAX and PyTorch: training samples/s (one optimizer
step per batch) and predict samples/s, rnncore's speed-up over every peer and over the best,
and rnncore's GFLOP/s against NumPy's sgemm at the same shapes. One process per engine
(OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset), the engines taking turns. Prints the tables
and writes bench.json and bench.md."""


def make_case(name):
    spec = ModelSpec(timesteps=TIMESTEPS, **MODELS[name])
    return {"id": name, "model": f"{spec.describe()}, {spec.optimizer_title}",
            "spec": vars(spec), "batch": BATCH, "forward_flops": spec.forward_flops(BATCH)}


def add_arguments(parser):
    from .demo import list_of, positive_int

    parser.add_argument("--quick", action="store_true",
                        help=f"the short version: {', '.join(QUICK_MODELS)} only, fewer "
                             "batches")
    parser.add_argument("--models", type=list_of(tuple(MODELS)),
                        help=f"comma-separated models among {', '.join(MODELS)} (default "
                             f"all; {', '.join(QUICK_MODELS)} with --quick)")
    parser.add_argument("--engines", type=list_of(ENGINES), default=list(ENGINES),
                        help=f"comma-separated engines among {', '.join(ENGINES)} (default "
                             "all; one not installed is skipped with a line saying why)")
    parser.add_argument("--batches", type=positive_int, metavar="N",
                        help="timed training batches per case and engine, at most "
                             "(default 20; 6 with --quick)")
    parser.add_argument("--threads", type=positive_int, metavar="N",
                        help="pin every engine to N threads (default: each engine's own "
                             "default, as users run it)")
    parser.add_argument("--out", default="bench-results", metavar="DIR",
                        help="folder for bench.json and bench.md (default bench-results/)")


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------
def _rotations(engines, rounds):
    """Engine order of each round, rotated so that no engine always goes first."""
    for r in range(rounds):
        k = r % len(engines) if engines else 0
        yield engines[k:] + engines[:k]


def measure_case(case, servers, plan):
    """Every engine's numbers for one case; engines take turns, round after round."""
    # Set-up (building, tracing, compiling, warm-up batches) is not timed: all engines at once.
    failed = {e: s.send("setup", case=case, plan=plan) for e, s in servers.items()}
    entries = {e: failed[e] or servers[e].receive() for e in servers}
    active = [e for e in servers if "error" not in entries[e]]
    train = {e: [] for e in active}
    predict = {e: [] for e in active}
    cpu = {e: {"train": 0.0, "predict": 0.0} for e in active}
    for order in _rotations(active, plan["rounds"]):
        for engine in order:
            if "error" in entries[engine]:
                continue
            answer = servers[engine].call("train", batches=plan["batches_per_round"],
                                          max_seconds=plan["round_seconds"],
                                          warmup_seconds=plan["turn_warmup_seconds"])
            if "error" in answer:
                entries[engine]["error"] = answer["error"]
                continue
            train[engine] += answer["times"]
            cpu[engine]["train"] += answer["cpu"]
            answer = servers[engine].call("predict", calls=1)
            if "error" in answer:
                entries[engine]["error"] = answer["error"]
                continue
            predict[engine] += answer["times"]
            cpu[engine]["predict"] += answer["cpu"]
    for engine in active:
        servers[engine].call("teardown")
        entry = entries[engine]
        if "error" in entry or not train[engine]:
            continue
        step, call = statistics.median(train[engine]), statistics.median(predict[engine])
        n_pred = plan["predict_batches"] * case["batch"]
        entry.update({
            "train_batch_s": step, "train_samples_per_s": case["batch"] / step,
            "train_batch_s_min": min(train[engine]), "train_batches_timed": len(train[engine]),
            "predict_batch_s": call / plan["predict_batches"],
            "predict_samples_per_s": n_pred / call, "predict_call_s_all": predict[engine],
            "train_batch_s_all": train[engine],
            # CPU seconds of the engine's process (all its threads): steadier than wall time
            # on a busy machine when the engine runs one thread (--threads 1)
            "train_cpu_s_per_batch": cpu[engine]["train"] / len(train[engine]),
            "predict_cpu_s_per_batch": cpu[engine]["predict"] / (
                len(predict[engine]) * plan["predict_batches"])})
    if "rnncore" in servers:
        sgemm = servers["rnncore"].call("sgemm", spec=case["spec"], batch=case["batch"])
        if "error" not in sgemm:
            entries["rnncore"]["sgemm_gflops"] = sgemm
    return entries


def summarize(case, entries):
    """One row: the case, every engine's entry, rnncore's ratios and GFLOP/s."""
    row = {k: case[k] for k in ("id", "model", "batch", "forward_flops")}
    row.update(entries)
    for kind in ("train", "predict"):
        ratios, best, ratio = _report.speedups(
            {e: entry.get(f"{kind}_samples_per_s") for e, entry in entries.items()})
        for engine, value in ratios.items():
            row[f"{kind}_speedup_vs_{engine}"] = value
        row[f"{kind}_best_peer"], row[f"{kind}_speedup_vs_best_peer"] = best, ratio
    r = entries.get("rnncore", {})
    if r.get("train_batch_s"):
        row["rnncore_train_gflops"] = 3 * case["forward_flops"] / r["train_batch_s"] / 1e9
        row["rnncore_predict_gflops"] = case["forward_flops"] / r["predict_batch_s"] / 1e9
    return row


# --------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------
def _gflops(value):
    return "-" if value is None else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _progress_line(row, engines):
    parts = []
    for kind in ("train", "predict"):
        values = []
        for e in engines:
            rate = row[e].get(f"{kind}_samples_per_s")
            values.append(f"{_report.title(e)} "
                          f"{'error' if 'error' in row[e] else _report.rate(rate)}")
        parts.append(f"{kind}: {'  '.join(values)}")
    return f"  {row['id']:<15} " + " | ".join(parts) + " samples/s"


def tables(rows, engines):
    """(title, headers, cells, left-aligned columns) of the tables: the models, training,
    prediction, and rnncore's GFLOP/s."""
    peers = [e for e in engines if e != "rnncore"]
    out = [("Models", ["case", "model"], [[row["id"], row["model"]] for row in rows], 2)]
    for kind, what in (("train", "Training, samples/s (one optimizer step per batch of 64)"),
                       ("predict", "Prediction, samples/s (predict, batches of 64)")):
        headers = ["case"] + [_report.title(e) for e in engines]
        ours = "rnncore" in engines and peers
        if ours:
            headers += [f"vs {_report.title(e)}" for e in peers] + ["vs best peer"]
        cells = []
        for row in rows:
            line = [row["id"]]
            line += ["error" if "error" in row[e] else
                     _report.rate(row[e].get(f"{kind}_samples_per_s")) for e in engines]
            if ours:
                line += [_report.ratio(row.get(f"{kind}_speedup_vs_{e}")) for e in peers]
                best = row.get(f"{kind}_best_peer")
                line.append(f"{_report.ratio(row.get(f'{kind}_speedup_vs_best_peer'))} "
                            f"({_report.title(best)})" if best else "-")
            cells.append(line)
        if ours:
            what += "; vs X: rnncore's samples/s / X's"
        out.append((what, headers, cells, 1))
    if "rnncore" in engines:
        headers = ["case", "train GFLOP/s", "predict GFLOP/s", "sgemm big GFLOP/s",
                   "sgemm per-step GFLOP/s", "train / per-step sgemm"]
        cells = []
        for row in rows:
            sg = row["rnncore"].get("sgemm_gflops") or {}
            train = row.get("rnncore_train_gflops")
            cells.append([row["id"], _gflops(train), _gflops(row.get("rnncore_predict_gflops")),
                          _gflops(sg.get("big")), _gflops(sg.get("step")),
                          f"{train / sg['step']:.0%}" if train and sg.get("step") else "-"])
        out.append(("rnncore's recurrent-gemm GFLOP/s vs NumPy float32 matmul at the same "
                    "shapes (best of several calls, 1 or all BLAS threads)", headers, cells, 1))
    return out


def _engine_line(engine, info, facts):
    if "skipped" in facts:
        return f"skipped ({facts['skipped']})"
    if "error" in facts:
        return f"not measured ({facts['error']})"
    parts = [f"{k}={v}" for k, v in (info or {}).items()]
    parts.append("thread pools (threadpoolctl): " + _machine.describe_pools(facts.get("blas")))
    return "; ".join(parts)


def markdown(record, table_list):
    m = record["machine"]
    threads = (f"Every engine pinned to {record['threads']} thread(s)." if record["threads"]
               else "Each engine with its default thread count.")
    lines = [f"Measured {record['date']} ({record['duration_s']} s), Python {m['python']}; "
             f"1-minute load average {record['load_average_before']} before, "
             f"{record['load_average_after']} after.", "",
             f"{_machine.describe_machine(m)}.", "",
             f"{record['env_note']} {threads}", ""]
    lines += [f"- {_report.title(e)}: {line}" for e, line in record["engines"].items()]
    lines.append("")
    for heading, headers, cells, left in table_list:
        lines += [f"### {heading}", "", _report.markdown_table(headers, cells, left=left), ""]
    return "\n".join(lines)


def run(args):
    names = args.models or list(QUICK_MODELS if args.quick else MODELS)
    plan = dict(QUICK_PLAN if args.quick else FULL_PLAN)
    if args.batches:
        plan["batches_per_round"] = -(-args.batches // plan["rounds"])
    cases = [make_case(name) for name in names]
    env, removed = _machine.child_env(args.threads)
    machine = _machine.machine()
    started = datetime.datetime.now().astimezone()
    threads = (f"every engine pinned to {args.threads} thread(s)" if args.threads
               else "each engine with its default thread count")
    print(f"rnncore bench: {len(cases)} models x {len(args.engines)} engines "
          f"({', '.join(_report.title(e) for e in args.engines)}), batch {BATCH}, "
          f"{TIMESTEPS} steps{' (quick)' if args.quick else ''}")
    print(_machine.describe_machine(machine))
    print(f"Load average {machine['load_average_1min']} (timings are noisy when the machine "
          f"is busy). {_machine.env_note(removed)} One process per engine, {threads}; the "
          "engines take turns, a few batches each.", flush=True)

    servers, skipped = {}, {}
    for engine in args.engines:
        why = missing(engine)
        if why is None:
            server = _worker.EngineProcess(engine, env, args.threads)
            if "error" not in server.hello:
                servers[engine] = server
                continue
            server.close()
            why = (f"cannot be imported: {server.hello['error']}" if server.hello.get("missing")
                   else f"failed to start: {server.hello['error']}")
        skipped[engine] = {"skipped": why}
        print(f"{_report.title(engine)}: skipped ({why})", flush=True)
    engines = list(servers)
    rows, infos, facts = [], {}, {}
    try:
        for case in cases:
            entries = measure_case(case, servers, plan)
            for engine, entry in entries.items():
                if "info" in entry:
                    infos.setdefault(engine, entry.pop("info"))
            row = summarize(case, entries)
            rows.append(row)
            print(_progress_line(row, engines), flush=True)
        facts = {e: s.call("facts") for e, s in servers.items()}
    finally:
        for server in servers.values():
            server.close()
    facts.update(skipped)

    record = {
        "date": started.isoformat(timespec="seconds"),
        "duration_s": round((datetime.datetime.now().astimezone() - started).total_seconds()),
        "machine": machine, "env_note": _machine.env_note(removed),
        "unset_env": list(_machine.UNSET_VARS), "threads": args.threads,
        "quick": bool(args.quick), "plan": plan,
        "load_average_before": machine["load_average_1min"],
        "load_average_after": _machine.load_average(),
        "engines": {e: _engine_line(e, infos.get(e), facts.get(e, {})) for e in args.engines},
        "engine_facts": {e: dict(facts.get(e, {}), info=infos.get(e)) for e in args.engines},
        "cases": rows,
    }
    table_list = tables(rows, engines) if engines else []
    print()
    for engine, line in record["engines"].items():
        print(f"{_report.title(engine)}: {line}")
    for heading, headers, cells, left in table_list:
        print(f"\n{heading}")
        print(_report.text_table(headers, cells, left=left))
    os.makedirs(args.out, exist_ok=True)
    json_path = _report.write_json(os.path.join(args.out, "bench.json"), record)
    md_path = _report.write_text(os.path.join(args.out, "bench.md"),
                                 markdown(record, table_list))
    print(f"\nWrote {json_path} and {md_path}")
    return 0 if "rnncore" in engines or "rnncore" not in args.engines else 1
