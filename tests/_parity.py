"""Build the same model in Keras and in rnncore from one description, weights copied."""
import numpy as np


def build_pair(keras, spec, input_shape, input_dtype="float32", functional=False):
    """``spec``: list of (layer class name, args tuple, kwargs dict), Keras names.

    Returns (keras_model, rnncore_model) with rnncore's weights set from Keras's.
    ``Bidirectional`` takes a nested (name, args, kwargs) as its first arg.
    """
    import rnncore

    def make(lib, item):
        name, args, kwargs = item
        if name == "Bidirectional":
            inner = make(lib, args[0])
            return lib.layers.Bidirectional(inner, *args[1:], **kwargs)
        return getattr(lib.layers, name)(*args, **kwargs)

    models = []
    for lib in (keras, rnncore):
        if functional:
            inp = lib.Input(shape=input_shape, dtype=input_dtype)
            x = inp
            for item in spec:
                x = make(lib, item)(x)
            model = lib.Model(inputs=inp, outputs=x)
        else:
            model = lib.Sequential([lib.Input(shape=input_shape, dtype=input_dtype)]
                                   + [make(lib, item) for item in spec])
        models.append(model)
    k_model, r_model = models
    r_model.set_weights(k_model.get_weights())
    return k_model, r_model


def rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12))
