"""The program each rank runs in the multi-process tests (``mpiexec -n N python
tests/_mpi_worker.py JOB OUT``); its models and data are also what the tests train in one
process to compare.

Jobs:
- ``exactness``: every (model, optimizer) of CASES trained for STEPS steps, per-rank batch
  BATCH, on ``shard`` of the same data; rank 0 writes the weights before and after.
- ``api``: the collectives, the optimizer's exchange and the callbacks checked on each rank
  (assertions), rank 0 writes what the test compares.
- ``fit``: fit with validation data, EarlyStopping and file-writing callbacks in OUT.
- ``raise`` / ``exit`` / ``stall``: rank 1 fails in a given way during fit.
"""
import json
import os
import signal
import sys
import time

import numpy as np

import rnncore
from rnncore import layers, optimizers

T, FEATURES, VOCAB, BATCH, STEPS = 5, 3, 20, 4, 3

MODELS = ("simple_rnn", "lstm", "gru", "bidirectional", "embedding")
OPTIMIZERS = ("rmsprop", "adam", "sgd_momentum")
CASES = [(m, o) for m in MODELS for o in OPTIMIZERS]


def build(model_name):
    if model_name == "embedding":
        stack = [layers.Input((T,), dtype="int32"), layers.Embedding(VOCAB, 4),
                 layers.LSTM(3), layers.Dense(1, activation="sigmoid")]
    else:
        recurrent = {"simple_rnn": lambda: layers.SimpleRNN(4),
                     "lstm": lambda: layers.LSTM(3),
                     "gru": lambda: layers.GRU(3),
                     "bidirectional": lambda: layers.Bidirectional(layers.LSTM(3))}[model_name]
        stack = [layers.Input((T, FEATURES)), recurrent(), layers.Dense(1, activation="sigmoid")]
    return rnncore.Sequential(stack)


def optimizer(name, scale=1):
    return {"rmsprop": lambda: optimizers.RMSprop(0.01 * scale),
            "adam": lambda: optimizers.Adam(0.01 * scale),
            "sgd_momentum": lambda: optimizers.SGD(0.1 * scale, momentum=0.9)}[name]()


def data(model_name, n):
    rng = np.random.default_rng(7)
    if model_name == "embedding":
        x = rng.integers(0, VOCAB, (n, T)).astype("int32")
    else:
        x = rng.normal(size=(n, T, FEATURES)).astype("float32")
    y = (rng.random(n) < 0.5).astype("float32")
    return x, y


def exactness(hvd, out):
    n = hvd.size() * BATCH * STEPS
    results = {}
    for model_name, opt_name in CASES:
        rnncore.utils.set_random_seed(100 + hvd.rank())  # different draws: the broadcast fixes
        model = build(model_name)
        model.compile(optimizer=hvd.DistributedOptimizer(optimizer(opt_name)),
                      loss="binary_crossentropy")
        x, y = hvd.shard(data(model_name, n))
        before = {}

        class Keep(rnncore.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                if batch == 0:
                    before["w"] = [w.copy() for w in self.model.get_weights()]

        model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0,
                  callbacks=[hvd.callbacks.BroadcastGlobalVariablesCallback(0), Keep()])
        after = model.get_weights()
        # every rank ends with the same weights, bit for bit
        gathered = hvd.allgather_object([w.tobytes() for w in after])
        assert all(g == gathered[0] for g in gathered), f"{model_name}/{opt_name} diverged"
        key = f"{model_name}-{opt_name}"
        for i, (w0, w1) in enumerate(zip(before["w"], after)):
            results[f"{key}/before/{i}"] = w0
            results[f"{key}/after/{i}"] = w1
    if hvd.rank() == 0:
        np.savez(out, **results)


