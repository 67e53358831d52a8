"""Keras 3's top-level names (keras.Layer, keras.Variable, keras.name_scope, keras.tree,
keras.dtype_policies, keras.InputSpec, ...) and the keras.utils helpers of a training step:
each behaves as Keras's on the same input."""
import collections

import numpy as np
import pytest

import rnncore


@pytest.mark.parametrize("name, where", [
    ("Layer", "layers"), ("Loss", "losses"), ("Metric", "metrics"),
    ("Optimizer", "optimizers"), ("Initializer", "initializers"),
    ("Regularizer", "regularizers"), ("InputSpec", "layers"),
])
def test_top_level_classes_are_the_submodules_classes(keras, name, where):
    assert getattr(rnncore, name) is getattr(getattr(rnncore, where), name)
    assert getattr(keras, name) is getattr(getattr(keras, where), name)


def test_top_level_base_classes_subclass_as_keras(keras, rng):
    """A program's own loss, layer and metric written against the top-level names."""
    x = rng.normal(size=(16, 3)).astype("float32")
    y = rng.normal(size=(16, 2)).astype("float32")
    results = []
    for lib in (keras, rnncore):
        class Scaled(lib.Loss):
            def call(self, y_true, y_pred):
                return lib.ops.mean(lib.ops.square(y_true - y_pred), axis=-1) * 2.0

        class Double(lib.Layer):
            def call(self, inputs):
                return inputs * 2.0

        model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(2), Double()])
        if results:
            model.set_weights(results[0][1])
        model.compile(optimizer=lib.optimizers.SGD(0.01), loss=Scaled())
        weights = model.get_weights()
        loss = model.train_on_batch(x, y)
        results.append((float(np.asarray(loss)), weights, model.get_weights()))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-5)
    for a, b in zip(results[1][2], results[0][2]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert isinstance(rnncore.optimizers.Adam(), rnncore.Optimizer)
    assert isinstance(rnncore.metrics.Mean(), rnncore.Metric)
    assert isinstance(rnncore.initializers.Zeros(), rnncore.Initializer)
    assert isinstance(rnncore.regularizers.L2(), rnncore.Regularizer)


@pytest.mark.parametrize("args, kwargs", [
    ((np.array([1, 2]),), {}),
    ((np.array([1.0, 2.0]),), {"dtype": "float64"}),
    (("zeros",), {"shape": (2, 3)}),
    (("ones",), {"shape": (2,), "dtype": "float64", "name": "w"}),
    ((3.0,), {"name": "x", "trainable": False}),
])
def test_variable_is_made_as_keras(keras, args, kwargs):
    k, r = keras.Variable(*args, **kwargs), rnncore.Variable(*args, **kwargs)
    assert (str(r.dtype), tuple(r.shape), r.trainable) == (k.dtype, tuple(k.shape), k.trainable)
    assert r.name == r.path and (r.name == kwargs["name"] if "name" in kwargs
                                 else r.name.startswith("variable"))
    np.testing.assert_array_equal(r.numpy(), k.numpy())
    r.assign(np.ones(r.shape))
    np.testing.assert_array_equal(np.asarray(r), np.ones(k.shape))


def test_variable_from_initializer_needs_a_shape(keras):
    for lib in (keras, rnncore):
        with pytest.raises(ValueError, match="the `shape` argument should be specified"):
            lib.Variable("zeros")


def test_layer_weights_are_variables_as_keras():
    layer = rnncore.layers.Dense(2)
    layer.build((None, 3))
    assert all(isinstance(w, rnncore.Variable) for w in layer.weights)


def test_name_scope_prefixes_variable_paths_as_keras(keras):
    paths = []
    for lib in (keras, rnncore):
        with lib.name_scope("blk") as scope:
            assert scope.name == "blk"
            a = lib.Variable(np.zeros(2), name="w")
            with lib.name_scope("inner"):
                b = lib.Variable(np.zeros(2), name="w")
            dense = lib.layers.Dense(2, name="dense")
            dense.build((None, 3))
        c = lib.Variable(np.zeros(2), name="w")
        paths.append([a.path, b.path, dense.kernel.path, c.path])
        with pytest.raises(ValueError, match="cannot contain character `/`"):
            lib.name_scope("a/b")
    assert paths[1] == paths[0] == ["blk/w", "blk/inner/w", "blk/dense/kernel", "w"]


def test_version_is_a_string():
    assert rnncore.version() == rnncore.__version__


# ---- dtype policies ------------------------------------------------------------------------
@pytest.mark.parametrize("identifier", ["float32", "float64", "mixed_float16",
                                        {"class_name": "DTypePolicy",
                                         "config": {"name": "float64"}}])
def test_dtype_policies_get_and_serialize_as_keras(keras, identifier):
    k, r = keras.dtype_policies.get(identifier), rnncore.dtype_policies.get(identifier)
    assert (r.name, r.compute_dtype, r.variable_dtype) == \
        (k.name, k.compute_dtype, k.variable_dtype)
    assert rnncore.dtype_policies.serialize(r) == keras.dtype_policies.serialize(k)
    assert rnncore.dtype_policies.deserialize(keras.dtype_policies.serialize(k)) == r
    assert rnncore.layers.Dense(2, dtype=r).dtype_policy.name == k.name


def test_dtype_policies_refuse_as_keras(keras):
    for lib in (keras, rnncore):
        with pytest.raises(ValueError, match="Cannot interpret `dtype` argument"):
            lib.dtype_policies.get(3)
    assert issubclass(rnncore.FloatDTypePolicy, rnncore.DTypePolicy)
    assert rnncore.FloatDTypePolicy("float64").name == "float64"


# ---- keras.tree ------------------------------------------------------------------------------
_NT = collections.namedtuple("_NT", "b a")
_STRUCTURES = [
    3, None, "text", [], [[]], (1,), [1, (2, None)], {"b": 1, "a": 2}, {1: "a", "x": "b"},
    {"b": [1, (2, None)], "a": _NT(3, {"y": 4, "x": 5}),
     "c": collections.OrderedDict([("z", 6), ("w", 7)]), "e": []},
    collections.defaultdict(int, {"b": 1, "a": 2}), [np.zeros(2), {"k": np.ones(3)}],
]


def _same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and np.array_equal(a, b)
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


@pytest.mark.parametrize("structure", _STRUCTURES)
def test_tree_functions_as_keras(keras, structure):
    k, r = keras.tree, rnncore.tree
    assert _same(r.flatten(structure), k.flatten(structure))
    assert _same(r.flatten_with_path(structure), k.flatten_with_path(structure))
    assert r.is_nested(structure) == k.is_nested(structure)
    assert _same(r.lists_to_tuples(structure), k.lists_to_tuples(structure))
    tag = (lambda x: ("leaf", str(x)))
    assert _same(r.map_structure(tag, structure), k.map_structure(tag, structure))
    assert _same(r.map_structure(tag, structure, none_is_leaf=False),
                 k.map_structure(tag, structure, none_is_leaf=False))
    n = len(k.flatten(structure))
    assert _same(r.pack_sequence_as(structure, list(range(n))),
                 k.pack_sequence_as(structure, list(range(n))))
    for top_down in (True, False):
        seen_k, seen_r = [], []
        out_k = k.traverse(lambda x: seen_k.append(x), structure, top_down=top_down)
        out_r = r.traverse(lambda x: seen_r.append(x), structure, top_down=top_down)
        assert _same(out_r, out_k) and _same(seen_r, seen_k)
    r.assert_same_structure(structure, structure)


def test_tree_traverse_replaces_subtrees_as_keras(keras):
    structure = [1, (2, 3), {"a": [4]}]
    for top_down in (True, False):
        fn = (lambda x: "T" if isinstance(x, tuple) else
              (rnncore.tree.MAP_TO_NONE if x == 4 else None))
        k_fn = (lambda x: "T" if isinstance(x, tuple) else
                (keras.tree.MAP_TO_NONE if x == 4 else None))
        assert _same(rnncore.tree.traverse(fn, structure, top_down=top_down),
                     keras.tree.traverse(k_fn, structure, top_down=top_down))


@pytest.mark.parametrize("a, b", [([1, (2, 3)], ((4,), [5, 6])), ([1, (2, 3)], [1, (2, 3)]),
                                  ({"a": 1, "b": [2]}, {"a": 1, "b": [2, 3]}),
                                  ([1], {"x": 1})])
def test_tree_assert_same_paths_as_keras(keras, a, b):
    outcomes = []
    for t in (keras.tree, rnncore.tree):
        try:
            t.assert_same_paths(a, b)
            outcomes.append(None)
        except ValueError as exc:
            outcomes.append(str(exc))
    assert outcomes[1] == outcomes[0]


def test_tree_map_structure_up_to_as_keras(keras):
    args = ([1, (2, 3)], lambda a, b: (a, b), [[1, 2], (3, 4)], [5, (6, 7)])
    assert _same(rnncore.tree.map_structure_up_to(*args), keras.tree.map_structure_up_to(*args))
    args = ({"a": 1, "b": [2]}, lambda a: a, {"b": [[3]], "a": (4, 5)})
    assert _same(rnncore.tree.map_structure_up_to(*args), keras.tree.map_structure_up_to(*args))


@pytest.mark.parametrize("call, pattern", [
    (lambda t: t.assert_same_structure([1, 2], [1, [2]]), "same nested structure"),
    (lambda t: t.assert_same_structure([1, 2], (1, 2)), "Expected an instance of list"),
    (lambda t: t.assert_same_structure({"a": 1}, {"b": 1}), "dictionary key mismatch"),
    (lambda t: t.map_structure(lambda a, b: a, [1, 2], [1]), "list arity mismatch"),
    (lambda t: t.map_structure_up_to([1, 2], lambda a: a, [1]), "list arity mismatch"),
    (lambda t: t.pack_sequence_as([1, 2], [1]), "Too few leaves"),
])
def test_tree_refuses_mismatched_structures_as_keras(keras, call, pattern):
    for t in (keras.tree, rnncore.tree):
        with pytest.raises(ValueError, match=pattern):
            call(t)


# ---- InputSpec -------------------------------------------------------------------------------
def _spec_layer(lib, **spec):
    class Checked(lib.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.input_spec = lib.layers.InputSpec(**spec)

        def call(self, inputs):
            return inputs * 1.0
    return Checked(name="checked")


@pytest.mark.parametrize("spec, shape, dtype", [
    ({"ndim": 3}, (2, 4), "float32"),
    ({"min_ndim": 3}, (2, 4), "float32"),
    ({"max_ndim": 2}, (2, 4, 3), "float32"),
    ({"axes": {-1: 4}}, (2, 5, 3), "float32"),
    ({"shape": (None, 5, 3)}, (2, 4, 3), "float32"),
    ({"shape": (None, 4, 1), "allow_last_axis_squeeze": True}, (2, 5), "float32"),
    ({"dtype": "int32"}, (2, 4), "int64"),
    ({"dtype": "float32", "ndim": 2}, (2, 4), "float64"),  # a float array passes: autocast
    ({"ndim": 2, "axes": {1: 4}}, (2, 4), "float32"),
])
def test_input_spec_checks_calls_as_keras(keras, spec, shape, dtype):
    x = np.ones(shape, dtype)
    outcomes = []
    for lib in (keras, rnncore):
        for arg in (x, lib.Input(shape[1:], dtype=dtype)):
            try:
                _spec_layer(lib, **spec)(arg)
                outcomes.append(None)
            except ValueError as exc:
                outcomes.append(str(exc))
    assert outcomes[2:] == outcomes[:2]


def test_input_spec_of_several_inputs_counts_them_as_keras(keras):
    outcomes = []
    for lib in (keras, rnncore):
        class Pair(lib.layers.Layer):
            def __init__(self):
                super().__init__(name="pair")
                self.input_spec = [lib.layers.InputSpec(ndim=2), lib.layers.InputSpec(ndim=2)]

            def call(self, inputs):
                return inputs[0] + inputs[1]
        x = np.ones((2, 3), "float32")
        np.testing.assert_array_equal(np.asarray(Pair()([x, x])), 2 * x)
        with pytest.raises(ValueError) as info:
            Pair()([x, x, x])
        outcomes.append(str(info.value).split("Inputs received")[0])
    assert outcomes[1] == outcomes[0]


def test_input_spec_config_and_repr_as_keras(keras):
    kw = {"dtype": "float32", "shape": (None, 3), "axes": {"1": 3}}
    k, r = keras.InputSpec(**kw), rnncore.InputSpec(**kw)
    assert r.get_config() == k.get_config() and repr(r) == repr(k)
    assert rnncore.InputSpec.from_config(r.get_config()).shape == (None, 3)
    for lib in (keras, rnncore):
        with pytest.raises(TypeError, match="Argument `axes` must be a dict with integer keys"):
            lib.InputSpec(axes={"a": 1})
        with pytest.raises(ValueError, match="Axis 3 is greater than the maximum allowed"):
            lib.InputSpec(ndim=2, axes={3: 1})


# ---- keras.utils helpers of a training step ----------------------------------------------------
@pytest.mark.parametrize("data", [np.zeros(2), (np.zeros(2),), [np.zeros(2), np.ones(2)],
                                  (1, 2, 3), ([1, 2],), {"a": 1}])
def test_unpack_x_y_sample_weight_as_keras(keras, data):
    assert _same(rnncore.utils.unpack_x_y_sample_weight(data),
                 keras.utils.unpack_x_y_sample_weight(data))


@pytest.mark.parametrize("args", [(1,), ([1, 2],), ((1, 2),), (1, 2), (1, 2, 3), (1, None, 3)])
def test_pack_x_y_sample_weight_as_keras(keras, args):
    assert _same(rnncore.utils.pack_x_y_sample_weight(*args),
                 keras.utils.pack_x_y_sample_weight(*args))


def test_unpack_refuses_four_items_as_keras(keras):
    for lib in (keras, rnncore):
        with pytest.raises(ValueError, match=r"Data is expected to be in format `x`, `\(x,\)`"):
            lib.utils.unpack_x_y_sample_weight((1, 2, 3, 4))


def test_get_source_inputs_as_keras(keras):
    names = []
    for lib in (keras, rnncore):
        a, b = lib.Input((3,), name="a"), lib.Input((3,), name="b")
        h = lib.layers.Dense(3)(a)
        out = lib.layers.Add()([lib.layers.Dense(3)(b), h, a])
        sources = lib.utils.get_source_inputs(out)
        assert sources[0] is b and sources[1] is a and len(sources) == 2
        assert lib.utils.get_source_inputs(a) == [a]
        names.append(len(sources))
    assert rnncore.utils.get_source_inputs(3) == 3


def _dataset_items(ds):
    return [np.asarray(v) if not isinstance(v, tuple) else tuple(np.asarray(i) for i in v)
            for v in ds.as_numpy_iterator()]


@pytest.mark.parametrize("kwargs", [{"left_size": 0.75}, {"right_size": 3},
                                    {"left_size": 5, "right_size": 2},
                                    {"left_size": 0.5, "shuffle": True, "seed": 7}])
def test_split_dataset_as_keras(keras, tf, kwargs):
    x, y = np.arange(20, dtype="float32").reshape(10, 2), np.arange(10)
    for data in ((x, y), x):
        k = keras.utils.split_dataset(data, **kwargs)
        r = rnncore.utils.split_dataset(data, **kwargs)
        for a, b in zip(r, k):
            assert _same(_dataset_items(a), _dataset_items(b))


@pytest.mark.parametrize("kwargs, error", [
    ({}, ValueError), ({"left_size": 12}, ValueError), ({"left_size": 1.5}, ValueError),
    ({"left_size": "half"}, TypeError), ({"left_size": 0.7, "right_size": 0.6}, ValueError),
])
def test_split_dataset_refuses_bad_sizes_as_keras(keras, tf, kwargs, error):
    for lib in (keras, rnncore):
        with pytest.raises(error):
            lib.utils.split_dataset(np.zeros((10, 2)), **kwargs)


def test_split_dataset_of_a_tf_dataset_trains_rnncore(keras, tf, rng):
    x = rng.normal(size=(12, 4, 2)).astype("float32")
    y = rng.normal(size=(12, 1)).astype("float32")
    train, val = rnncore.utils.split_dataset(tf.data.Dataset.from_tensor_slices((x, y)).batch(4),
                                             left_size=8)
    model = rnncore.Sequential([rnncore.Input((4, 2)), rnncore.layers.GRU(3),
                                rnncore.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(train, validation_data=val, epochs=2, verbose=0, shuffle=False)
    assert len(history.history["val_loss"]) == 2


def test_config_object_as_keras(keras):
    for lib in (keras, rnncore):
        config = lib.utils.Config(learning_rate=0.1, epochs=3)
        config.batch = 8
        config["seed"] = 1
        assert config.learning_rate == 0.1 and config["batch"] == 8 and "seed" in config
        assert list(config) == ["batch", "epochs", "learning_rate", "seed"] and len(config) == 4
        assert config.as_dict() == {"learning_rate": 0.1, "epochs": 3, "batch": 8, "seed": 1}
        assert config.to_json().startswith('{"learning_rate": 0.1')
        with pytest.raises(AttributeError, match="Unknown attribute: 'learning_rat'. Did you "
                                                 "mean 'learning_rate'?"):
            config.learning_rat
        config.freeze()
        assert config.frozen
        with pytest.raises(ValueError, match="the config is frozen"):
            config.epochs = 4
        config.unfreeze()
        config.epochs = 4
        assert config.pop("epochs") == 4


def test_function_computes_a_graph_as_keras(keras, rng):
    xa, xb = rng.normal(size=(2, 3)).astype("float32"), rng.normal(size=(2, 3)).astype("float32")
    results = []
    for lib in (keras, rnncore):
        a, b = lib.Input((3,), name="a"), lib.Input((3,), name="b")
        dense = lib.layers.Dense(2, kernel_initializer="ones")
        fn = lib.Function([a, b], {"o": dense(lib.layers.Add()([a, b])), "p": a})
        assert len(fn.inputs) == 2 and len(fn.outputs) == 2
        results.append({k: np.asarray(v) for k, v in fn([xa, xb]).items()})
        with pytest.raises(ValueError, match="Function was called with an invalid input "
                                             "structure"):
            fn(xa)
    for key in ("o", "p"):
        np.testing.assert_allclose(results[1][key], results[0][key], rtol=1e-6)
