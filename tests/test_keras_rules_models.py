"""Rules from Keras's models test files (sequential_test.py, functional_test.py): errors a
program building a model meets, with Keras's exception type and words."""
import numpy as np
import pytest

import rnncore


# ---- Sequential's configuration errors (models/sequential_test.py) -------------------------
def _sequential_with_input(m):
    model = m.Sequential()
    model.add(m.Input(shape=(2,), batch_size=3))
    return model


@pytest.mark.parametrize("make, pattern", [
    (lambda m: _sequential_with_input(m).add(m.Input(shape=(2,), batch_size=3)),
     "already been configured"),
    (lambda m: _sequential_with_input(m).add(m.layers.InputLayer(shape=(2,), batch_size=3)),
     "already been configured"),
    (lambda m: (lambda s: (s.add(m.layers.Dense(2)), s.build((3, 4))))(_sequential_with_input(m)),
     "already been configured"),
    (lambda m: m.Sequential().add({}), "Only instances of"),
])
def test_sequential_configuration_errors_as_keras(keras, make, pattern):
    for module in (keras, rnncore):
        with pytest.raises(ValueError, match=pattern):
            make(module)


def test_sequential_with_input_still_builds_with_its_own_shape(keras):
    model = _sequential_with_input(rnncore)
    model.add(rnncore.layers.Dense(2))
    model.build((3, 2))
    assert model.built and model.predict(np.ones((3, 2)), verbose=0).shape == (3, 2)



def test_functional_call_with_a_wrong_shape_says_expected_and_found(keras):
    def make(m):
        inp = m.Input((4,))
        m.Model(inp, m.layers.Dense(2)(inp))(np.zeros((2, 3)))

    for module in (keras, rnncore):
        with pytest.raises(ValueError, match=r"expected shape=\(None, 4\), found shape=\(2, 3\)"):
            make(module)
