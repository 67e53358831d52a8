"""rnncore's former file format, read so that files already written still load; rnncore no
longer writes it (``model.save`` writes Keras's ``.keras`` and ``.h5``, see ``_saving``).

It is a ZIP archive (under any file name, often ``best-lstm-model.h5``) holding JSON and .npy
arrays:

``rnncore.json``
    ``{"format": "rnncore", "version": 1, "kind": "model" | "weights",
    "model": {"class_name": ..., "config": ...}, "compile": {...} | null,
    "weights": [{"path": ..., "shape": [...], "dtype": ..., "file": "weights/0.npy"}, ...]}``
``weights/<i>.npy``
    One array per weight in ``get_weights()`` order.
``optimizer/<i>.npy``
    The optimizer's state in ``optimizer.variables`` order, listed under ``"optimizer_state"``.

Loading never unpickles and never evaluates code: the architecture is rebuilt only from
rnncore's own layer classes, and arrays are read from their raw bytes, never through
``np.load``. It is bounded: the index, every member's ``.npy`` header, its size in the ZIP
directory and the model's own weights must all agree before any array data is read, so a
crafted or damaged file is refused with a ValueError that names the file, the member, what
was found and what was expected, without allocating more than the arrays the model holds.
"""
import json
import os
import zipfile
import zlib

import numpy as np
from numpy.lib import format as _npy

from .. import _config

FORMAT, VERSION = "rnncore", 1
INDEX = "rnncore.json"
# An index takes about 2 KiB per layer: 16 MiB is thousands of layers, and bounds what a small
# deflated archive can make json.loads build (some ten times the text in Python objects).
_MAX_INDEX_BYTES = 16 << 20
_MAX_NPY_HEADER = 10_000  # numpy's own limit for np.load
# Deflate cannot expand more than about 1032:1, so a member that declares more is damaged.
_MAX_DEFLATE_RATIO = 1100
_WEIGHT_DTYPES = ("float16", "float32", "float64")
_STATE_DTYPES = ("int64", "float16", "float32", "float64")
_MODEL_CLASSES = ("Sequential", "Functional")
# layer classes a file may name: the concrete ones of rnncore.layers (Lambda holds code)
_NOT_LOADABLE = ("Layer", "RNNBase", "Lambda")


# what zipfile raises for a member it cannot give back: bad CRC, broken deflate stream, early
# end of file, unsupported compression (NotImplementedError), encryption (RuntimeError)
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
            RuntimeError)
_NPY_HEADER_READERS = {(1, 0): _npy.read_array_header_1_0, (2, 0): _npy.read_array_header_2_0}


class _Refused(Exception):
    """A member refused while reading it (raised again as a ValueError naming it)."""


def _shape(shape):
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


