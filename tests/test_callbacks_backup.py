"""BackupAndRestore: a fit interrupted by an error, then called again, resumes at the epoch
Keras resumes at and ends with Keras's weights (optimizer state restored too)."""
import numpy as np
import pytest

import rnncore


class _Interrupt(Exception):
    pass


def _run(lib, weights, x, y, backup_dir, save_freq, fail_at):
    model = lib.Sequential([lib.Input((4, 3)), lib.layers.SimpleRNN(4), lib.layers.Dense(1)])
    model.set_weights(weights)
    model.compile(optimizer=lib.optimizers.Adam(0.01), loss="mse")
    backup = lib.callbacks.BackupAndRestore(backup_dir, save_freq=save_freq)
    epochs_run = []

    def fail(epoch, batch):
        if (epoch, batch) == fail_at:
            raise _Interrupt()

    state = {"epoch": 0}
    recorder = lib.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: (epochs_run.append(epoch),
                                            state.update(epoch=epoch)),
        on_train_batch_begin=lambda batch, logs: fail(state["epoch"], batch))
    with pytest.raises(_Interrupt):
        model.fit(x, y, batch_size=8, epochs=5, shuffle=False, verbose=0,
                  callbacks=[backup, recorder])
    fail_at = None
    history = model.fit(x, y, batch_size=8, epochs=5, shuffle=False, verbose=0,
                        callbacks=[backup, lib.callbacks.LambdaCallback(
                            on_epoch_begin=lambda epoch, logs: epochs_run.append(epoch))])
    return epochs_run, history.history["loss"], model.get_weights()


@pytest.mark.parametrize("save_freq, fail_at, epochs", [("epoch", (3, 1), [0, 1, 2, 3, 3, 4]),
                                                         (3, (2, 2), [0, 1, 2, 2, 3, 4])])
def test_fit_resumes_after_an_interruption_as_keras(keras, rng, tmp_path, save_freq, fail_at,
                                                    epochs):
    x = rng.normal(size=(32, 4, 3)).astype("float32")
    y = rng.normal(size=(32, 1)).astype("float32")
    weights = keras.Sequential([keras.Input((4, 3)), keras.layers.SimpleRNN(4),
                                keras.layers.Dense(1)]).get_weights()
    k = _run(keras, weights, x, y, str(tmp_path / "k"), save_freq, fail_at)
    r = _run(rnncore, weights, x, y, str(tmp_path / "r"), save_freq, fail_at)
    assert r[0] == k[0] == epochs
    np.testing.assert_allclose(r[1], k[1], rtol=1e-3)
    for a, b in zip(r[2], k[2]):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    assert not (tmp_path / "r").exists()  # deleted when training ends, as Keras


def test_backup_and_restore_refuses_bad_arguments_as_keras(keras, tmp_path):
    for lib in (keras, rnncore):
        with pytest.raises(ValueError, match="Empty `backup_dir` argument passed"):
            lib.callbacks.BackupAndRestore("")
        with pytest.raises(ValueError, match="Invalid value for argument `save_freq`"):
            lib.callbacks.BackupAndRestore(str(tmp_path), save_freq="batch")
