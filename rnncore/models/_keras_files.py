"""Keras 3's native files: ``.keras`` (a ZIP of ``config.json``, ``metadata.json`` and
``model.weights.h5``) and ``.weights.h5`` (the same HDF5 file alone), written and read with
h5py and the standard library.

The HDF5 layout is Keras's (see ``_keras_paths``); the optimizer's state sits under
``optimizer/vars`` as Keras's ``Optimizer.save_own_variables`` writes it (iterations, learning
rate, then each trainable variable's slots), so training resumed in either engine continues
from the same step. Writes go through ``_saving._atomic_write``.
"""
import collections
import datetime
import io
import json
import os
import warnings
import zipfile

import numpy as np

from .. import _config
from . import _hdf5, _keras_config, _keras_paths, _keras_reading

CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
# the Keras release whose format rnncore writes (Keras writes its own version in metadata.json
# and in a legacy .h5's attributes, and does not read either back)
KERAS_VERSION = "3.15.1"
_MAX_JSON_BYTES = 64 << 20
_MAX_DEFLATE_RATIO = 1100


# ---- writing --------------------------------------------------------------------------------
def optimizer_state(model):
    """The compiled model's optimizer and its variables in Keras's order (none before its
    first step)."""
    optimizer = getattr(model, "optimizer", None) if getattr(model, "compiled", False) else None
    if optimizer is None:
        return None, []
    if not optimizer.built:
        return optimizer, []
    store = {}
    optimizer.save_own_variables(store)
    return optimizer, [np.asarray(store[str(i)]) for i in range(len(store))]


def write_weights_h5(model, target, include_optimizer=True):
    """Write `model`'s weights (and optimizer state) in Keras 3's layout to `target` (a path or
    a binary file object)."""
    h5py = _hdf5.require_h5py()
    with h5py.File(target, "w") as f:
        for path, name, variables in _keras_paths.entries(model):
            group = f.create_group(_keras_paths.vars_path(path))
            if isinstance(name, str):
                group.attrs["name"] = name
            for i, v in enumerate(variables):
                _hdf5.write_array(group, str(i), v.value)
        optimizer, state = optimizer_state(model) if include_optimizer else (None, [])
        if optimizer is not None:
            group = f.create_group("optimizer/vars")
            group.attrs["name"] = optimizer.name
            for i, a in enumerate(state):
                _hdf5.write_array(group, str(i), a)
            inner = getattr(optimizer, "inner_optimizer", None)
            if inner is not None and inner.built:
                # a LossScaleOptimizer: Keras writes the inner optimizer's state again, in
                # its own group, and reads it back from there too
                group = f.create_group("optimizer/inner_optimizer/vars")
                group.attrs["name"] = inner.name
                store = {}
                inner.save_own_variables(store)
                for i in range(len(store)):
                    _hdf5.write_array(group, str(i), np.asarray(store[str(i)]))


def _metadata():
    return json.dumps({"keras_version": KERAS_VERSION,
                       "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")})


def write_keras(model, f, include_optimizer=True):
    config = _keras_config.model_config(model)
    compiled = _keras_config.compile_config(model)
    if compiled is not None:
        config["compile_config"] = compiled
    buffer = io.BytesIO()
    write_weights_h5(model, buffer, include_optimizer)
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(METADATA, _metadata())
        zf.writestr(CONFIG, json.dumps(config))
        zf.writestr(zipfile.ZipInfo(WEIGHTS, date_time=(1980, 1, 1, 0, 0, 0)),
                    buffer.getvalue(), compress_type=zipfile.ZIP_STORED)
        for member, text in _vocabulary_assets(model):
            zf.writestr(member, text)


def _vocabulary_assets(model):
    """``(member, text)`` for each StringLookup or IntegerLookup whose vocabulary its config
    does not hold (adapted, set, or read from a file): Keras's ``save_assets`` writes it to
    ``assets/<layer path>/vocabulary.txt``, special tokens first, one term a line."""
    from ..layers._index_lookup import IndexLookup

    out = []
    for path, _, _ in _keras_paths.entries(model):
        layer = _keras_paths.object_at(model, path)
        if isinstance(layer, IndexLookup) and layer._input_vocabulary is None and \
                layer.get_vocabulary(False) and not layer._tf_idf_out_of_config():
            out.append((f"assets/{path}/vocabulary.txt",
                        "\n".join(str(w) for w in layer.get_vocabulary())))
    return out


