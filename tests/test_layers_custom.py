"""Layers written as Keras writes them (``build`` + ``call`` with ``rnncore.ops``): weights and
their options, shapes, masks, configs, sub-layers; gradients through a recorded call against
finite differences; subclassed models through fit, evaluate, predict, summary and weight files;
and the errors a wrong custom layer gets."""
import numpy as np
import pytest

import rnncore
from rnncore import layers, ops


class Scale(layers.Layer):
    """y = x * kernel + offset, with a non-trainable offset and a regularized kernel."""

    def __init__(self, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        self.l2 = l2

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1],), initializer="ones",
                                      regularizer=rnncore.regularizers.L2(self.l2) if self.l2
                                      else None, constraint="non_neg", name="kernel")
        self.offset = self.add_weight(shape=(input_shape[-1],), initializer="zeros",
                                      trainable=False, name="offset")

    def call(self, inputs):
        return inputs * self.kernel + self.offset

    def get_config(self):
        return {**super().get_config(), "l2": self.l2}


class Block(layers.Layer):
    """A sub-layer held as an attribute, and a list of them."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.dense = layers.Dense(units, activation="tanh")
        self.extra = [layers.Dense(units), Scale()]

    def call(self, inputs, training=None, mask=None):
        h = self.dense(inputs)
        return self.extra[1](self.extra[0](h) + h)

    def compute_mask(self, inputs, mask=None):
        return mask


def test_weights_are_kerass_own_first_then_sublayers_in_attribute_order():
    block = Block(3)
    block(np.zeros((2, 4), "float32"))
    # the sublayers are built in the block's call, so in its name scope, as in Keras
    b = block.name
    assert [w.path for w in block.weights] == [
        f"{b}/{block.dense.name}/kernel", f"{b}/{block.dense.name}/bias",
        f"{b}/{block.extra[0].name}/kernel", f"{b}/{block.extra[0].name}/bias",
        f"{b}/{block.extra[1].name}/kernel", f"{b}/{block.extra[1].name}/offset"]
    assert [w.name for w in block.non_trainable_weights] == ["offset"]
    assert len(block.trainable_weights) == 5


def test_regularizer_joins_the_loss_and_constraint_and_non_trainable_weights_hold(rng):
    model = rnncore.Sequential([rnncore.Input((3,)), Scale(l2=0.1), layers.Dense(1)])
    model.compile("sgd", loss="mse")
    x, y = rng.normal(size=(8, 3)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")
    scale = model.layers[0]
    scale.kernel.assign(np.array([0.001, 1.0, 2.0], "float32"))
    assert len(model.losses) == 1
    np.testing.assert_allclose(model.losses[0], 0.1 * (0.001 ** 2 + 1 + 4), rtol=1e-6)
    model.fit(x, y, epochs=5, verbose=0)
    assert np.all(scale.kernel.numpy() >= 0)  # non_neg applied after each step
    np.testing.assert_array_equal(scale.offset.numpy(), np.zeros(3))


def test_custom_layer_config_round_trip_and_output_shape():
    layer = Scale(l2=0.5, name="scaled")
    clone = Scale.from_config(layer.get_config())
    assert clone.name == "scaled" and clone.l2 == 0.5
    # no compute_output_shape: found by running call, as Keras does
    assert Block(5).compute_output_shape((None, 4)) == (None, 5)


def test_gradient_through_a_recorded_call_matches_finite_differences():
    rnncore.set_floatx("float64")
    try:
        block = Block(3)
        x = np.random.default_rng(0).normal(size=(4, 5))
        block(x)
        w = np.random.default_rng(1).normal(size=(4, 3))
        block.forward(x, training=True)
        dx = block.backward(w)
        grads = [v.grad.copy() for v in block.trainable_weights]

        def objective():
            return np.sum(w * block(x))
        eps = 1e-6
        for var, g in zip(block.trainable_weights, grads):
            numeric = np.zeros_like(g)
            for i in np.ndindex(g.shape):
                var.value[i] += eps
                hi = objective()
                var.value[i] -= 2 * eps
                lo = objective()
                var.value[i] += eps
                numeric[i] = (hi - lo) / (2 * eps)
            np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-9, err_msg=var.path)
        numeric = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            x[i] += eps
            hi = objective()
            x[i] -= 2 * eps
            lo = objective()
            x[i] += eps
            numeric[i] = (hi - lo) / (2 * eps)
        np.testing.assert_allclose(dx, numeric, rtol=1e-6, atol=1e-9)
    finally:
        rnncore.set_floatx("float32")


def test_predict_records_nothing():
    block = Block(2)
    model = rnncore.Sequential([rnncore.Input((3,)), block])
    model.predict(np.ones((4, 3), "float32"), verbose=0)
    assert block._record is None


class TwoTower(rnncore.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.embed = layers.Embedding(20, 4)
        self.lstm = layers.LSTM(5)
        self.block = Block(3)
        self.out = layers.Dense(1, activation="sigmoid")

    def call(self, inputs, training=None):
        return self.out(self.block(self.lstm(self.embed(inputs))))


def test_subclassed_model_fits_evaluates_predicts_summarises_and_keeps_weights(rng, tmp_path):
    model = TwoTower()
    x = rng.integers(0, 20, size=(32, 6))
    y = rng.integers(0, 2, size=(32, 1)).astype("float32")
    model.compile("adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, acc = model.evaluate(x, y, verbose=0)
    assert np.isfinite(loss) and 0 <= acc <= 1
    p = model.predict(x, verbose=0)
    assert p.shape == (32, 1)
    lines = []
    model.summary(print_fn=lines.append)
    assert any("lstm" in line for line in lines)
    path = str(tmp_path / "two.weights.h5")
    model.save_weights(path)
    other = TwoTower()
    other(x[:1])
    other.load_weights(path)
    np.testing.assert_allclose(other.predict(x, verbose=0), p, rtol=1e-6)


# ---- errors -------------------------------------------------------------------------------
class ReturnsText(layers.Layer):
    def call(self, inputs):
        return "not an array"


class LateWeight(layers.Layer):
    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], 2), name="kernel")

    def call(self, inputs):
        extra = self.add_weight(shape=(2,), name="late")
        return ops.matmul(inputs, self.kernel) + extra


class Mismatch(layers.Layer):
    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(7, 2), name="kernel")

    def call(self, inputs):
        return ops.matmul(inputs, self.kernel)


def test_call_returning_a_non_array_is_a_type_error_naming_the_layer():
    with pytest.raises(TypeError, match=r"returns_text.*call\(\) must return an array.*str"):
        ReturnsText()(np.zeros((2, 3), "float32"))
    with pytest.raises(TypeError, match=r"call\(\) must return an array"):
        rnncore.Sequential([rnncore.Input((3,)), ReturnsText()])


def test_weight_created_in_call_after_build_is_refused():
    with pytest.raises(ValueError, match=r"tried to create the weight 'late' in call\(\) after "
                                         r"it was built.*__init__ or build"):
        LateWeight()(np.zeros((2, 3), "float32"))


def test_op_on_mismatched_shapes_in_call_names_the_shapes(rng):
    model = rnncore.Sequential([Mismatch()])
    model.compile("sgd", loss="mse")
    with pytest.raises(ValueError, match=r"matmul.*\(\d+, 3\).*\(7, 2\)"):
        model.fit(rng.normal(size=(4, 3)), np.zeros((4, 2)), verbose=0)


def test_a_layer_without_call_or_forward_says_so():
    with pytest.raises(NotImplementedError, match="defines no call"):
        layers.Layer().forward(np.zeros((2, 3)))


def test_register_keras_serializable_registers_and_returns_the_class():
    @rnncore.saving.register_keras_serializable(package="tests")
    class Registered(layers.Layer):
        def call(self, inputs):
            return inputs

    assert rnncore.saving.get_custom_objects()["tests>Registered"] is Registered
    assert rnncore.utils.register_keras_serializable is \
        rnncore.saving.register_keras_serializable
    np.testing.assert_array_equal(Registered()(np.ones((2, 3))), np.ones((2, 3)))


def test_activity_regularizer_inside_a_call_adds_its_penalty_to_the_loss():
    class Wrap(layers.Layer):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2, activity_regularizer="l2")

        def call(self, inputs):
            return self.dense(inputs)
    model = rnncore.Sequential([rnncore.Input((3,)), Wrap()])
    model.compile("sgd", "mse")
    x, y = np.ones((4, 3)), np.ones((4, 2))
    out = model.predict(x, verbose=0)
    penalty = 0.01 * np.sum(np.square(out)) / 4  # Keras's l2 default, over the batch size
    assert len(model.losses) == 1
    np.testing.assert_allclose(model.losses[0], penalty, rtol=1e-5)
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0),
                               np.mean(np.square(out - y)) + penalty, rtol=1e-5)


def test_add_loss_keeps_the_last_calls_terms():
    class Penalized(layers.Layer):
        def call(self, inputs):
            self.add_loss(ops.sum(inputs))
            return inputs
    layer = Penalized()
    layer(np.ones((2, 3)))
    layer(2 * np.ones((2, 3)))
    assert [float(v) for v in layer.losses] == [12.0]


def test_build_with_an_input_shape_makes_a_subclassed_models_weights():
    model = TwoTower()
    model.build((None, 6))
    assert model.count_params() == 20 * 4 + (4 * 20 + 5 * 20 + 20) + (5 * 3 + 3) + \
        (3 * 3 + 3) + 3 + 3 + (3 + 1)


def test_overriding_call_of_a_built_in_layer_is_refused_not_ignored():
    class Doubled(layers.Dense):
        def call(self, inputs):
            return 2 * super().call(inputs)
    with pytest.raises(NotImplementedError, match="Doubled subclasses rnncore's Dense and "
                                                  "overrides call"):
        Doubled(2)(np.ones((2, 3)))


def test_subclassed_model_with_several_outputs_returns_them_all():
    class TwoHeads(rnncore.Model):
        def __init__(self):
            super().__init__()
            self.a, self.b = layers.Dense(1), layers.Dense(2)

        def call(self, inputs):
            return [self.a(inputs), self.b(inputs)]
    out = TwoHeads()(np.ones((2, 3)))
    assert [o.shape for o in out] == [(2, 1), (2, 2)]


def test_a_frozen_sub_layer_is_not_trained(rng):
    model = TwoTower()
    x = rng.integers(0, 20, size=(16, 6))
    y = rng.integers(0, 2, size=(16, 1)).astype("float32")
    model(x[:1])
    model.lstm.trainable = False
    model.block.dense.trainable = False
    frozen = [w.numpy() for w in model.lstm.weights + model.block.dense.weights]
    # the frozen LSTM (3) and Dense (2), and the Scale's non-trainable offset
    assert len(model.trainable_weights) == len(model.weights) - 5 - 1
    model.compile("adam", "binary_crossentropy")
    model.fit(x, y, epochs=2, verbose=0)
    for before, w in zip(frozen, model.lstm.weights + model.block.dense.weights):
        np.testing.assert_array_equal(w.numpy(), before)
