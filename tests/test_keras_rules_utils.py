"""Rules from Keras's utils test files (timeseries_dataset_utils_test.py)."""
import numpy as np
import pytest

import rnncore


def test_timeseries_dataset_takes_format_tf_as_keras(keras):
    data = np.arange(100)
    targets = data * 2
    ours = rnncore.utils.timeseries_dataset_from_array(data, targets, sequence_length=9,
                                                       batch_size=5, format="tf")
    theirs = keras.utils.timeseries_dataset_from_array(data, targets, sequence_length=9,
                                                       batch_size=5, format="tf")
    for (x, y), (kx, ky) in zip([ours[i] for i in range(len(ours))], theirs):
        np.testing.assert_array_equal(x, kx.numpy())
        np.testing.assert_array_equal(y, ky.numpy())


def test_timeseries_dataset_refuses_another_format_as_keras(keras):
    pattern = '`format` should be either "tf" or "grain"'
    for module in (keras, rnncore):
        with pytest.raises(ValueError, match=pattern):
            module.utils.timeseries_dataset_from_array(np.arange(10), None, 3, format="torch")