# ---- reading --------------------------------------------------------------------------------
def declared_elements(h5, what):
    """How many elements the file's datasets declare (read from their headers only), each
    backed by the bytes the file stores for it."""
    total = 0

    def visit(_, obj):
        nonlocal total
        if isinstance(obj, _hdf5.h5py.Dataset):
            _hdf5.check_storage(obj, what)
            total += int(np.prod(obj.shape or (), dtype=np.int64))

    try:
        h5.visititems(visit)
    except (OSError, ValueError, RuntimeError) as exc:
        if isinstance(exc, _hdf5.H5Error):
            raise
        raise _hdf5.H5Error(f"{what}: the weights file is damaged or truncated "
                            f"({exc})") from None
    return total


def read_weights_into(model, h5, what, skip_mismatch=False):
    """Set `model`'s weights from an open Keras 3 weights file; every dataset is checked
    against the variable it fills before it is read."""
    values = []
    for path, name, variables in _keras_paths.entries(model):
        if not variables:
            continue
        location = _keras_paths.vars_path(path)
        if not _hdf5.has(h5, location):
            message = (f"{what}: it has no weights for layer {name!r} (group {location!r}); "
                       "the file was written for another architecture")
            if skip_mismatch:
                warnings.warn(message, stacklevel=3)
                continue
            raise _hdf5.H5Error(message)
        group = _hdf5.group(h5, location, what)
        count = sum(1 for k in group.keys())
        if count != len(variables):
            message = (f"{what}: layer {name!r} (group {location!r}) holds {count} weights, "
                       f"the model's layer has {len(variables)} "
                       f"({[v.name for v in variables]})")
            if skip_mismatch:
                warnings.warn(message, stacklevel=3)
                continue
            raise _hdf5.H5Error(message)
        try:
            arrays = [_hdf5.read_array(group, str(i), v.shape, v.dtype.kind,
                                       f"{what}: layer {name!r}", v.dtype)
                      for i, v in enumerate(variables)]
        except _hdf5.H5Error as exc:
            if not skip_mismatch:
                raise
            warnings.warn(str(exc), stacklevel=3)
            continue
        values += list(zip(variables, arrays))
    for v, a in values:
        v.assign(a)


def read_optimizer_into(model, h5, what):
    """Restore the optimizer's state from ``optimizer/vars`` (built first, as Keras does)."""
    if not _hdf5.has(h5, "optimizer/vars"):
        return False
    group = _hdf5.group(h5, "optimizer/vars", what)
    count = sum(1 for k in group.keys())
    if count == 0:
        return False
    optimizer = model.optimizer
    optimizer.build(model.trainable_weights)
    mine = optimizer.variables
    if count != len(mine):
        warnings.warn(f"{what}: the file holds {count} optimizer variables, optimizer "
                      f"{optimizer.name!r} has {len(mine)}; the optimizer starts afresh",
                      stacklevel=3)
        return False
    store = {}
    for i, var in enumerate(mine):
        kinds = "iu" if var.dtype.kind in "iu" else "f"
        store[str(i)] = _hdf5.read_array(group, str(i), var.shape, kinds, what, var.dtype)
    optimizer.load_own_variables(store)
    return True


