"""Keras's model files both ways (issue 14): Keras writes ``.keras``/``.h5`` -> rnncore loads,
predicts the same numbers and trains on; rnncore writes them -> Keras loads, predicts the same
numbers and trains on."""
import numpy as np
import pytest

import rnncore


def _build(lib, kind):
    L = lib.layers
    if kind == "embedding-lstm":
        return lib.Sequential([L.Input((6,), dtype="int32"), L.Embedding(20, 4), L.LSTM(3),
                               L.Dense(1, activation="sigmoid")])
    if kind == "bidirectional-gru-stack":
        return lib.Sequential([L.Input((6, 2)), L.Bidirectional(L.GRU(3, return_sequences=True)),
                               L.Bidirectional(L.GRU(2), merge_mode="sum"), L.Dense(1)])
    if kind == "newer-layers":
        return lib.Sequential([L.Input((6, 3)), L.Conv1D(4, 2, activation="relu"),
                               L.BatchNormalization(), L.LayerNormalization(),
                               L.SimpleRNN(3, return_sequences=True),
                               L.TimeDistributed(L.Dense(2)), L.PReLU(),
                               L.MaxPooling1D(2, padding="same"), L.Dropout(0.1),
                               L.RNN([L.LSTMCell(2), L.GRUCell(3)]), L.Dense(1)])
    if kind == "masked-functional":
        i = L.Input((6, 2))
        m = L.Masking()(i)
        a = L.LSTM(3, return_sequences=True)(m)
        b = L.GRU(3, return_sequences=True)(m)
        c = L.Attention()([a, b])
        return lib.Model(i, L.Dense(1)(L.GlobalAveragePooling1D()(c)))
    raise ValueError(kind)


KINDS = ["embedding-lstm", "bidirectional-gru-stack", "newer-layers", "masked-functional"]


