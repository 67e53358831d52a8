"""rnncore.distributed in one process: no MPI at import, the shard helper, the optimizer
wrapper's checks and its size-1 behaviour. The multi-process behaviour is in
test_distributed_mpi.py."""
import os
import subprocess
import sys

import numpy as np
import pytest

import rnncore
from rnncore import optimizers
from rnncore.utils import PyDataset


def test_importing_rnncore_and_its_distributed_package_does_not_import_mpi():
    code = ("import sys, rnncore, rnncore.distributed as hvd; "
            "assert 'mpi4py' not in sys.modules, 'mpi4py imported'; "
            "assert not hvd.is_initialized()")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_functions_before_init_say_to_call_init():
    import rnncore.distributed as hvd

    if hvd.is_initialized():
        pytest.skip("initialized by an earlier test in this process")
    with pytest.raises(ValueError, match="call rnncore.distributed.init"):
        hvd.rank()


@pytest.mark.parametrize("size", [1, 2, 3])
def test_shard_of_arrays_takes_every_size_th_sample_and_drops_the_remainder(size):
    from rnncore.distributed import shard

    x = np.arange(20).reshape(10, 2)
    y = np.arange(10)
    shares = [shard((x, {"t": y}), rank=r, size=size) for r in range(size)]
    n = 10 - 10 % size
    for r, (xs, ys) in enumerate(shares):
        assert xs.shape == (n // size, 2)
        np.testing.assert_array_equal(ys["t"], np.arange(r, n, size))
        np.testing.assert_array_equal(xs[:, 0] // 2, ys["t"])  # rows stay paired
    # the ranks' k-th batches of b make the k-th batch of N*b of one process
    b = 2
    together = np.sort(np.concatenate([ys["t"][:b] for _, ys in shares]))
    np.testing.assert_array_equal(together, np.arange(size * b))


def test_shard_keeps_every_sample_when_asked():
    from rnncore.distributed import shard

    parts = [shard(np.arange(7), rank=r, size=3, drop_remainder=False) for r in range(3)]
    assert sorted(np.concatenate(parts).tolist()) == list(range(7))


def test_shard_of_pydataset_and_generator():
    from rnncore.distributed import shard

    class Batches(PyDataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.full((2, 1), i), np.full(2, i)

    part = shard(Batches(), rank=1, size=2)
    assert len(part) == 2 and [int(part[i][1][0]) for i in range(2)] == [1, 3]
    assert list(shard(iter(range(7)), rank=2, size=3)) == [2, 5]


def test_shard_names_bad_arguments():
    from rnncore.distributed import shard

    with pytest.raises(ValueError, match="rank must lie in"):
        shard(np.zeros(4), rank=2, size=2)
    with pytest.raises(ValueError, match="same number of samples"):
        shard((np.zeros(4), np.zeros(5)), rank=0, size=2)


@pytest.fixture(scope="module")
def hvd():
    pytest.importorskip("mpi4py", reason="rnncore[distributed] (mpi4py) is not installed")
    import rnncore.distributed as hvd

    hvd.init()
    return hvd


def test_one_process_group(hvd):
    assert (hvd.rank(), hvd.size(), hvd.local_rank(), hvd.local_size()) == (0, 1, 0, 1)
    np.testing.assert_array_equal(hvd.allreduce(np.array([1.0, 3.0])), [1.0, 3.0])
    np.testing.assert_array_equal(hvd.allgather(np.ones((2, 3))), np.ones((2, 3)))
    with pytest.raises(ValueError, match="either `average` or `op`"):
        hvd.allreduce(np.ones(2), average=True, op=hvd.Sum)


def test_distributed_optimizer_in_one_process_trains_as_its_optimizer(hvd):
    def train(wrap):
        rnncore.utils.set_random_seed(5)
        model = rnncore.Sequential([rnncore.layers.Input((4,), dtype="int32"),
                                    rnncore.layers.Embedding(10, 3), rnncore.layers.GRU(2),
                                    rnncore.layers.Dense(1)])
        opt = optimizers.Adam(0.01)
        model.compile(optimizer=hvd.DistributedOptimizer(opt) if wrap else opt, loss="mse")
        rng = np.random.default_rng(0)
        model.fit(rng.integers(0, 10, (16, 4)), rng.normal(size=16), batch_size=4,
                  verbose=0, shuffle=False)
        return model

    plain, wrapped = train(False), train(True)
    for a, b in zip(plain.get_weights(), wrapped.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert type(wrapped.optimizer).__name__ == "Adam"
    assert wrapped.optimizer.get_config() == plain.optimizer.get_config()
    assert isinstance(wrapped.optimizer, optimizers.Adam)


def test_distributed_optimizer_checks_its_arguments(hvd):
    with pytest.raises(ValueError, match="backward_passes_per_step=1 only"):
        hvd.DistributedOptimizer(optimizers.SGD(), backward_passes_per_step=2)
    with pytest.raises(ValueError, match="optimizer instance"):
        hvd.DistributedOptimizer("adam")
    with pytest.raises(ValueError, match="already distributed"):
        hvd.DistributedOptimizer(hvd.DistributedOptimizer(optimizers.SGD()))


def test_distributed_optimizer_survives_pickle(hvd):
    import pickle

    opt = hvd.DistributedOptimizer(optimizers.RMSprop(0.01), sparse_as_dense=True)
    copy = pickle.loads(pickle.dumps(opt))
    assert type(copy) is type(opt) and copy._dp_sparse_as_dense


def test_a_bad_timeout_from_the_environment_is_named():
    pytest.importorskip("mpi4py", reason="rnncore[distributed] (mpi4py) is not installed")
    code = ("import rnncore.distributed as hvd\n"
            "try:\n    hvd.init()\nexcept ValueError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, RNNCORE_DISTRIBUTED_TIMEOUT="soon"))
    assert "RNNCORE_DISTRIBUTED_TIMEOUT must be a positive number of seconds; received " \
           "'soon'" in out.stdout, out.stdout + out.stderr


def test_load_model_wraps_the_saved_optimizer(hvd, tmp_path):
    model = rnncore.Sequential([rnncore.layers.Input((3, 2)), rnncore.layers.LSTM(2),
                                rnncore.layers.Dense(1)])
    model.compile(optimizer=optimizers.Adam(0.005), loss="mse")
    model.fit(np.ones((4, 3, 2)), np.ones(4), verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = hvd.load_model(tmp_path / "m.keras")
    assert hasattr(loaded.optimizer, "_data_parallel")
    assert isinstance(loaded.optimizer, optimizers.Adam)
    assert loaded.optimizer.learning_rate == pytest.approx(0.005)
    loaded.fit(np.ones((4, 3, 2)), np.ones(4), verbose=0)  # trains with its saved state
    assert loaded.optimizer.iterations == 2
