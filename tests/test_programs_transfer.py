"""Keras's guide "Transfer learning & fine-tuning" run with rnncore as with Keras: setting
``trainable`` on a model or layer sets it on every layer inside, so a frozen base model's
BatchNormalization runs on its moving statistics, and unfreezing the base for fine-tuning
unfreezes layers frozen one by one before."""
import numpy as np

import rnncore


def _base(lib):
    layers = lib.layers
    # no conv bias: before a BatchNormalization its gradient is rounding noise, which Adam
    # would scale up
    return lib.Sequential([lib.Input((12, 3)),
                           layers.Conv1D(6, 3, activation="relu", use_bias=False),
                           layers.BatchNormalization(), layers.GlobalAveragePooling1D()],
                          name="base")


def test_trainable_reaches_the_layers_inside(keras):
    for lib in (keras, rnncore):
        inner = lib.Sequential([lib.Input((3,)), lib.layers.Dense(3), lib.layers.Dense(3)])
        model = lib.Sequential([lib.Input((3,)), inner, lib.layers.Dense(1)])
        inner.layers[0].trainable = False
        model.trainable = False
        assert not inner.trainable and not inner.layers[1].trainable
        model.trainable = True
        assert inner.layers[0].trainable
        assert len(model.trainable_weights) == 6


def test_frozen_base_then_fine_tuning_as_keras(keras, rng):
    x = rng.random((32, 12, 3)).astype("float32") * 4
    y = rng.integers(0, 2, (32, 1))
    results = []
    for lib in (keras, rnncore):
        base = _base(lib)
        inputs = lib.Input((12, 3))
        outputs = lib.layers.Dense(1)(base(inputs))
        model = lib.Model(inputs, outputs)
        if lib is rnncore:
            model.set_weights(weights)
        weights = model.get_weights()
        base.trainable = False
        model.compile(optimizer="adam", loss=lib.losses.BinaryCrossentropy(from_logits=True))
        frozen = model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history
        stats = [w.copy() for w in base.layers[1].get_weights()[2:]]
        base.trainable = True
        model.compile(optimizer=lib.optimizers.Adam(1e-3),
                      loss=lib.losses.BinaryCrossentropy(from_logits=True))
        tuned = model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history
        results.append((frozen["loss"], stats, tuned["loss"], model.get_weights()))
    (kf, ks, kt, kw), (rf, rs, rt, rw) = results
    np.testing.assert_allclose(rf, kf, rtol=1e-4)
    for r, k in zip(rs, ks):
        np.testing.assert_allclose(r, k, rtol=1e-5)
    np.testing.assert_allclose(rt, kt, rtol=1e-4)
    for r, k in zip(rw, kw):
        np.testing.assert_allclose(r, k, atol=1e-4)


def test_rescaling_layer_as_keras(keras, rng, tmp_path):
    pixels = rng.integers(0, 256, (8, 12, 3))
    k_layer = keras.layers.Rescaling(scale=1 / 127.5, offset=-1)
    r_layer = rnncore.layers.Rescaling(scale=1 / 127.5, offset=-1)
    np.testing.assert_allclose(r_layer(pixels), k_layer(pixels), atol=1e-6)
    assert set(r_layer.get_config()) == set(k_layer.get_config())
    # inside a model trained to Keras's numbers, and reloaded
    results = []
    for lib in (keras, rnncore):
        inputs = lib.Input((12, 3))
        x = lib.layers.Rescaling(scale=[0.5, 0.25, 0.1], offset=-1)(inputs)
        model = lib.Model(inputs, lib.layers.Dense(1)(lib.layers.GlobalAveragePooling1D()(x)))
        if lib is rnncore:
            model.set_weights(weights)
        weights = model.get_weights()
        model.compile(optimizer="sgd", loss="mse")
        history = model.fit(pixels.astype("float32") / 255, np.ones((8, 1)), batch_size=4,
                            shuffle=False, verbose=0)
        results.append(history.history["loss"])
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5)
    model.save(tmp_path / "m.keras")
    loaded = rnncore.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(pixels, verbose=0), model.predict(pixels, verbose=0))
