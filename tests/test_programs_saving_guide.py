"""Programs from Keras's guide "Save, serialize and export", run with rnncore as with Keras:
a custom layer whose get_config leaves out its name reloads inside a functional model, and
clone_model of a compiled model gives a compiled clone (Keras 3)."""
import numpy as np

import rnncore


class Scale(rnncore.layers.Layer):
    """The guide's CustomLayer: its config is only its own argument (no name)."""

    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {"factor": self.factor}


def test_custom_layer_config_without_name_reloads_in_a_functional_model(tmp_path, rng):
    inputs = rnncore.Input((4,))
    outputs = rnncore.layers.Dense(3)(Scale(2.0)(inputs))
    model = rnncore.Model(inputs, outputs)
    x = rng.random((2, 4)).astype("float32")
    model.save(tmp_path / "m.keras")
    loaded = rnncore.models.load_model(tmp_path / "m.keras", custom_objects={"Scale": Scale})
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    clone = rnncore.Model.from_config(model.get_config(), custom_objects={"Scale": Scale})
    assert [type(layer).__name__ for layer in clone.layers] == ["InputLayer", "Scale", "Dense"]


def test_clone_of_a_compiled_model_is_compiled_as_in_keras(keras, rng):
    x = rng.random((16, 5, 3)).astype("float32")
    y = rng.random((16, 1)).astype("float32")
    results = []
    for lib in (keras, rnncore):
        model = lib.Sequential([lib.Input((5, 3)), lib.layers.LSTM(4), lib.layers.Dense(1)])
        if lib is rnncore:
            model.set_weights(weights)
        weights = model.get_weights()
        model.compile(optimizer=lib.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
        clone = lib.models.clone_model(model)
        clone.set_weights(weights)
        assert clone.compiled and clone.optimizer is not model.optimizer
        history = clone.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
        results.append(history.history)
    assert list(results[1]) == list(results[0])
    for key in results[0]:
        np.testing.assert_allclose(results[1][key], results[0][key], rtol=1e-4)
    plain = rnncore.Sequential([rnncore.Input((3,)), rnncore.layers.Dense(1)])
    assert not rnncore.models.clone_model(plain).compiled
    assert plain.get_compile_config() == {}
