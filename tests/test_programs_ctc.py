"""The CTC programs of keras-io ("OCR model for reading Captchas", "Handwriting recognition",
"CTC ASR") with the import swapped: a two-input model whose endpoint layer adds the CTC loss
(``ops.ctc_loss``) with ``add_loss``, a model compiled with ``loss=keras.losses.CTC()``, a prediction model cut
out of the trained one, and its outputs decoded with ``ops.ctc_decode``. Each runs in Keras
and in rnncore from the same weights; the losses, the weights after training and the decoded
labels and scores must agree.

The image features are generated frames (no Conv2D): ``(batch, frames, features)``."""
import numpy as np
import pytest

import rnncore
from _tolerance import TRAINING_RTOL, rel_err

FRAMES, FEATURES, CHARACTERS, MAX_LENGTH = 20, 12, 6, 5


def _data(rng, n=16, padded=False):
    """Frames and their label sequences (classes 1..CHARACTERS; 0 is the blank and, with
    `padded`, the padding of shorter sequences)."""
    x = rng.normal(size=(n, FRAMES, FEATURES)).astype("float32")
    y = rng.integers(1, CHARACTERS + 1, size=(n, MAX_LENGTH)).astype("float32")
    if padded:
        lengths = rng.integers(1, MAX_LENGTH + 1, size=n)
        y[np.arange(MAX_LENGTH) >= lengths[:, None]] = 0
    return x, y


def _ocr_model(lib):
    """The captcha example's model, its convolutions replaced by a Dense over the frames."""
    ops = lib.ops

    class CTCLayer(lib.layers.Layer):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.loss_fn = ctc_batch_cost

        def call(self, y_true, y_pred):
            batch_len = ops.cast(ops.shape(y_true)[0], dtype="int64")
            input_length = ops.cast(ops.shape(y_pred)[1], dtype="int64")
            label_length = ops.cast(ops.shape(y_true)[1], dtype="int64")
            input_length = input_length * ops.ones(shape=(batch_len, 1), dtype="int64")
            label_length = label_length * ops.ones(shape=(batch_len, 1), dtype="int64")
            loss = self.loss_fn(y_true, y_pred, input_length, label_length)
            self.add_loss(loss)  # one value per sample: Keras adds them up
            return y_pred

    def ctc_batch_cost(y_true, y_pred, input_length, label_length):
        return ops.ctc_loss(y_true, y_pred, ops.squeeze(label_length, axis=-1),
                            ops.squeeze(input_length, axis=-1))

    input_img = lib.Input(shape=(FRAMES, FEATURES), name="image", dtype="float32")
    labels = lib.layers.Input(name="label", shape=(None,), dtype="float32")
    x = lib.layers.Dense(16, activation="relu", name="dense1")(input_img)
    x = lib.layers.Dropout(0.0)(x)
    x = lib.layers.Bidirectional(lib.layers.LSTM(8, return_sequences=True))(x)
    x = lib.layers.Dense(CHARACTERS + 1, activation="softmax", name="dense2")(x)
    output = CTCLayer(name="ctc_loss")(labels, x)
    model = lib.models.Model(inputs=[input_img, labels], outputs=output, name="ocr_model_v1")
    model.compile(optimizer=lib.optimizers.Adam())
    return model


def _decode_batch_predictions(lib, pred, **kwargs):
    input_len = np.ones(pred.shape[0]) * pred.shape[1]
    decoded, scores = lib.ops.ctc_decode(pred, input_len, **kwargs)
    return np.asarray(decoded)[:, :, :MAX_LENGTH], np.asarray(scores)


def _assert_same_training(k_model, r_model, k_history, r_history):
    assert list(r_history) == list(k_history)
    for key in k_history:
        assert rel_err(r_history[key], k_history[key]) <= TRAINING_RTOL, key
    for r_w, k_w in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(r_w, k_w) <= TRAINING_RTOL