def _data(rng, kind, n=16):
    if kind == "embedding-lstm":
        x = rng.integers(0, 20, (n, 6))
        return x, rng.integers(0, 2, (n, 1)).astype("float32")
    x = rng.standard_normal((n, 6, 3 if kind == "newer-layers" else 2)).astype("float32")
    if kind == "masked-functional":
        x[: n // 2, -2:] = 0.0  # masked steps
    return x, rng.standard_normal((n, 1)).astype("float32")


def _compile(lib, model, kind):
    if kind == "embedding-lstm":
        model.compile(lib.optimizers.RMSprop(1e-3), "binary_crossentropy",
                      metrics=["accuracy"])
    else:
        model.compile(lib.optimizers.Adam(1e-2), "mse")


def _keras_can_reload(suffix, kind):
    # Keras 3.15 itself cannot reload a masked functional graph from legacy .h5 (it revives
    # Attention's score_mode as a function)
    return not (suffix == ".h5" and kind == "masked-functional")


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("kind", KINDS)
def test_rnncore_loads_what_keras_wrote_and_trains_on(keras, rng, tmp_path, kind, suffix):
    k_model = _build(keras, kind)
    _compile(keras, k_model, kind)
    x, y = _data(rng, kind)
    k_model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    path = tmp_path / f"m{suffix}"
    k_model.save(path)
    r_model = rnncore.models.load_model(path)
    np.testing.assert_allclose(r_model.predict(x, verbose=0),
                               np.asarray(k_model.predict(x, verbose=0)), atol=1e-5)
    assert r_model.optimizer.iterations == int(k_model.optimizer.iterations.numpy()) == 2
    before = [w.copy() for w in r_model.get_weights()]
    loss = r_model.fit(x, y, batch_size=8, epochs=2, verbose=0).history["loss"]
    assert np.isfinite(loss).all()
    assert any(not np.array_equal(a, b) for a, b in zip(before, r_model.get_weights()))


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("kind", KINDS)
def test_keras_loads_what_rnncore_wrote_and_trains_on(keras, rng, tmp_path, kind, suffix):
    if not _keras_can_reload(suffix, kind):
        pytest.skip("Keras 3.15 cannot reload a masked functional graph from legacy .h5")
    r_model = _build(rnncore, kind)
    _compile(rnncore, r_model, kind)
    x, y = _data(rng, kind)
    r_model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    path = tmp_path / f"m{suffix}"
    r_model.save(path)
    k_model = keras.models.load_model(path)
    np.testing.assert_allclose(np.asarray(k_model.predict(x, verbose=0)),
                               r_model.predict(x, verbose=0), atol=1e-5)
    assert int(k_model.optimizer.iterations.numpy()) == 2
    if suffix == ".h5":
        # Keras 3.15 cannot train a model it loaded from legacy .h5 with an optimizer state
        # (its own files included: "Unknown variable"); a fresh compile can
        _compile(keras, k_model, kind)
    before = [np.array(w) for w in k_model.get_weights()]
    loss = k_model.fit(x, y, batch_size=8, epochs=2, verbose=0).history["loss"]
    assert np.isfinite(loss).all()
    assert any(not np.array_equal(a, b) for a, b in zip(before, k_model.get_weights()))


@pytest.mark.parametrize("kind", KINDS)
def test_a_keras_file_keeps_keras_weight_layout(keras, tmp_path, kind):
    # the HDF5 inside rnncore's .keras has exactly the groups, datasets, shapes and dtypes
    # Keras writes for the same architecture
    import h5py
    import io
    import zipfile

    def layout(path):
        with zipfile.ZipFile(path) as zf, h5py.File(io.BytesIO(zf.read("model.weights.h5"))) as f:
            out = {}
            f.visititems(lambda name, obj: out.__setitem__(
                name, (obj.shape, obj.dtype) if isinstance(obj, h5py.Dataset) else None))
            return out

    r_model, k_model = _build(rnncore, kind), _build(keras, kind)
    r_model.save(tmp_path / "r.keras")
    k_model.save(tmp_path / "k.keras")
    assert layout(tmp_path / "r.keras") == layout(tmp_path / "k.keras")


def test_save_refuses_a_suffix_keras_does_not_know(tmp_path):
    model = _build(rnncore, "embedding-lstm")
    with pytest.raises(ValueError, match=r"`.keras` extension.*Received: filepath=.*m\.model"):
        model.save(tmp_path / "m.model")


def _more(lib, kind):
    """Models covering the rest of rnncore's layers: (model, input spec)."""
    L = lib.layers
    if kind == "conv-pool-reshape":
        i = L.Input((6, 3))
        a = L.Conv1D(4, 3, padding="causal", activation="relu")(i)
        c = L.GlobalMaxPooling1D()(L.AveragePooling1D(2, padding="same")(a))
        d = L.Flatten()(L.Reshape((3, 2))(L.Dense(6)(c)))
        return lib.Model(i, L.Dense(1)(d)), (6, 3)
    if kind == "attention-merge-permute":
        i = L.Input((6, 3))
        a, q = L.LSTM(4, return_sequences=True)(i), L.GRU(4, return_sequences=True)(i)
        m = L.Concatenate()([a, L.AdditiveAttention()([a, q])])
        return lib.Model(i, L.Dense(1)(L.GlobalAveragePooling1D()(L.Permute((2, 1))(m)))), (6, 3)
    if kind == "activations-noise-repeat":
        return lib.Sequential([
            L.Input((6, 3)), L.SimpleRNN(4, return_sequences=True), L.ReLU(), L.LeakyReLU(0.2),
            L.ELU(), L.SpatialDropout1D(0.1), L.GaussianNoise(0.1), L.GaussianDropout(0.1),
            L.LSTM(3), L.RepeatVector(2), L.GRU(2), L.Activation("tanh"), L.Dense(3),
            L.Softmax()]), (6, 3)
    if kind == "encoder-decoder":
        enc, dec = L.Input((5, 3)), L.Input((4, 2))
        _, h, c = L.LSTM(4, return_state=True)(enc)
        y = L.LSTM(4, return_sequences=True)(dec, initial_state=[h, c])
        return lib.Model([enc, dec], L.TimeDistributed(L.Dense(2))(y)), [(5, 3), (4, 2)]
    if kind == "mask-zero-two-outputs":
        i = L.Input((6,), dtype="int32")
        h = L.Bidirectional(L.LSTM(3))(L.Embedding(20, 4, mask_zero=True)(i))
        return lib.Model(i, [L.Dense(1, name="o1")(h), L.Dense(2, name="o2")(h)]), "int"
    if kind == "nested-and-shared":
        inner = lib.Sequential([L.Input((6, 3)), L.GRU(3, return_sequences=True),
                                L.LayerNormalization()], name="inner")
        i = L.Input((6, 3))
        shared = L.LSTM(2)
        x1 = shared(inner(i))
        x2 = L.Add()([x1, L.Dense(2)(L.Flatten()(i))])
        return lib.Model(i, L.Multiply()([x2, x1])), (6, 3)
    raise ValueError(kind)


MORE = ["conv-pool-reshape", "attention-merge-permute", "activations-noise-repeat",
        "encoder-decoder", "mask-zero-two-outputs", "nested-and-shared"]


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("direction", ["rnncore-to-keras", "keras-to-rnncore"])
@pytest.mark.parametrize("kind", MORE)
def test_the_other_layers_cross_over_with_equal_predictions(keras, rng, tmp_path, kind,
                                                            direction, suffix):
    source, target = (rnncore, keras) if direction == "rnncore-to-keras" else (keras, rnncore)
    model, spec = _more(source, kind)
    model.compile("adam", "mse")
    if spec == "int":
        x = rng.integers(0, 20, (8, 6)).astype("int32")
        x[:, :2] = 0  # masked
    elif isinstance(spec, list):
        x = [rng.standard_normal((8, *s)).astype("float32") for s in spec]
    else:
        x = rng.standard_normal((8, *spec)).astype("float32")
    model.save(tmp_path / f"m{suffix}")
    loaded = target.models.load_model(tmp_path / f"m{suffix}")
    expected, got = model.predict(x, verbose=0), loaded.predict(x, verbose=0)
    expected = expected if isinstance(expected, list) else [expected]
    got = got if isinstance(got, list) else [got]
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)