class _Archive:
    """An rnncore file opened for loading. Opening checks the archive, the index and every
    member's ``.npy`` header and size against each other; :meth:`check_weights` checks them
    against a model's weights; only then do :meth:`read_weights` / :meth:`read_state` read
    array data, exactly the bytes the headers declare."""

    def __init__(self, filepath):
        self.path = os.fspath(filepath)
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"No file at {self.path!r}")
        if os.path.isdir(self.path):
            raise IsADirectoryError(f"{self.path!r} is a directory, not an rnncore file")
        self.zf = self._open_zip()
        try:
            self.meta = self._read_index()
            self._check_index()
            self.weights = [self._member(e) for e in self.meta["weights"]]
            self.state = [self._member(e) for e in self.meta.get("optimizer_state", [])]
        except BaseException:
            self.zf.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.zf.close()

    def error(self, message, member=None):
        where = f"{self.path!r}" if member is None else f"{self.path!r}, member {member!r}"
        return ValueError(f"Cannot load {where}: {message}")

    # -- the archive and its index
    def _open_zip(self):
        with open(self.path, "rb") as f:
            head = f.read(8)
        try:
            zf = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError) as exc:
            if head.startswith(b"PK"):
                found = (f"a damaged or truncated ZIP archive ({exc}; size "
                         f"{os.path.getsize(self.path)} bytes)")
            elif head.startswith(b"\x89HDF"):
                found = "an HDF5 file"
            else:
                found = f"not a ZIP archive (it starts with {head!r}, expected b'PK\\x03\\x04')"
            raise ValueError(f"{self.path!r} is not an rnncore file: {found}") from None
        seen = set()
        for name in zf.namelist():
            if name in seen:
                zf.close()
                raise self.error(f"the archive holds two members named {name!r}")
            seen.add(name)
        return zf

    def _read_index(self):
        try:
            info = self.zf.getinfo(INDEX)
        except KeyError:
            names = self.zf.namelist()
            raise self.error(f"it is not an rnncore file (no rnncore.json inside; the archive "
                             f"holds {names[:5]}{' ...' if len(names) > 5 else ''})") from None
        if info.file_size > _MAX_INDEX_BYTES:
            raise self.error(f"the index is {info.file_size} bytes long, more than the "
                             f"{_MAX_INDEX_BYTES} an rnncore index may have", INDEX)
        raw = self._read_bytes(info, info.file_size, INDEX)
        try:
            meta = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise self.error(f"the index is not UTF-8 text ({exc})", INDEX) from None
        except json.JSONDecodeError as exc:
            raise self.error(f"the index is not valid JSON ({exc.msg} at line {exc.lineno} "
                             f"column {exc.colno})", INDEX) from None
        except RecursionError:
            raise self.error("the index is not valid JSON (nested too deeply)", INDEX) from None
        if not isinstance(meta, dict):
            raise self.error(f"the index must be a JSON object, found a "
                             f"{type(meta).__name__}", INDEX)
        return meta

    def _check_index(self):
        meta, fail = self.meta, (lambda message: self.error(message, INDEX))
        if meta.get("format") != FORMAT:
            raise fail(f'"format" is {meta.get("format")!r}, expected {FORMAT!r}')
        version = meta.get("version")
        if type(version) is not int or version != VERSION:
            raise fail(f'"version" is {version!r}; this rnncore reads version {VERSION} (was '
                       "the file written by a newer rnncore?)")
        if meta.get("kind") not in ("model", "weights"):
            raise fail(f'"kind" is {meta.get("kind")!r}, expected "model" or "weights"')
        for key, dtypes, required in (("weights", _WEIGHT_DTYPES, True),
                                      ("optimizer_state", _STATE_DTYPES, False)):
            if key not in meta and not required:
                continue
            entries = meta.get(key)
            if not isinstance(entries, list):
                raise fail(f'"{key}" must be a list of entries, found '
                           f"{'nothing' if key not in meta else repr(entries)[:80]}")
            for i, entry in enumerate(entries):
                self._check_entry(entry, f'"{key}"[{i}]', dtypes, fail)
        if meta["kind"] == "model":
            spec = meta.get("model")
            if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
                raise fail('"model" must be an object {"class_name": ..., "config": {...}}, '
                           f"found {repr(spec)[:80]}")
            if spec.get("class_name") not in _MODEL_CLASSES:
                raise fail(f'"model" class {spec.get("class_name")!r} is not one rnncore can '
                           f"rebuild: expected one of {list(_MODEL_CLASSES)}")
            compiled = meta.get("compile")
            if compiled is not None and not (isinstance(compiled, dict) and
                                             {"optimizer", "loss"} <= set(compiled)):
                raise fail('"compile" must be null or an object with "optimizer" and "loss", '
                           f"found {repr(compiled)[:80]}")

    @staticmethod
    def _check_entry(entry, where, dtypes, fail):
        if not isinstance(entry, dict):
            raise fail(f"{where} must be an object, found {repr(entry)[:80]}")
        missing = [k for k in ("shape", "dtype", "file") if k not in entry]
        if missing:
            raise fail(f"{where} has no {missing}: expected keys shape, dtype and file")
        shape = entry["shape"]
        if not (isinstance(shape, list) and len(shape) <= 32 and
                all(type(d) is int and d >= 0 for d in shape)):
            raise fail(f"{where} has shape {shape!r}, expected a list of non-negative integers")
        if entry["dtype"] not in dtypes:
            raise fail(f"{where} has dtype {entry['dtype']!r}, expected one of {list(dtypes)}")
        if not isinstance(entry["file"], str):
            raise fail(f"{where} has file {entry['file']!r}, expected a member name")

    # -- members
    def _read_bytes(self, info, n, member):
        """Exactly `n` bytes from the start of a member (the CRC is checked at its end)."""
        try:
            with self.zf.open(info) as f:
                data = f.read(n)
        except _DAMAGED + (ValueError,) as exc:
            raise self.error(f"the member is damaged or truncated ({exc})", member) from None
        if len(data) != n:
            raise self.error(f"the member is truncated: {len(data)} bytes of {n}", member)
        return data

    def _member(self, entry):
        """The header of the .npy member an index entry points at, checked against the entry
        and the member's size: ``(info, data offset, shape, dtype, fortran_order)``."""
        name = entry["file"]
        try:
            info = self.zf.getinfo(name)
        except KeyError:
            raise self.error(f"the index points at member {name!r}, which the archive does "
                             "not hold") from None
        if info.compress_type == zipfile.ZIP_STORED:
            bound = info.compress_size
        else:
            bound = info.compress_size * _MAX_DEFLATE_RATIO + 1024
        if info.file_size > bound:
            raise self.error(f"the ZIP directory declares {info.file_size} bytes for "
                             f"{info.compress_size} stored: the archive is damaged", name)
        head = b""
        try:
            with self.zf.open(info) as f:
                head = f.read(8)
                if head.startswith(b"PK"):
                    raise _Refused("the member is a ZIP/.npz archive, expected one .npy array")
                if head[:1] == b"\x80":
                    raise _Refused("the member is a Python pickle, which rnncore never loads; "
                                   "expected a .npy array")
                f.seek(0)
                version = _npy.read_magic(f)
                if version not in _NPY_HEADER_READERS:
                    raise _Refused(f".npy format version {version}, expected (1, 0) or (2, 0)")
                shape, fortran, dtype = _NPY_HEADER_READERS[version](f, _MAX_NPY_HEADER)
                offset = f.tell()
        except _Refused as exc:
            raise self.error(str(exc), name) from None
        except _DAMAGED as exc:
            raise self.error(f"the member is damaged or truncated ({exc})", name) from None
        except ValueError as exc:  # numpy's header readers: not a .npy array
            raise self.error(f"the member is not a valid .npy array ({exc}; it starts with "
                             f"{head!r})", name) from None
        if dtype.hasobject:
            raise self.error(f"the member holds Python objects (dtype {dtype.str!r}), which "
                             "rnncore never unpickles; expected a numeric array", name)
        if dtype.newbyteorder("=") != np.dtype(entry["dtype"]) or \
                list(shape) != entry["shape"]:
            raise self.error(f"its .npy header declares shape {_shape(shape)} dtype "
                             f"{dtype.str!r}, the index says shape {_shape(entry['shape'])} "
                             f"dtype {entry['dtype']!r}", name)
        nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if info.file_size != offset + nbytes:
            raise self.error(f"the member is {info.file_size} bytes long, its .npy header "
                             f"declares shape {_shape(shape)} dtype {dtype.str!r}, which takes "
                             f"{offset + nbytes} bytes: the file is truncated or damaged", name)
        return info, offset, tuple(shape), dtype, fortran

    def _read_array(self, member):
        info, offset, shape, dtype, fortran = member
        data = memoryview(self._read_bytes(info, info.file_size, info.filename))[offset:]
        a = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
        return np.array(a, dtype=dtype.newbyteorder("="), order="C")

    # -- against the model
    def check_weights(self, model):
        """Check the index's weights against ``model.weights``: their number, and each one's
        shape and dtype."""
        mine, entries = model.weights, self.meta["weights"]
        if len(entries) != len(mine):
            raise self.error(f"the file holds {len(entries)} weights, model {model.name!r} has "
                             f"{len(mine)} ({[v.path for v in mine][:8]}"
                             f"{' ...' if len(mine) > 8 else ''})")
        for entry, var in zip(entries, mine):
            if tuple(entry["shape"]) != var.shape or entry["dtype"] != var.dtype.name:
                raise self.error(f"the file's weight {entry.get('path', '?')!r} has shape "
                                 f"{_shape(entry['shape'])} dtype {entry['dtype']!r}, the "
                                 f"model's weight {var.path!r} has shape {_shape(var.shape)} "
                                 f"dtype {var.dtype.name!r}", entry["file"])

    def check_state(self, optimizer):
        """Check the saved optimizer state against a built optimizer's variables."""
        mine, entries = optimizer.variables, self.meta.get("optimizer_state", [])
        if len(entries) != len(mine):
            raise self.error(f"the file holds {len(entries)} optimizer variables, optimizer "
                             f"{optimizer.name!r} has {len(mine)}")
        for i, (entry, var) in enumerate(zip(entries, mine)):
            if tuple(entry["shape"]) != var.shape or \
                    np.dtype(entry["dtype"]).kind != var.dtype.kind:
                raise self.error(f"optimizer variable {i} has shape {_shape(entry['shape'])} "
                                 f"dtype {entry['dtype']!r}, expected shape {_shape(var.shape)}"
                                 f" dtype {var.dtype.name!r}", entry["file"])

    def read_weights(self):
        return [self._read_array(m) for m in self.weights]

    def read_state(self):
        return [self._read_array(m) for m in self.state]


