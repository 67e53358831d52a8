"""Build the same model in Keras and in rnncore from one description, weights copied."""
from _tolerance import TRAINING_RTOL, rel_err


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


def train_pair_on_batch(k_model, r_model, x, y, steps=4, tol=TRAINING_RTOL):
    """`steps` train_on_batch calls on both models (same weights to start), asserting that the
    losses and then the weights agree to `tol` (see _tolerance.TRAINING_RTOL)."""
    import warnings

    for step in range(steps):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TF: "Converting sparse IndexedSlices to dense"
            k_loss = k_model.train_on_batch(x, y)
        r_loss = r_model.train_on_batch(x, y)
        assert rel_err(r_loss, k_loss) <= tol, (step, r_loss, k_loss)
    for r_w, k_w in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(r_w, k_w) <= tol