@pytest.mark.parametrize("direction", ["rnncore-to-keras", "keras-to-rnncore"])
def test_an_adapted_text_vectorization_crosses_over_in_keras_files(keras, tf, tmp_path,
                                                                   direction):
    # rnncore keeps the vocabulary in the config; Keras keeps an adapted one in the archive's
    # assets/<layer path>/vocabulary.txt, which rnncore reads as Keras's load_assets does
    texts = np.array(["the cat sat", "the dog ran fast", "a cat and a dog"])
    source, target = (rnncore, keras) if direction == "rnncore-to-keras" else (keras, rnncore)
    vectorize = source.layers.TextVectorization(max_tokens=20, output_sequence_length=5)
    vectorize.adapt(tf.constant(texts) if source is keras else texts)
    model = source.Sequential([source.Input(shape=(1,), dtype="string"), vectorize,
                               source.layers.Embedding(20, 3), source.layers.LSTM(2)])
    model.save(tmp_path / "text.keras")
    loaded = target.models.load_model(tmp_path / "text.keras")

    def run(m, lib):
        x = texts[:, None]
        return np.asarray(m.predict(tf.constant(x) if lib is keras else x, verbose=0))

    np.testing.assert_allclose(run(loaded, target), run(model, source), atol=1e-6)
    assert list(loaded.layers[0].get_vocabulary()) == list(vectorize.get_vocabulary())


@pytest.mark.parametrize("kind", ["bidirectional-gru-stack", "masked-functional"])
def test_to_json_is_keras_json_both_ways(keras, rng, kind):
    r_model = _build(rnncore, kind)
    k_model = keras.models.model_from_json(r_model.to_json())
    k_model.set_weights(r_model.get_weights())
    x, _ = _data(rng, kind)
    np.testing.assert_allclose(np.asarray(k_model.predict(x, verbose=0)),
                               r_model.predict(x, verbose=0), atol=1e-5)
    again = rnncore.models.model_from_json(k_model.to_json())
    again.set_weights(k_model.get_weights())
    np.testing.assert_allclose(again.predict(x, verbose=0), r_model.predict(x, verbose=0),
                               atol=1e-5)


