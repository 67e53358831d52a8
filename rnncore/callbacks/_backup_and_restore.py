"""BackupAndRestore: lets a ``fit`` interrupted by an error resume where it stopped."""
import json
import os
import shutil

from ._base import Callback


class BackupAndRestore(Callback):
    """Back up the model's weights (with the optimizer's state) and the epoch reached in
    ``backup_dir``; when ``fit`` starts and a backup is there, restore it and continue from
    that epoch, as Keras does.

    Parameters
    ----------
    backup_dir : str
        Folder of the backup: ``latest.weights.h5`` and ``training_metadata.json``.
    save_freq : ``"epoch"`` or int, default ``"epoch"``
        Back up at the end of every epoch, or after every that many batches (a restored run
        still starts again at the start of the epoch in progress, as Keras's).
    double_checkpoint : bool, default False
        Keep the previous backup too (``.bkp``), used when the latest cannot be read.
    delete_checkpoint : bool, default True
        Remove ``backup_dir`` when training ends without an error.

    >>> backup = rnncore.callbacks.BackupAndRestore("/tmp/backup")
    >>> model.fit(x, y, epochs=10, callbacks=[backup])   # interrupted in epoch 6
    >>> model.fit(x, y, epochs=10, callbacks=[backup])   # runs epochs 6 to 10
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and (not isinstance(save_freq, int)
                                     or isinstance(save_freq, bool)):
            raise ValueError(f"Invalid value for argument `save_freq`. Received: "
                             f"save_freq={save_freq}. Expected either 'epoch' or an integer "
                             "value.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.h5")
        self._metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._current_epoch = 0
        self._last_batch_seen = 0
        self._batches_since_saving = 0

    def on_train_begin(self, logs=None):
        try:
            self._restore()
        except OSError:
            # the latest backup cannot be read (an interruption while writing it): fall back
            # on the previous one, when double_checkpoint kept it
            previous = self._weights_path + ".bkp"
            if not os.path.exists(previous):
                raise
            shutil.copyfile(previous, self._weights_path)
            if os.path.exists(self._metadata_path + ".bkp"):
                shutil.copyfile(self._metadata_path + ".bkp", self._metadata_path)
            elif os.path.exists(self._metadata_path):
                os.remove(self._metadata_path)
            self._restore()

    def _restore(self):
        if not getattr(self.model, "built", True):
            raise ValueError("To use the BackupAndRestore callback, you model must be built "
                             f"before you call `fit()`. Model {self.model} is unbuilt. You "
                             "can build it beforehand by calling it on a batch of data.")
        if os.path.exists(self._weights_path):
            self.model.load_weights(self._weights_path)
        if os.path.exists(self._metadata_path):
            with open(self._metadata_path) as f:
                # fit starts at this epoch (Keras's model._initial_epoch)
                self.model._initial_epoch = json.load(f)["epoch"]

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save()

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        # batch numbers restart at each epoch
        self._batches_since_saving += batch + 1 if batch <= self._last_batch_seen \
            else batch - self._last_batch_seen
        self._last_batch_seen = batch
        if self._batches_since_saving >= self.save_freq:
            self._batches_since_saving = 0
            self._save()

    def _save(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint:
            for path in (self._weights_path, self._metadata_path):
                if os.path.exists(path):
                    shutil.copyfile(path, path + ".bkp")
        self.model.save_weights(self._weights_path, overwrite=True)
        with open(self._metadata_path, "w") as f:
            json.dump({"epoch": self._current_epoch, "batch": self._last_batch_seen}, f)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)
