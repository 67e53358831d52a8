"""Callbacks with Keras 3's names, arguments and behaviour (``keras.callbacks``).

The trainer drives them through a :class:`CallbackList`::

    callbacks = CallbackList(user_callbacks, add_history=True,
                             add_progbar=verbose != 0, model=model,
                             verbose=verbose, epochs=epochs, steps=steps_per_epoch)
    callbacks.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        callbacks.on_epoch_begin(epoch)
        for step in range(steps_per_epoch):
            callbacks.on_train_batch_begin(step)
            logs = ...                       # running averages: {'loss': .., 'accuracy': ..}
            callbacks.on_train_batch_end(step, logs)
            if model.stop_training:
                break
        epoch_logs = ...                     # + {'val_loss': .., 'val_accuracy': ..}
        callbacks.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    callbacks.on_train_end(epoch_logs)

Differences from Keras 3, all deliberate: ``ModelCheckpoint`` takes any file
name (Keras insists on ``.keras`` / ``.weights.h5``; the tutorials we serve use
``'best-lstm-model.h5'``); callbacks run synchronously (Keras may run batch
hooks on a thread pool; the order of events is the same).
"""

from ._base import Callback, CallbackList, History, ProgbarLogger
from ._misc import (CSVLogger, LambdaCallback, LearningRateScheduler, ReduceLROnPlateau,
                    TerminateOnNaN)
from ._monitor import EarlyStopping, ModelCheckpoint
from ._tensorboard import TensorBoard
from ._backup_and_restore import BackupAndRestore

__all__ = [
    "Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping",
    "ModelCheckpoint", "TerminateOnNaN", "CSVLogger", "LambdaCallback",
    "LearningRateScheduler", "ReduceLROnPlateau", "TensorBoard", "BackupAndRestore",
]
