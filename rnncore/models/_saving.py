"""rnncore's file format: a ZIP archive holding JSON and .npy arrays, written atomically.

Layout of the archive (any file name works, e.g. ``best-lstm-model.h5``):

``rnncore.json``
    ``{"format": "rnncore", "version": 1, "kind": "model" | "weights",
    "model": {"class_name": ..., "config": ...}, "compile": {...} | null,
    "weights": [{"path": ..., "shape": [...], "dtype": ..., "file": "weights/0.npy"}, ...]}``
``weights/<i>.npy``
    One array per weight in ``get_weights()`` order, read back with ``allow_pickle=False``.
``optimizer/<i>.npy`` (models saved after training, unless ``include_optimizer=False``)
    The optimizer's state in ``optimizer.variables`` order (iterations, learning rate, slots),
    listed under ``"optimizer_state"`` in the JSON. ``load_model`` restores it, so that training
    continues exactly where it stopped, as with a Keras file.

Loading never unpickles and never evaluates code: the architecture is rebuilt only from
rnncore's own layer classes. Files are written to a temporary file in the same directory and
moved into place with ``os.replace``, so a crash mid-write never leaves a broken file where a
good one was.
"""
import io
import json
import os
import tempfile
import zipfile

import numpy as np

FORMAT, VERSION = "rnncore", 1


def _atomic_write(filepath, write, overwrite):
    filepath = os.fspath(filepath)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath!r} exists and overwrite=False")
    directory = os.path.dirname(os.path.abspath(filepath))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(filepath),
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _write_archive(f, meta, arrays, optimizer_arrays=()):
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
        for folder, group in (("weights", arrays), ("optimizer", optimizer_arrays)):
            for i, a in enumerate(group):
                buf = io.BytesIO()
                np.save(buf, np.asarray(a, order="C"), allow_pickle=False)
                zf.writestr(f"{folder}/{i}.npy", buf.getvalue())
        zf.writestr("rnncore.json", json.dumps(meta, indent=1))


def _optimizer_state(model):
    """The compiled model's optimizer variables (empty before its first step)."""
    optimizer = getattr(model, "optimizer", None) if model.compiled else None
    if optimizer is None or not optimizer.built:
        return []
    store = {}
    optimizer.save_own_variables(store)
    return [np.asarray(store[str(i)]) for i in range(len(store))]


def _weights_meta(model):
    return [{"path": w.path, "shape": list(w.shape), "dtype": w.dtype.name,
             "file": f"weights/{i}.npy"} for i, w in enumerate(model.weights)]


def _compile_config(model):
    if not model.compiled:
        return None
    from .. import losses, optimizers

    def plain(m):
        return m if isinstance(m, str) else getattr(m, "name", None)

    def names(ids):
        return [m for m in map(plain, ids) if m is not None]

    return {"optimizer": optimizers.serialize(model.optimizer),
            "loss": losses.serialize(model._loss_obj),
            "metrics": names(model._metric_ids),
            "weighted_metrics": names(model._weighted_metric_ids)}


def save_model(model, filepath, overwrite=True, include_optimizer=True):
    if not model.built:
        raise ValueError(f"Model {model.name!r} is not built yet: fit it or call it on data "
                         "before saving")
    meta = {"format": FORMAT, "version": VERSION, "kind": "model",
            "model": {"class_name": type(model).__name__, "config": model.get_config()},
            "compile": _compile_config(model), "weights": _weights_meta(model)}
    state = _optimizer_state(model) if include_optimizer else []
    if state:
        meta["optimizer_state"] = [{"shape": list(a.shape), "dtype": a.dtype.name,
                                    "file": f"optimizer/{i}.npy"} for i, a in enumerate(state)]
    _atomic_write(filepath, lambda f: _write_archive(f, meta, model.get_weights(), state),
                  overwrite)


def save_weights(model, filepath, overwrite=True):
    if not model.built:
        raise ValueError(f"Model {model.name!r} is not built yet: nothing to save")
    meta = {"format": FORMAT, "version": VERSION, "kind": "weights",
            "weights": _weights_meta(model)}
    _atomic_write(filepath, lambda f: _write_archive(f, meta, model.get_weights()), overwrite)


def _read(filepath):
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"No file at {filepath!r}")
    if not zipfile.is_zipfile(filepath):
        raise ValueError(f"{filepath!r} is not an rnncore file (it is not a ZIP archive; files "
                         "written by Keras itself cannot be read yet)")
    with zipfile.ZipFile(filepath) as zf:
        if "rnncore.json" not in zf.namelist():
            raise ValueError(f"{filepath!r} is not an rnncore file (no rnncore.json inside)")
        meta = json.loads(zf.read("rnncore.json"))
        if meta.get("format") != FORMAT or meta.get("version") != VERSION:
            raise ValueError(f"{filepath!r}: unsupported format {meta.get('format')!r} version "
                             f"{meta.get('version')!r}")
        arrays = []
        for entry in meta["weights"] + meta.get("optimizer_state", []):
            a = np.load(io.BytesIO(zf.read(entry["file"])), allow_pickle=False)
            if list(a.shape) != entry["shape"]:
                raise ValueError(f"{filepath!r}: {entry['file']!r} has shape {a.shape}, the "
                                 f"index says {entry['shape']}")
            arrays.append(a)
    n = len(meta["weights"])
    return meta, arrays[:n], arrays[n:]


def load_weights(model, filepath):
    meta, arrays, _ = _read(filepath)
    if not model.built:
        raise ValueError(f"Model {model.name!r} is not built yet: build it (or call it on data) "
                         "before load_weights")
    model.set_weights(arrays)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a model written by ``model.save`` (architecture, weights, compile settings)."""
    from ._functional import Functional
    from ._sequential import Sequential

    meta, arrays, state = _read(filepath)
    if meta.get("kind") != "model":
        raise ValueError(f"{os.fspath(filepath)!r} holds only weights: build the model and call "
                         "model.load_weights() instead")
    classes = {"Sequential": Sequential, "Functional": Functional}
    spec = meta["model"]
    if spec["class_name"] not in classes:
        raise ValueError(f"unknown model class {spec['class_name']!r}")
    model = classes[spec["class_name"]].from_config(spec["config"])
    model.set_weights(arrays)
    if compile and meta.get("compile"):
        from .. import losses, optimizers

        c = meta["compile"]
        model.compile(optimizer=optimizers.deserialize(c["optimizer"]),
                      loss=losses.deserialize(c["loss"]), metrics=c["metrics"],
                      weighted_metrics=c.get("weighted_metrics"))
        if state:
            model.optimizer.build(model.trainable_weights)
            model.optimizer.load_own_variables({str(i): a for i, a in enumerate(state)})
    return model