def test_an_rnncore_extension_survives_its_own_round_trip_and_keras_names_it(keras, rng,
                                                                             tmp_path):
    # truncate_gradient=-1 (Keras's behaviour) is left out of the file; another value is
    # written, read back by rnncore and refused by Keras by name rather than dropped
    L = rnncore.layers
    model = rnncore.Sequential([L.Input((6, 2)), L.LSTM(3, truncate_gradient=2), L.Dense(1)])
    model.save(tmp_path / "tbptt.keras")
    loaded = rnncore.models.load_model(tmp_path / "tbptt.keras")
    assert loaded.layers[0].get_config()["truncate_gradient"] == 2
    with pytest.raises(Exception, match="truncate_gradient"):
        keras.models.load_model(tmp_path / "tbptt.keras")
    plain = _build(rnncore, "bidirectional-gru-stack")
    assert "truncate_gradient" not in plain.to_json()


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("direction", ["rnncore-to-keras", "keras-to-rnncore"])
def test_a_stateful_model_crosses_over(keras, rng, tmp_path, direction, suffix):
    source, target = (rnncore, keras) if direction == "rnncore-to-keras" else (keras, rnncore)
    L = source.layers
    model = source.Sequential([L.Input(batch_shape=(4, 5, 2)), L.LSTM(3, stateful=True),
                               L.Dense(1)])
    x = rng.standard_normal((4, 5, 2)).astype("float32")
    model.save(tmp_path / f"s{suffix}")
    loaded = target.models.load_model(tmp_path / f"s{suffix}")
    for m in (model, loaded):
        m.layers[0].reset_states()
    for _ in range(2):  # the state carries over between calls in both
        np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)),
                                   np.asarray(model.predict(x, verbose=0)), atol=1e-5)


def _scale_layer(lib):
    class Scale(lib.layers.Layer):
        """A custom layer, as a user writes it for either engine (issue 15)."""

        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.scale = self.add_weight(shape=(self.units,), name="scale",
                                         initializer="random_normal")

        def call(self, x):
            return x * self.scale

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    return Scale


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("direction", ["rnncore-to-keras", "keras-to-rnncore"])
def test_a_custom_layer_loads_with_custom_objects_as_in_keras(keras, rng, tmp_path, direction,
                                                              suffix):
    source, target = (rnncore, keras) if direction == "rnncore-to-keras" else (keras, rnncore)
    L = source.layers
    model = source.Sequential([L.Input((6, 2)), L.LSTM(3), _scale_layer(source)(3),
                               L.Dense(1)])
    x = rng.standard_normal((4, 6, 2)).astype("float32")
    model.save(tmp_path / f"c{suffix}")
    if target is rnncore:  # the file names a class; only the program can hand it over
        with pytest.raises(ValueError, match=r"layer 'scale.*' .*Scale"):
            rnncore.models.load_model(tmp_path / f"c{suffix}")
    loaded = target.models.load_model(tmp_path / f"c{suffix}",
                                      custom_objects={"Scale": _scale_layer(target)})
    np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)),
                               np.asarray(model.predict(x, verbose=0)), atol=1e-5)


def test_a_bidirectional_writes_its_backward_layer_as_keras(keras):
    """Keras writes both directions; rebuilt from the forward one alone, Keras 3.15 can hand a
    second Bidirectional an earlier layer (a reused address in its loading scope)."""
    configs = [lib.layers.Bidirectional(lib.layers.GRU(2)).get_config()
               for lib in (keras, rnncore)]
    assert set(configs[1]) == set(configs[0])
    for config in configs:
        assert config["backward_layer"]["class_name"] == "GRU"
        assert config["backward_layer"]["config"]["go_backwards"] is True


def test_a_sequential_never_built_saves_and_loads_both_ways_as_keras(keras, tmp_path):
    """Keras writes an unbuilt Sequential (configs, no weights), as its own lookup tests do;
    once loaded it builds on its first call. A subclassed model unbuilt is still refused."""
    x = np.ones((2, 3), "float32")
    for writer, reader in ((rnncore, keras), (keras, rnncore), (rnncore, rnncore)):
        model = writer.Sequential([writer.layers.Dense(2, name="d")])
        model.compile(optimizer="adam", loss="mse")
        path = tmp_path / f"{writer.__name__}_{reader.__name__}.keras"
        model.save(path)
        loaded = reader.models.load_model(path)
        assert [layer.name for layer in loaded.layers] == ["d"]
        assert loaded.predict(x, verbose=0).shape == (2, 2)

    class Sub(rnncore.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.d = rnncore.layers.Dense(2)

        def call(self, inputs):
            return self.d(inputs)

    with pytest.raises(ValueError, match="is not built yet"):
        Sub().save(tmp_path / "sub.keras")
