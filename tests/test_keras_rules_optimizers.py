"""Rules from Keras's optimizers and utils test files: argument checks a program notices."""
import re

import numpy as np
import pytest

import rnncore


@pytest.mark.parametrize("momentum", [-1.0, 1.5])
def test_sgd_momentum_out_of_range_raises_as_keras(keras, momentum):
    pattern = r"`momentum` must be a float between \[0, 1\]."
    for module in (keras, rnncore):
        with pytest.raises(ValueError, match=pattern):
            module.optimizers.SGD(momentum=momentum)


def test_pad_sequences_of_strings_into_int_raises_as_keras(keras):
    pattern = "`dtype` int32 is not compatible with "
    for module in (keras, rnncore):
        with pytest.raises(ValueError, match=pattern):
            module.utils.pad_sequences([["a", "b"], ["c"]], value="pad", dtype="int32")
    padded = rnncore.utils.pad_sequences([["a", "b"], ["c"]], value="pad", dtype=object)
    expected = keras.utils.pad_sequences([["a", "b"], ["c"]], value="pad", dtype=object)
    assert padded.tolist() == expected.tolist()
    assert re.search("pad", str(padded))
    assert np.asarray(padded).shape == (2, 2)
