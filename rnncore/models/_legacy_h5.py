"""Legacy HDF5 model files (``.h5``/``.hdf5``), as tf.keras, Keras 2 and Keras 3's
``save_model(m, "x.h5")`` write them, through h5py alone.

Layout::

    /                        attrs: model_config (JSON), training_config (JSON, if compiled),
                                    backend, keras_version
    /model_weights           attrs: layer_names (every layer of model.layers), backend,
                                    keras_version
    /model_weights/<layer>   attrs: weight_names; a dataset at each of those names, in the
                                    layer's weight order (trainable first)
    /optimizer_weights       attrs: weight_names; datasets (iterations, learning rate, slots)

Weights are matched to layers by position among the layers that have weights, as Keras's
``load_weights_from_hdf5_group`` does, and each dataset is checked against the shape of the
weight it fills before it is read. A Keras-2-era optimizer state (another layout) is skipped
with a warning; the model still loads.
"""
import json
import os
import warnings

from . import _hdf5, _keras_config, _keras_files, _keras_paths

_MAX_CONFIG_CHARS = 64 << 20


def _legacy_config(model):
    from ._functional import Functional
    from ._sequential import Sequential

    if not isinstance(model, (Sequential, Functional)):
        raise ValueError(f"Model {model.name!r} is a subclassed {type(model).__name__}: "
                         "rnncore writes subclassed models to the .keras format (model.save("
                         "'model.keras')), not to legacy .h5")
    config = _keras_config.model_config(model)
    out = {"class_name": config["class_name"], "config": config["config"]}
    for entry in out["config"].get("layers", []):
        if str(entry.get("module")).startswith("keras.src.ops."):
            continue  # an op node keeps its module: Keras then reads it, and Add is the op
        for key in ("module", "registered_name", "build_config"):
            entry.pop(key, None)
    return out


def _training_config(model):
    compiled = _keras_config.compile_config(model)
    if compiled is None:
        return None
    optimizer = compiled.pop("optimizer")
    compiled["optimizer_config"] = {"class_name": optimizer["class_name"],
                                    "config": optimizer["config"]}
    return compiled


def write(model, f, include_optimizer=True):
    h5py = _hdf5.require_h5py()
    with h5py.File(f, "w") as h5:
        h5.attrs["backend"] = "tensorflow"
        h5.attrs["keras_version"] = _keras_files.KERAS_VERSION
        h5.attrs["model_config"] = json.dumps(_legacy_config(model))
        training = _training_config(model)
        if training is not None:
            h5.attrs["training_config"] = json.dumps(training)
        weights = h5.create_group("model_weights")
        layers = _keras_paths.model_layers(model)
        _hdf5.write_strings(weights, "layer_names", [layer.name for layer in layers])
        weights.attrs["backend"] = "tensorflow"
        weights.attrs["keras_version"] = _keras_files.KERAS_VERSION
        for layer in layers:
            group = weights.create_group(layer.name)
            names = [f"{layer.name}/{_tail(v, layer)}" for v in layer.weights]
            _hdf5.write_strings(group, "weight_names", names)
            for name, v in zip(names, layer.weights):
                _hdf5.write_array(group, name, v.value)
        _hdf5.write_strings(weights.create_group("top_level_model_weights"), "weight_names",
                            [])
        optimizer, state = _keras_files.optimizer_state(model) if include_optimizer else \
            (None, [])
        if state:
            group = h5.create_group("optimizer_weights")
            names = _optimizer_weight_names(optimizer, state)
            _hdf5.write_strings(group, "weight_names", names)
            for name, a in zip(names, state):
                _hdf5.write_array(group, name, a)


def _optimizer_weight_names(optimizer, state):
    """Keras's names: ``<optimizer>/iteration``, ``/learning_rate``, then each slot's, which
    Keras builds from its variable's path (a loader goes by position only)."""
    names = [f"{optimizer.name}/iteration", f"{optimizer.name}/learning_rate"]
    slots = [slot for slot, _ in getattr(optimizer, "_slots", ())]
    names = names[:len(state) - len(slots)] + [f"{optimizer.name}/{slot}" for slot in slots]
    if len(names) != len(state):  # an optimizer that keeps its state otherwise
        names = [f"{optimizer.name}/variable_{i}" for i in range(len(state))]
    return names


def _tail(variable, layer):
    """A weight's name below its layer (``lstm_cell/kernel`` style paths stay unique)."""
    path = getattr(variable, "path", None) or variable.name
    prefix = layer.name + "/"
    return path[len(prefix):] if path.startswith(prefix) else path


def _weights_root(h5, what):
    if "layer_names" not in h5.attrs and "layer_names0" not in h5.attrs and \
            _hdf5.has(h5, "model_weights"):
        return _hdf5.group(h5, "model_weights", what)
    return h5