class KerasArchive:
    """A ``.keras`` file opened for loading: the ZIP checked, its JSON parsed, the weights file
    opened from memory (its size is bounded by the ZIP's own directory)."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.what = f"Cannot load {self.path!r}"
        try:
            self.zf = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
            raise ValueError(f"{self.what}: it is not a .keras file (a damaged or truncated "
                             f"ZIP archive: {exc})") from None
        try:
            names = self.zf.namelist()
            twice = sorted(n for n, k in collections.Counter(names).items() if k > 1)
            if twice:  # which one counts would depend on the reader
                raise ValueError(f"{self.what}: the archive holds several members named "
                                 f"{twice[0]!r}")
            if CONFIG not in names:
                raise ValueError(f"{self.what}: it is neither a .keras file (no {CONFIG} "
                                 "inside) nor one of rnncore's former format (no rnncore.json)"
                                 f"; the archive holds {names[:5]}"
                                 f"{' ...' if len(names) > 5 else ''}")
            self.config = self._json(CONFIG)
            self.metadata = self._json(METADATA) if METADATA in names else {}
            self.weights = self._bytes(WEIGHTS) if WEIGHTS in names else None
            if self.weights is None and "model.weights.npz" in names:
                raise ValueError(f"{self.what}: its weights are in Keras's .npz form, which "
                                 "rnncore does not read; save it with the default h5 weights")
        except BaseException:
            self.zf.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.zf.close()

    def _bytes(self, name, limit=None):
        info = self.zf.getinfo(name)
        bound = info.compress_size if info.compress_type == zipfile.ZIP_STORED else \
            info.compress_size * _MAX_DEFLATE_RATIO + 1024
        if info.file_size > bound or (limit is not None and info.file_size > limit):
            raise ValueError(f"{self.what}: member {name!r} declares {info.file_size} bytes "
                             f"for {info.compress_size} stored: the archive is damaged")
        try:
            with self.zf.open(info) as f:
                data = f.read(info.file_size + 1)
        except (zipfile.BadZipFile, EOFError, OSError, RuntimeError, NotImplementedError,
                ValueError) as exc:
            raise ValueError(f"{self.what}: member {name!r} is damaged or truncated "
                             f"({exc})") from None
        if len(data) != info.file_size:
            raise ValueError(f"{self.what}: member {name!r} is truncated")
        return data

    def _json(self, name):
        raw = self._bytes(name, _MAX_JSON_BYTES)
        try:
            value = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ValueError(f"{self.what}: {name} is not valid JSON ({exc})") from None
        if not isinstance(value, dict):
            raise ValueError(f"{self.what}: {name} must hold a JSON object")
        return value

    def open_weights(self):
        if self.weights is None:
            raise ValueError(f"{self.what}: the archive holds no {WEIGHTS}")
        return _hdf5.open_read(self.weights, f"{self.path!r} ({WEIGHTS})")


def build_model(config, what, declared, safe_mode=True, custom_objects=None):
    """Check and rebuild the architecture under a weight budget of `declared` elements;
    `custom_objects` are the caller's own layer classes by name, as in Keras."""
    from ..layers._registry import custom_object_scope

    with custom_object_scope({**dict(custom_objects or {}),
                              **_keras_reading.user_classes(config, custom_objects)}):
        try:
            _keras_reading.check_safe(config, what, safe_mode)
        except RecursionError:
            raise ValueError(f"{what}: the model config is nested too deeply") from None
        return _rebuild(config, what, declared)


def _rebuild(config, what, declared):
    try:
        with _config.weight_budget(declared + 2 ** 24, what):
            return _keras_reading.from_keras(config, what)
    except _keras_reading.UnsafeConfig:
        raise
    except Exception as exc:  # a config from a file may be wrong in any way
        raise ValueError(f"{what}: the architecture cannot be rebuilt: "
                         f"{type(exc).__name__}: {exc}") from exc


def compile_from(model, compiled, what):
    """Compile `model` with a Keras ``compile_config`` / legacy ``training_config``."""
    from .. import losses, optimizers

    try:
        c = _keras_reading.plain(compiled)
        optimizer = c.get("optimizer") or c.get("optimizer_config")
        optimizer = optimizers.deserialize(optimizer) if isinstance(optimizer, dict) else \
            optimizers.get(optimizer)
        loss = c.get("loss")
        if isinstance(loss, list):
            loss = [None if item is None else losses.deserialize(item) for item in loss]
        elif isinstance(loss, dict) and "class_name" not in loss:
            raise ValueError("a loss per output name is not supported")
        elif loss is not None:
            loss = losses.deserialize(loss)
        model.compile(optimizer=optimizer, loss=loss, loss_weights=c.get("loss_weights"),
                      metrics=_metric_names(c.get("metrics")),
                      weighted_metrics=_metric_names(c.get("weighted_metrics")))
    except Exception as exc:
        warnings.warn(f"{what}: the compile settings cannot be restored "
                      f"({type(exc).__name__}: {exc}); the model is returned uncompiled",
                      stacklevel=3)
        return False
    return True


