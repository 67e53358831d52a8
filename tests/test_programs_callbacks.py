"""Callbacks of Keras's guides and tutorials run with rnncore as with Keras: TensorBoard
writes each epoch's metrics (and the learning rate) as the scalars Keras writes (Keras
itself needs the tensorboard package for it, which this environment may lack)."""
import numpy as np

import rnncore


def _scalars(log_dir, tf):
    """{(run, tag, step): value} of the event files under `log_dir`."""
    found = {}
    for run in ("train", "validation"):
        for path in sorted((log_dir / run).glob("events.out.tfevents.*")):
            for record in tf.data.TFRecordDataset(str(path)):
                event = tf.compat.v1.Event.FromString(record.numpy())
                for value in event.summary.value:
                    if value.tag.startswith("epoch_"):
                        number = tf.make_ndarray(value.tensor) if value.HasField("tensor") \
                            else value.simple_value
                        found[(run, value.tag, event.step)] = float(number)
    return found


def test_tensorboard_writes_the_epoch_scalars_keras_writes(tf, rng, tmp_path):
    x = rng.random((40, 6, 3)).astype("float32")
    y = rng.integers(0, 2, (40, 1))
    model = rnncore.Sequential([rnncore.Input((6, 3)), rnncore.layers.LSTM(4),
                                rnncore.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=rnncore.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, batch_size=8, validation_split=0.25, verbose=0,
                        callbacks=[rnncore.callbacks.TensorBoard(log_dir=tmp_path)])
    expected = {}
    for key, values in history.history.items():
        run = "validation" if key.startswith("val_") else "train"
        for step, value in enumerate(values):
            expected[(run, "epoch_" + key.removeprefix("val_"), step)] = value
    for step in range(2):
        expected[("train", "epoch_learning_rate", step)] = 0.01
    written = _scalars(tmp_path, tf)
    assert sorted(written) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(written[key], value, rtol=1e-6, err_msg=str(key))


def test_kerass_other_layer_names_are_the_same_classes(keras):
    for alias, name in (("MaxPool1D", "MaxPooling1D"), ("AvgPool1D", "AveragePooling1D"),
                        ("GlobalAvgPool1D", "GlobalAveragePooling1D"),
                        ("GlobalMaxPool1D", "GlobalMaxPooling1D"),
                        ("Convolution1D", "Conv1D"),
                        ("Convolution1DTranspose", "Conv1DTranspose")):
        assert getattr(keras.layers, alias) is getattr(keras.layers, name)
        assert getattr(rnncore.layers, alias) is getattr(rnncore.layers, name)