@pytest.mark.filterwarnings("ignore:`shuffle=True` was passed")
def test_captcha_ocr_trains_and_decodes_as_keras(keras, tf, rng):
    """The example's flow: a tf.data pipeline of {"image", "label"} dicts, validation on a
    dict of arrays (no targets: the loss comes from add_loss), a prediction model from the
    image input to the softmax, and its predictions decoded."""
    x, y = _data(rng)
    train = tf.data.Dataset.from_tensor_slices({"image": x[:12], "label": y[:12]}).batch(4)
    valid = {"image": x[12:], "label": y[12:]}
    k_model, r_model = _ocr_model(keras), _ocr_model(rnncore)
    r_model.set_weights(k_model.get_weights())
    fit = dict(validation_data=valid, epochs=2, verbose=0)
    k_history = k_model.fit(train, **fit).history
    r_history = r_model.fit(train, **fit).history
    _assert_same_training(k_model, r_model, k_history, r_history)

    preds = []
    for lib, model in ((keras, k_model), (rnncore, r_model)):
        prediction_model = lib.models.Model(model.input[0],
                                            model.get_layer(name="dense2").output)
        preds.append(prediction_model.predict(valid["image"], verbose=0))
    np.testing.assert_allclose(preds[1], preds[0], atol=1e-6)
    for kwargs in ({}, {"strategy": "beam_search", "beam_width": 10, "top_paths": 2}):
        theirs = _decode_batch_predictions(keras, preds[0], **kwargs)
        mine = _decode_batch_predictions(rnncore, preds[1], **kwargs)
        np.testing.assert_array_equal(mine[0], theirs[0])
        np.testing.assert_allclose(mine[1], theirs[1], rtol=1e-5)


def test_model_compiled_with_ctc_loss_trains_as_keras(keras, rng):
    """A speech-style model (frames -> BiGRU -> per-frame logits) compiled with
    ``loss=keras.losses.CTC()``: zero-padded label sequences of several lengths."""
    x, y = _data(rng, padded=True)
    models = [lib.Sequential([
        lib.Input((FRAMES, FEATURES)),
        lib.layers.Dense(16, activation="relu"),
        lib.layers.Bidirectional(lib.layers.GRU(8, return_sequences=True)),
        lib.layers.Dense(CHARACTERS + 1)]) for lib in (keras, rnncore)]
    models[1].set_weights(models[0].get_weights())
    histories, preds = [], []
    for lib, model in zip((keras, rnncore), models):
        model.compile(optimizer=lib.optimizers.RMSprop(learning_rate=0.01),
                      loss=lib.losses.CTC())
        histories.append(model.fit(x, y, epochs=2, batch_size=8, shuffle=False,
                                   verbose=0).history)
        preds.append(np.asarray(model(x)))  # eager: no predict function to trace
    _assert_same_training(*models, *histories)
    k_pred, r_pred = preds
    lengths = np.full(len(x), FRAMES)
    for kwargs in ({"merge_repeated": False}, {"strategy": "beam_search", "beam_width": 8}):
        mine = rnncore.ops.ctc_decode(r_pred, lengths, **kwargs)
        theirs = keras.ops.ctc_decode(k_pred, lengths, **kwargs)
        np.testing.assert_array_equal(mine[0], theirs[0].numpy())
        np.testing.assert_allclose(mine[1], theirs[1].numpy(), rtol=1e-5)


def test_ctc_targets_of_the_wrong_rank_are_refused_before_training(rng):
    model = rnncore.Sequential([rnncore.Input((FRAMES, FEATURES)),
                                rnncore.layers.Dense(CHARACTERS + 1)])
    model.compile(optimizer="adam", loss=rnncore.losses.CTC())
    x, y = _data(rng, n=4)
    with pytest.raises(ValueError, match=r"Targets `y_true` are expected to be a tensor of "
                                         r"shape `\(batch_size, max_length\)`.*\(4, 5, 1\)"):
        model.fit(x, y[:, :, None], verbose=0)


def test_validation_inputs_without_targets_need_a_model_trained_on_its_own_losses(rng):
    model = rnncore.Sequential([rnncore.Input((FRAMES, FEATURES)),
                                rnncore.layers.Dense(CHARACTERS + 1)])
    model.compile(optimizer="adam", loss=rnncore.losses.CTC())
    x, y = _data(rng, n=4)
    with pytest.raises(ValueError, match=r"validation_data must hold targets"):
        model.fit(x, y, validation_data={model.inputs[0].name: x}, verbose=0)


@pytest.mark.filterwarnings("ignore:Cannot load .* optimizer variables")
def test_ctc_loss_is_saved_and_loaded_with_the_model(keras, tmp_path, rng):
    x, y = _data(rng, n=4, padded=True)
    k_model = keras.Sequential([keras.Input((FRAMES, FEATURES)),
                                keras.layers.Dense(CHARACTERS + 1)])
    k_model.compile(optimizer="adam", loss=keras.losses.CTC())
    k_model.save(tmp_path / "keras.keras")
    r_model = rnncore.models.load_model(tmp_path / "keras.keras")
    assert isinstance(r_model.loss, rnncore.losses.CTC)
    np.testing.assert_allclose(r_model.evaluate(x, y, verbose=0),
                               keras.losses.CTC()(y, k_model(x)).numpy(), rtol=1e-5)
    r_model.save(tmp_path / "rnncore.keras")
    loaded = keras.models.load_model(tmp_path / "rnncore.keras")
    assert loaded.loss.get_config() == keras.losses.CTC().get_config()