def api(hvd, out):
    r, n = hvd.rank(), hvd.size()
    mine = np.full((2, 3), r + 1, np.float32)
    np.testing.assert_allclose(hvd.allreduce(mine), np.full((2, 3), (n + 1) / 2))
    np.testing.assert_allclose(hvd.allreduce(mine, op=hvd.Sum), np.full((2, 3), n * (n + 1) / 2))
    np.testing.assert_allclose(hvd.allreduce(mine, average=False), hvd.allreduce(mine, op=hvd.Sum))
    np.testing.assert_allclose(hvd.allreduce(mine, op=hvd.Max), np.full((2, 3), n))
    gathered = hvd.allgather(np.full((r + 1, 2), r, np.int64))  # uneven first dimensions
    assert gathered.shape == (n * (n + 1) // 2, 2), gathered.shape
    assert gathered[:, 0].tolist() == [k for k in range(n) for _ in range(k + 1)]
    np.testing.assert_array_equal(hvd.broadcast(mine, root_rank=1), np.full((2, 3), 2))
    assert hvd.broadcast_object({"rank": r}, root_rank=0) == {"rank": 0}
    assert hvd.local_rank() == r and hvd.local_size() == n
    assert hvd.cross_size() == 1 and hvd.cross_rank() == 0

    # the optimizer's exchange: dense gradients averaged, slices gathered
    from rnncore._indexed_slices import IndexedSlices
    from rnncore.distributed import _comm
    from rnncore.distributed._comm import _state

    opt = hvd.DistributedOptimizer(optimizers.SGD(1.0))
    rng = np.random.default_rng(r)
    dense = rng.normal(size=(3, 2)).astype(np.float32)
    ids = rng.integers(0, 6, 4 + r)  # ranks send different numbers of slices
    rows = rng.normal(size=(ids.size, 2)).astype(np.float32)
    calls = {"allreduce": 0, "allgatherv": 0}
    comm, allreduce_buffer = _state["comm"], _comm._allreduce_buffer

    class Counting:
        def __getattr__(self, name):
            return getattr(comm, name)

        def Iallgatherv(self, *args, **kwargs):
            calls["allgatherv"] += 1
            return comm.Iallgatherv(*args, **kwargs)

    def counting_allreduce(*args, **kwargs):  # through MPI or shared memory
        calls["allreduce"] += 1
        return allreduce_buffer(*args, **kwargs)

    _state["comm"], _comm._allreduce_buffer = Counting(), counting_allreduce
    try:
        averaged = opt._exchange([dense, IndexedSlices(ids, rows, (6, 2)), dense * 2])
    finally:
        _state["comm"], _comm._allreduce_buffer = comm, allreduce_buffer
    all_dense = hvd.allgather(dense[None])
    all_ids = hvd.allgather(ids)
    all_rows = hvd.allgather(rows)
    np.testing.assert_allclose(averaged[0], all_dense.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(averaged[2], 2 * all_dense.mean(axis=0), rtol=1e-6)
    assert isinstance(averaged[1], IndexedSlices)
    assert averaged[1].indices.tolist() == all_ids.tolist()
    dense_average = np.zeros((6, 2))
    for k in range(n):
        dense_average += IndexedSlices(*_slices_of(k, n), (6, 2)).to_dense() / n
    np.testing.assert_allclose(averaged[1].to_dense(), dense_average, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(averaged[1].values, all_rows / n, rtol=1e-6)
    # one message for all dense gradients, the ids and the rows of the sparse one
    assert calls == {"allreduce": 1, "allgatherv": 2}, calls

    # warm-up: from lr/size to lr over the warm-up epochs, batch by batch
    model = build("lstm")
    x, y = hvd.shard(data("lstm", n * BATCH * 4))
    model.compile(optimizer=hvd.DistributedOptimizer(optimizers.SGD(0.1, momentum=0.9)),
                  loss="binary_crossentropy")
    rates = []

    class Rates(rnncore.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            rates.append((self.model.optimizer.learning_rate, self.model.optimizer.momentum))

    history = model.fit(x, y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0,
                        callbacks=[hvd.callbacks.LearningRateWarmupCallback(0.1, warmup_epochs=2),
                                   hvd.callbacks.MetricAverageCallback(), Rates()])
    if r == 0:
        with open(out, "w") as f:
            json.dump({"rates": rates, "history": history.history}, f)


def _slices_of(k, n):
    rng = np.random.default_rng(k)
    rng.normal(size=(3, 2))
    ids = rng.integers(0, 6, 4 + k)
    rows = rng.normal(size=(ids.size, 2)).astype(np.float32)
    return ids, rows


def shared(hvd, out):
    """The fused buffer's sum through shared memory against MPI's Allreduce."""
    from rnncore.distributed import _comm

    r, n = hvd.rank(), hvd.size()
    results = {"equal": [], "used": None, "disabled": None, "error": None}
    for dtype in (np.float32, np.float64):
        for k in range(25):  # the two slots of each rank in turn, a new buffer each step
            mine = np.random.default_rng(100 * k + r).normal(size=4001).astype(dtype)
            through_mpi = _comm._allreduce_buffer(mine.copy(), _comm.Sum)
            through_shm = _comm._allreduce_buffer(mine.copy(), _comm.Sum, every_step=True)
            expected = sum(np.random.default_rng(100 * k + q).normal(size=4001).astype(dtype)
                           for q in range(n))
            results["equal"].append([bool(np.array_equal(through_shm, through_mpi)),
                                     float(np.max(np.abs(through_shm - expected)))])
    sums = _comm._state["shared"]
    results["used"] = sorted(key[1] for key, v in sums.items()
                             if isinstance(v, _comm._SharedSum))
    os.environ["RNNCORE_DISTRIBUTED_SHARED_MEMORY"] = "0"
    results["disabled"] = _comm._shared_sum(np.zeros(4001), _comm.Sum) is None
    del os.environ["RNNCORE_DISTRIBUTED_SHARED_MEMORY"]
    try:  # ranks whose buffers differ (different models): a clear error on every rank
        _comm._allreduce_buffer(np.zeros(10 + r, np.float32), _comm.Sum, every_step=True)
    except ValueError as err:
        results["error"] = str(err)
    hvd.shutdown()  # frees the windows (collective)
    with open(f"{out}-{r}.json", "w") as f:
        json.dump(results, f)


def fit(hvd, out):
    """fit's rank-aware parts: validation over all ranks, rank-0 files, EarlyStopping."""
    rnncore.utils.set_random_seed(3)
    model = build("gru")
    model.compile(optimizer=hvd.DistributedOptimizer(optimizer("adam")),
                  loss="binary_crossentropy", metrics=["acc"])
    x, y = data("gru", 40 * hvd.size())
    rng = np.random.default_rng(11)
    xv = rng.normal(size=(23, T, FEATURES)).astype("float32")
    yv = (rng.random(23) < 0.5).astype("float32")
    os.chdir(out)
    history = model.fit(
        *hvd.shard((x, y)), batch_size=BATCH, epochs=6, shuffle=True, verbose=1,
        validation_data=(xv, yv),
        callbacks=[hvd.callbacks.BroadcastGlobalVariablesCallback(0),
                   rnncore.callbacks.EarlyStopping(monitor="val_loss", patience=0,
                                                    min_delta=1.0),
                   rnncore.callbacks.CSVLogger(f"log-{hvd.rank()}.csv"),
                   rnncore.callbacks.ModelCheckpoint(f"ckpt-{hvd.rank()}.weights.h5",
                                                     save_weights_only=True)])
    # what one process computes on the whole validation set with these weights
    reference = model.evaluate(xv, yv, verbose=0, return_dict=True)

    class Batches(rnncore.utils.PyDataset):  # 5 batches: 3 on rank 0, 2 on rank 1
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return xv[5 * i:5 * i + 5], yv[5 * i:5 * i + 5]

    seen = []
    again = model.fit(*hvd.shard((x, y)), batch_size=BATCH, epochs=1, verbose=0,
                      validation_data=Batches(),
                      callbacks=[rnncore.callbacks.LambdaCallback(
                          on_test_batch_end=lambda batch, logs: seen.append(batch))])
    pydataset = [again.history["val_loss"][-1],
                 model.evaluate(xv, yv, verbose=0, return_dict=True)["loss"],
                 hvd.allgather_object(len(seen))]
    with open(f"result-{hvd.rank()}.json", "w") as f:
        json.dump({"history": history.history, "reference": reference,
                   "pydataset": pydataset}, f)


def stop(hvd, out):
    """Rank 1 alone stops training: at batch 2 of epoch 0 (TerminateOnNaN's way), then, in a
    second fit, after the last batch of epoch 0. Every rank must leave fit at the same
    step, with the same weights."""
    results = {}
    for when in ("mid-epoch", "last batch"):
        model = build("lstm")
        model.compile(optimizer=hvd.DistributedOptimizer(optimizer("sgd_momentum")),
                      loss="binary_crossentropy")
        x, y = hvd.shard(data("lstm", hvd.size() * BATCH * 6))
        at = 2 if when == "mid-epoch" else 5

        class Stop(rnncore.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                if hvd.rank() == 1 and batch == at:
                    self.model.stop_training = True

        history = model.fit(x, y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0,
                            callbacks=[hvd.callbacks.BroadcastGlobalVariablesCallback(0),
                                       Stop()])
        weights = hvd.allgather_object([w.tobytes() for w in model.get_weights()])
        results[when] = {"iterations": hvd.allgather_object(int(model.optimizer.iterations)),
                         "epochs": len(history.history["loss"]),
                         "same_weights": all(w == weights[0] for w in weights)}
    if hvd.rank() == 0:
        with open(out, "w") as f:
            json.dump(results, f)


def fail(hvd, out, how):
    """Rank 1 fails at its third step; the others must not wait for it for ever."""
    model = build("lstm")
    model.compile(optimizer=hvd.DistributedOptimizer(optimizer("sgd_momentum")),
                  loss="binary_crossentropy")
    x, y = hvd.shard(data("lstm", hvd.size() * BATCH * 50))

    class Fail(rnncore.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if hvd.rank() == 1 and batch == 2:
                if how == "raise":
                    raise RuntimeError("rank 1 failed on purpose")
                if how == "exit":
                    os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer does
                if how == "stall":
                    time.sleep(600)  # alive, but takes no further part

    model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0, callbacks=[Fail()])


def main():
    job, out = sys.argv[1], sys.argv[2]
    rnncore.set_num_threads(1)
    import rnncore.distributed as hvd

    hvd.init()
    if job in ("raise", "exit", "stall"):
        fail(hvd, out, job)
    else:
        globals()[job](hvd, out)


if __name__ == "__main__":
    main()