def _metric_names(metrics):
    """Keras writes metrics as names or as serialized metric objects: a serialized metric of
    a class rnncore has is rebuilt from its config (its arguments kept), any other by its
    name."""
    from .. import metrics as _metrics

    if metrics is None:
        return None
    if isinstance(metrics, list) and len(metrics) == 1 and isinstance(metrics[0], list):
        metrics = metrics[0]  # Keras 2 writes one list per output
    if isinstance(metrics, list):
        return [_metric_names(m) for m in metrics]
    if isinstance(metrics, dict) and "class_name" in metrics:
        config = metrics.get("config") or {}
        if metrics["class_name"] in _metrics._BY_NAME and isinstance(config, dict):
            try:
                return _metrics.deserialize(metrics)
            except (TypeError, ValueError):
                pass  # a config of another Keras version: the metric by its name
        return config.get("name") or metrics["class_name"]
    return metrics


_MAX_VOCABULARY_BYTES = 256 << 20


def read_assets_into(model, archive):
    """A TextVectorization, StringLookup or IntegerLookup adapted in Keras keeps its
    vocabulary out of the config, in ``assets/<layer path>/vocabulary.txt`` (one term a line,
    special tokens first), which Keras's ``load_assets`` reads; rnncore reads it the same
    way."""
    from ..layers import TextVectorization
    from ..layers._index_lookup import IndexLookup

    names = set(archive.zf.namelist())
    for path, _, _ in _keras_paths.entries(model):
        member = f"assets/{path}/vocabulary.txt"
        if member not in names:
            continue
        layer = _keras_paths.object_at(model, path)
        if not isinstance(layer, (TextVectorization, IndexLookup)) or \
                layer.get_vocabulary(False):
            continue
        if layer.output_mode == "tf_idf":
            raise ValueError(f"{archive.what}: layer {layer.name!r} is a tf_idf "
                             f"{type(layer).__name__} whose idf weights Keras keeps in its own "
                             "lookup table; rnncore does not read them")
        text = archive._bytes(member, _MAX_VOCABULARY_BYTES).decode("utf-8")
        lines = text.splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        try:
            if isinstance(layer, IndexLookup):
                lines = layer._from_lines(lines)
            layer.set_vocabulary(lines)
        except ValueError as exc:
            raise ValueError(f"{archive.what}: {member}: {exc}") from None


def load_keras(path, compile=True, safe_mode=True, custom_objects=None):
    with KerasArchive(path) as archive:
        with archive.open_weights() as h5:
            declared = declared_elements(h5, archive.what)
            model = build_model(archive.config, archive.what, declared, safe_mode,
                                custom_objects)
            read_assets_into(model, archive)
            compiled = archive.config.get("compile_config")
            # (Keras writes an empty compile_config for a model it never compiled)
            restored = compile and isinstance(compiled, dict) and bool(compiled) and \
                compile_from(model, compiled, archive.what)
            read_weights_into(model, h5, archive.what)
            if restored:
                read_optimizer_into(model, h5, archive.what)
    return model


def load_weights_h5(model, path, skip_mismatch=False):
    what = f"Cannot load weights from {os.fspath(path)!r}"
    with _hdf5.open_read(path, repr(os.fspath(path))) as h5:
        read_weights_into(model, h5, what, skip_mismatch)
        if getattr(model, "compiled", False) and model.optimizer is not None and \
                model.optimizer.built:
            read_optimizer_into(model, h5, what)


def load_weights_keras(model, path, skip_mismatch=False):
    with KerasArchive(path) as archive:
        with archive.open_weights() as h5:
            read_weights_into(model, h5, archive.what, skip_mismatch)
