"""TensorBoard: the epoch's metrics written as TensorBoard scalars."""
import os

from ._base import Callback


class TensorBoard(Callback):
    """Keras's ``TensorBoard`` callback: at the end of each epoch, the training logs (and the
    optimizer's learning rate) go to ``<log_dir>/train`` and the validation logs (``val_``
    dropped) to ``<log_dir>/validation``, each as the scalar ``epoch_<name>`` at step
    ``epoch``, in TensorBoard's event files (written with TensorFlow's ``tf.summary.write``,
    so TensorFlow must be installed, as for Keras; the ``tensorboard`` package need not be).

    ``histogram_freq``, ``write_graph``, ``write_images``, ``write_steps_per_second``,
    ``update_freq`` (batch-level scalars), ``profile_batch``, ``embeddings_freq`` and
    ``embeddings_metadata`` are accepted; rnncore writes epoch scalars only.
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None):
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq, self.write_graph = histogram_freq, write_graph
        self.write_images, self.write_steps_per_second = write_images, write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self.profile_batch, self.embeddings_freq = profile_batch, embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._writers = {}

    def _writer(self, which):
        if which not in self._writers:
            try:
                import tensorflow as tf
            except ImportError as exc:
                raise ImportError("TensorBoard writes its event files with TensorFlow's "
                                  "tf.summary; install tensorflow (or tensorflow-cpu) to use "
                                  "it") from exc
            self._tf = tf
            # the scalar plugin's marker, which tf.summary.scalar would add (it needs the
            # tensorboard package; the event is the same)
            self._metadata = tf.compat.v1.SummaryMetadata()
            self._metadata.plugin_data.plugin_name = "scalars"
            self._writers[which] = tf.summary.create_file_writer(
                os.path.join(self.log_dir, which))
        return self._writers[which]

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        if train and optimizer is not None and hasattr(optimizer, "learning_rate"):
            train["learning_rate"] = float(optimizer.learning_rate)
        for which, values in (("train", train), ("validation", val)):
            if not values:
                continue
            writer = self._writer(which)
            with writer.as_default():
                for name, value in values.items():
                    self._tf.summary.write(f"epoch_{name}",
                                           self._tf.constant(float(value), self._tf.float32),
                                           step=epoch, metadata=self._metadata)
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}