def _layer_classes(entries):
    """The ``class_name`` of every layer an architecture lists (``config["layers"]``), the
    layers wrapped by a Bidirectional or TimeDistributed, an RNN's cells and the layers of a
    model used as a layer included."""
    for entry in entries if isinstance(entries, list) else [entries]:
        if not isinstance(entry, dict):
            yield repr(entry)[:80]
            continue
        yield entry.get("class_name")
        config = entry.get("config")
        if not isinstance(config, dict):
            continue
        for key in ("layer", "backward_layer", "cell"):
            if config.get(key) is not None:
                yield from _layer_classes(config[key])
        for key in ("layers", "cells"):
            if isinstance(config.get(key), list):
                yield from _layer_classes(config[key])


def load_weights(model, filepath):
    with _Archive(filepath) as archive:
        if not model.built:
            raise ValueError(f"Model {model.name!r} is not built yet: build it (or call it on "
                             "data) before load_weights")
        archive.check_weights(model)
        model.set_weights(archive.read_weights())


def load_model(filepath, compile=True):
    """Load a model of rnncore's former ZIP format (architecture, weights, compile settings)."""
    from ..layers._registry import _classes
    from ._functional import Functional
    from ._sequential import Sequential

    with _Archive(filepath) as archive:
        meta = archive.meta
        if meta["kind"] != "model":
            raise ValueError(f"{archive.path!r} holds only weights: build the model and call "
                             "model.load_weights() instead")
        spec = meta["model"]
        # a model may hold models as layers
        known = sorted((set(_classes()) | {"Functional", "Sequential"}) - set(_NOT_LOADABLE))
        for name in _layer_classes(spec["config"].get("layers", [])):
            if name not in known:
                raise archive.error(f"the architecture names layer class {name!r}, which "
                                    f"rnncore cannot rebuild; expected one of {known}", INDEX)
        cls = {"Sequential": Sequential, "Functional": Functional}[spec["class_name"]]
        # the weights the architecture may create: what the checked index declares, and 2**24
        # elements (64 MiB) more, so that a small mismatch reaches check_weights' exact message
        declared = sum(int(np.prod(e["shape"], dtype=np.int64)) for e in meta["weights"])
        try:
            with _config.weight_budget(declared + 2 ** 24, f"Cannot load {archive.path!r}"):
                model = cls.from_config(spec["config"])
        except Exception as exc:  # a config from a file may be wrong in any way
            raise archive.error(f"the architecture cannot be rebuilt: {type(exc).__name__}: "
                                f"{exc}", INDEX) from exc
        archive.check_weights(model)
        state = False
        if compile and meta.get("compile"):
            from .. import losses, optimizers

            c = meta["compile"]
            try:
                loss = c["loss"]
                loss = ([None if item is None else losses.deserialize(item) for item in loss]
                        if isinstance(loss, list) else losses.deserialize(loss))
                model.compile(optimizer=optimizers.deserialize(c["optimizer"]), loss=loss,
                              loss_weights=c.get("loss_weights"), metrics=c.get("metrics"),
                              weighted_metrics=c.get("weighted_metrics"))
            except Exception as exc:
                raise archive.error(f"the compile settings cannot be restored: "
                                    f"{type(exc).__name__}: {exc}", INDEX) from exc
            if archive.state:
                model.optimizer.build(model.trainable_weights)
                archive.check_state(model.optimizer)
                state = True
        model.set_weights(archive.read_weights())
        if state:
            model.optimizer.load_own_variables(
                {str(i): a for i, a in enumerate(archive.read_state())})
    return model