def read_weights_into(model, h5, what, skip_mismatch=False):
    root = _weights_root(h5, what)
    names = _hdf5.read_strings(root, "layer_names", what)
    filtered = []
    for name in names:
        group = _hdf5.group(root, name, what)
        weight_names = _hdf5.read_strings(group, "weight_names", what) if (
            "weight_names" in group.attrs or "weight_names0" in group.attrs) else []
        if weight_names:
            filtered.append((name, group, weight_names))
    layers = [layer for layer in _keras_paths.model_layers(model) if layer.weights]
    if len(filtered) != len(layers):
        raise _hdf5.H5Error(f"{what}: the file holds weights for {len(filtered)} layers "
                            f"({[n for n, _, _ in filtered][:8]}), model {model.name!r} has "
                            f"{len(layers)} layers with weights "
                            f"({[layer.name for layer in layers][:8]})")
    values = []
    for (name, group, weight_names), layer in zip(filtered, layers):
        mine = layer.weights
        if len(weight_names) != len(mine):
            message = (f"{what}: layer {name!r} in the file has {len(weight_names)} weights, "
                       f"the model's layer {layer.name!r} has {len(mine)}")
            if skip_mismatch:
                warnings.warn(message, stacklevel=3)
                continue
            raise _hdf5.H5Error(message)
        try:
            arrays = [_hdf5.read_array(group, w, v.shape, v.dtype.kind, what,
                                          v.dtype)
                      for w, v in zip(weight_names, mine)]
        except _hdf5.H5Error as exc:
            if not skip_mismatch:
                raise
            warnings.warn(str(exc), stacklevel=3)
            continue
        values += list(zip(mine, arrays))
    for v, a in values:
        v.assign(a)


def _read_optimizer(model, h5, what):
    if not _hdf5.has(h5, "optimizer_weights"):
        return
    group = _hdf5.group(h5, "optimizer_weights", what)
    names = _hdf5.read_strings(group, "weight_names", what)
    optimizer = model.optimizer
    optimizer.build(model.trainable_weights)
    mine = optimizer.variables
    if len(names) != len(mine):
        warnings.warn(f"{what}: the file's optimizer state has {len(names)} variables, "
                      f"optimizer {optimizer.name!r} has {len(mine)} (a file from another "
                      "Keras version?); the optimizer starts afresh", stacklevel=3)
        return
    store = {}
    try:
        for i, (name, var) in enumerate(zip(names, mine)):
            kinds = "iuf" if i == 0 else "f"
            store[str(i)] = _hdf5.read_array(group, name, var.shape, kinds, what, var.dtype)
    except _hdf5.H5Error as exc:
        warnings.warn(f"{exc}; the optimizer starts afresh", stacklevel=3)
        return
    optimizer.load_own_variables(store)


def load_model(path, compile=True, safe_mode=True, custom_objects=None):
    what = f"Cannot load {os.fspath(path)!r}"
    with _hdf5.open_read(path, repr(os.fspath(path))) as h5:
        text = _hdf5.read_text_attr(h5, "model_config", what)
        if text is None:
            if "layer_names" in h5.attrs or _hdf5.has(h5, "layers") or _hdf5.has(h5, "vars"):
                raise ValueError(f"{what}: the file holds only weights; build the model and "
                                 "call model.load_weights() instead")
            raise ValueError(f"{what}: no model found in config file (it has no "
                             "'model_config' attribute)")
        if len(text) > _MAX_CONFIG_CHARS:
            raise ValueError(f"{what}: its model_config is {len(text)} characters long")
        try:
            config = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise ValueError(f"{what}: its model_config is not valid JSON ({exc})") from None
        declared = _keras_files.declared_elements(_weights_root(h5, what), what)
        model = _keras_files.build_model(config, what, declared, safe_mode, custom_objects)
        restored = False
        training = _hdf5.read_text_attr(h5, "training_config", what)
        if compile and training:
            try:
                training = json.loads(training)
            except (json.JSONDecodeError, RecursionError):
                training = None
                warnings.warn(f"{what}: its training_config is not valid JSON; the model is "
                              "returned uncompiled", stacklevel=2)
            if isinstance(training, dict):
                restored = _keras_files.compile_from(model, training, what)
        read_weights_into(model, h5, what)
        if restored:
            _read_optimizer(model, h5, what)
    return model


def load_weights(model, path, skip_mismatch=False):
    what = f"Cannot load weights from {os.fspath(path)!r}"
    with _hdf5.open_read(path, repr(os.fspath(path))) as h5:
        read_weights_into(model, h5, what, skip_mismatch)

