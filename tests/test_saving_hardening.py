"""Saving and loading under attack and accident: crafted or damaged files of rnncore's former
ZIP format (which rnncore still reads, no longer writes) are refused with a clear error before
any array data is read, a writer killed mid-save leaves nothing behind after the next save,
and saved files get the permissions a plain ``open`` would give. The Keras formats' own
crafted files are in test_saving_keras_hardening.py."""
import io
import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest

import rnncore
from rnncore.models import _former_zip, _keras_config, _keras_files, _saving

VOCAB, T = 30, 5


def _model(compiled=True):
    model = rnncore.Sequential([rnncore.layers.Embedding(VOCAB, 4, input_length=T),
                                rnncore.layers.LSTM(3), rnncore.layers.Dense(1, "sigmoid")])
    if compiled:
        model.compile("adam", "binary_crossentropy", metrics=["acc"])
    return model


def _data():
    rng = np.random.default_rng(0)
    return rng.integers(0, VOCAB, (16, T)), (rng.random((16, 1)) > 0.5).astype("float32")


def _write_former(model, path):
    """A file of rnncore's former format, as its model.save wrote them (it no longer does)."""
    store = {}
    model.optimizer.save_own_variables(store)
    state = [np.asarray(store[str(i)]) for i in range(len(store))]
    meta = {"format": "rnncore", "version": 1, "kind": "model",
            "model": {"class_name": type(model).__name__, "config": model.get_config()},
            "compile": _keras_config.compile_settings(model),
            "weights": [{"path": w.path, "shape": list(w.shape), "dtype": w.dtype.name,
                         "file": f"weights/{i}.npy"} for i, w in enumerate(model.weights)],
            "optimizer_state": [{"shape": list(a.shape), "dtype": a.dtype.name,
                                 "file": f"optimizer/{i}.npy"} for i, a in enumerate(state)]}
    members = [(f"weights/{i}.npy", _npy(a)) for i, a in enumerate(model.get_weights())]
    members += [(f"optimizer/{i}.npy", _npy(a)) for i, a in enumerate(state)]
    path.write_bytes(_zip(members + [("rnncore.json", json.dumps(meta, indent=1).encode())]))


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A trained model's file in the former format: its bytes, members and index."""
    model = _model()
    model.fit(*_data(), epochs=1, batch_size=8, verbose=0)
    path = tmp_path_factory.mktemp("good") / "model.h5"
    _write_former(model, path)
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    return {"bytes": path.read_bytes(), "members": members,
            "meta": json.loads(members["rnncore.json"]), "weights": model.get_weights()}


def _npy(a, allow_pickle=False):
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=allow_pickle)
    return buf.getvalue()


def _zip(members, compression=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns on a duplicate name
        with zipfile.ZipFile(buf, "w", compression=compression) as zf:
            for name, data in members:
                zf.writestr(name, data)
    return buf.getvalue()


def _with(good, meta=None, drop=(), **replace):
    """The good archive with its index replaced by `meta` (a dict, or raw bytes) and members
    replaced (``weights_0=bytes``) or dropped."""
    replace = {k.replace("_", "/", 1) + ".npy": v for k, v in replace.items()}
    members = [(n, replace.get(n, d)) for n, d in good["members"].items()
               if n not in drop and n != "rnncore.json"]
    if meta is None:
        meta = good["meta"]
    index = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
    return _zip(members + [("rnncore.json", index)])


def _meta(good, edit):
    meta = json.loads(json.dumps(good["meta"]))
    edit(meta)
    return meta


def _set(*path_and_value):
    *path, value = path_and_value

    def edit(meta):
        target = meta
        for key in path[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return edit


_DELETE = object()


def _huge_header(shape, dtype="<f4"):
    header = {"descr": dtype, "fortran_order": False, "shape": tuple(shape)}
    text = repr(header).encode("latin1")
    text += b" " * (-(len(text) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + b"\0" * 64


def _flip_data_byte(good, member):
    """The good file with one byte of `member`'s array data changed (a bad CRC)."""
    data = bytearray(good["bytes"])
    npy = good["members"][member]
    at = data.find(npy) + len(npy) - 1
    data[at] ^= 0xFF
    return bytes(data)


def _patch_directory(good, member, offset, value):
    """The good file with a 2-byte field of `member`'s ZIP central directory entry changed
    (offset 8: flags, 10: compression method)."""
    data, at = bytearray(good["bytes"]), 0
    while True:
        at = data.index(b"PK\x01\x02", at)
        n = int.from_bytes(data[at + 28:at + 30], "little")
        if data[at + 46:at + 46 + n] == member.encode():
            break
        at += 4
    data[at + offset:at + offset + 2] = value.to_bytes(2, "little")
    return bytes(data)


def _edit_layer(index, key, value):
    return _set("model", "config", "layers", index, key, value)


def _edit_layer_config(index, key, value):
    def edit(meta):
        meta["model"]["config"]["layers"][index]["config"][key] = value
    return edit


# (id, crafted file bytes from the good file, the message expected; every message names the
# file, and the member where one is at fault). "both": load_weights refuses it too.
BAD = [
    ("empty-file", lambda g: b"", r"is empty, which is neither a ZIP archive"),
    ("text-file", lambda g: b"hello world\n", r"starts with b'hello wo', which is neither a ZIP"),
    ("hdf5-file", lambda g: b"\x89HDF\r\n\x1a\n" + bytes(100), r"HDF5 file"),
    ("truncated-half", lambda g: g["bytes"][:len(g["bytes"]) // 2],
     r"damaged or truncated ZIP archive"),
    ("truncated-last-byte", lambda g: g["bytes"][:-1], r"damaged or truncated ZIP archive"),
    ("empty-zip", lambda g: _zip([]), r"no config.json inside\) nor .* \(no rnncore.json\)"),
    ("zip-without-index", lambda g: _zip([("weights/0.npy", g["members"]["weights/0.npy"])]),
     r"\(no rnncore.json\); the archive holds \['weights/0.npy'\]"),
    ("duplicate-index", lambda g: _zip([("rnncore.json", b"{}")] +
                                       list(g["members"].items())),
     r"two members named 'rnncore.json'"),
    ("index-not-json", lambda g: _with(g, b"{'format': rnncore"),
     r"member 'rnncore.json': the index is not valid JSON \(.* at line 1 column 2\)"),
    ("index-not-utf8", lambda g: _with(g, b"\xff\xfe{\x00}\x00"), r"not UTF-8 text"),
    ("index-nested-too-deeply", lambda g: _with(g, b"[" * 200_000 + b"]" * 200_000),
     r"not valid JSON \(nested too deeply\)"),
    ("index-is-a-list", lambda g: _with(g, b"[1, 2]"), r"must be a JSON object, found a list"),
    ("wrong-format", lambda g: _with(g, _meta(g, _set("format", "keras"))),
     r"\"format\" is 'keras', expected 'rnncore'"),
    ("newer-version", lambda g: _with(g, _meta(g, _set("version", 2))),
     r"\"version\" is 2; this rnncore reads version 1"),
    ("version-as-text", lambda g: _with(g, _meta(g, _set("version", "1"))),
     r"\"version\" is '1'"),
    ("no-version", lambda g: _with(g, _meta(g, _set("version", _DELETE))),
     r"\"version\" is None"),
    ("wrong-kind", lambda g: _with(g, _meta(g, _set("kind", "optimizer"))),
     r"\"kind\" is 'optimizer', expected \"model\" or \"weights\""),
    ("no-weights-list", lambda g: _with(g, _meta(g, _set("weights", _DELETE))),
     r"\"weights\" must be a list of entries, found nothing"),
    ("weights-not-a-list", lambda g: _with(g, _meta(g, _set("weights", {"0": 1}))),
     r"\"weights\" must be a list of entries, found \{'0': 1\}"),
    ("entry-not-an-object", lambda g: _with(g, _meta(g, _set("weights", 0, "w.npy"))),
     r"\"weights\"\[0\] must be an object, found 'w.npy'"),
    ("entry-without-file", lambda g: _with(g, _meta(g, _set("weights", 1, "file", _DELETE))),
     r"\"weights\"\[1\] has no \['file'\]"),
    ("entry-negative-shape", lambda g: _with(g, _meta(g, _set("weights", 0, "shape",
                                                                [-1, 4]))),
     r"\"weights\"\[0\] has shape \[-1, 4\], expected a list of non-negative integers"),
    ("entry-object-dtype", lambda g: _with(g, _meta(g, _set("weights", 0, "dtype", "object"))),
     r"\"weights\"\[0\] has dtype 'object', expected one of"),
    ("entry-file-not-a-name", lambda g: _with(g, _meta(g, _set("weights", 0, "file", 3))),
     r"has file 3, expected a member name"),
    ("index-points-at-missing-member",
     lambda g: _with(g, _meta(g, _set("weights", 2, "file", "weights/99.npy"))),
     r"the index points at member 'weights/99.npy', which the archive does not hold"),
    ("member-removed", lambda g: _with(g, drop=["weights/1.npy"]),
     r"the index points at member 'weights/1.npy'"),
    ("index-shape-disagrees-with-member",
     lambda g: _with(g, _meta(g, _set("weights", 0, "shape", [4, 30]))),
     r"member 'weights/0.npy': its .npy header declares shape \(30, 4\) dtype '<f4', the "
     r"index says shape \(4, 30\)"),
    ("member-dtype-disagrees-with-index",
     lambda g: _with(g, weights_0=_npy(g["weights"][0].astype("float64"))),
     r"member 'weights/0.npy': its .npy header declares shape \(30, 4\) dtype '<f8', the "
     r"index says shape \(30, 4\) dtype 'float32'"),
    ("shape-disagrees-with-model",
     lambda g: _with(g, _meta(g, _set("weights", 0, "shape", [31, 4])),
                     weights_0=_npy(np.zeros((31, 4), "float32"))),
     r"member 'weights/0.npy': the file's weight '(sequential\w*/)?embedding.*' has shape \(31, 4\) dtype "
     r"'float32', the model's weight '(sequential\w*/)?embedding.*' has shape \(30, 4\)"),
    ("dtype-disagrees-with-model",
     lambda g: _with(g, _meta(g, _set("weights", 0, "dtype", "float64")),
                     weights_0=_npy(g["weights"][0].astype("float64"))),
     r"dtype 'float64', the model's weight .* dtype 'float32'"),
    ("one-weight-too-few", lambda g: _with(g, _meta(g, lambda m: m["weights"].pop())),
     r"the file holds 5 weights, model '.*' has 6"),
    ("one-weight-too-many",
     lambda g: _with(g, _meta(g, lambda m: m["weights"].append(m["weights"][-1]))),
     r"the file holds 7 weights, model '.*' has 6"),
    ("member-is-npz", lambda g: _with(g, weights_0=(
        lambda b: (np.savez(b, g["weights"][0]), b.getvalue())[1])(io.BytesIO())),
     r"member 'weights/0.npy': the member is a ZIP/.npz archive, expected one .npy array"),
    ("member-is-a-pickle", lambda g: _with(g, weights_0=pickle.dumps(g["weights"][0])),
     r"member 'weights/0.npy': the member is a Python pickle, which rnncore never loads"),
    ("member-holds-objects", lambda g: _with(g, weights_0=_npy(
        np.array([[None] * 4] * 30, dtype=object), allow_pickle=True)),
     r"member 'weights/0.npy': the member holds Python objects \(dtype '\|O'\)"),
    ("member-not-npy", lambda g: _with(g, weights_1=b"just some bytes, not an array"),
     r"member 'weights/1.npy': the member is not a valid .npy array \(.*magic"),
    ("member-empty", lambda g: _with(g, weights_1=b""),
     r"member 'weights/1.npy': the member is not a valid .npy array"),
    ("npy-header-garbled", lambda g: _with(g, weights_1=b"\x93NUMPY\x01\x00\x10\x00{'descr': 1}"
                                                        + b" " * 3 + b"\n"),
     r"member 'weights/1.npy': the member is not a valid .npy array"),
    ("npy-version-9", lambda g: _with(g, weights_1=b"\x93NUMPY\x09\x00" + bytes(100)),
     r"member 'weights/1.npy': .npy format version \(9, 0\)"),
    ("member-truncated", lambda g: _with(g, weights_1=g["members"]["weights/1.npy"][:-4]),
     r"member 'weights/1.npy': the member is \d+ bytes long, its .npy header declares shape "
     r"\(4, 12\) dtype '<f4', which takes \d+ bytes: the file is truncated or damaged"),
    ("member-with-trailing-bytes", lambda g: _with(g, weights_1=g["members"]["weights/1.npy"]
                                                   + b"\0" * 8),
     r"member 'weights/1.npy': the member is \d+ bytes long"),
    ("header-declares-1e12-elements", lambda g: _with(g, weights_1=_huge_header((10**6, 10**6))),
     r"member 'weights/1.npy': its .npy header declares shape \(1000000, 1000000\) dtype "
     r"'<f4', the index says shape \(4, 12\)"),
    ("header-and-index-declare-1e12-elements",
     lambda g: _with(g, _meta(g, _set("weights", 1, "shape", [10**6, 10**6])),
                     weights_1=_huge_header((10**6, 10**6))),
     r"member 'weights/1.npy': the member is \d+ bytes long, its .npy header declares shape "
     r"\(1000000, 1000000\) dtype '<f4', which takes 4000000000\d+ bytes"),
    ("bad-crc", lambda g: _flip_data_byte(g, "weights/1.npy"),
     r"member 'weights/1.npy': the member is damaged or truncated \(Bad CRC-32"),
    ("encrypted-member", lambda g: _patch_directory(g, "weights/2.npy", 8, 1),
     r"member 'weights/2.npy': the member is damaged or truncated \(.*encrypted"),
    ("unknown-compression", lambda g: _patch_directory(g, "weights/2.npy", 10, 99),
     r"member 'weights/2.npy': the member is damaged or truncated \(.*compression"),
    ("encrypted-index", lambda g: _patch_directory(g, "rnncore.json", 8, 1),
     r"member 'rnncore.json': the member is damaged or truncated \(.*encrypted"),
]

# only load_model reads these parts of the file
BAD_MODEL_ONLY = [
    ("weights-only-file", lambda g: _with(g, _meta(g, _set("kind", "weights"))),
     r"holds only weights"),
    ("no-model-spec", lambda g: _with(g, _meta(g, _set("model", _DELETE))),
     r"\"model\" must be an object"),
    ("unknown-model-class", lambda g: _with(g, _meta(g, _set("model", "class_name", "Zoo"))),
     r"\"model\" class 'Zoo' is not one rnncore can rebuild"),
    ("unknown-layer-class", lambda g: _with(g, _meta(g, _edit_layer(1, "class_name",
                                                                    "RandomFlip"))),
     r"the architecture names layer class 'RandomFlip', which rnncore cannot rebuild"),
    ("lambda-layer", lambda g: _with(g, _meta(g, _edit_layer(1, "class_name", "Lambda"))),
     r"layer class 'Lambda', which rnncore cannot rebuild"),
    ("base-layer-class", lambda g: _with(g, _meta(g, _edit_layer(2, "class_name", "Layer"))),
     r"layer class 'Layer', which rnncore cannot rebuild"),
    ("layer-entry-not-an-object",
     lambda g: _with(g, _meta(g, _set("model", "config", "layers", 1, "LSTM"))),
     r"layer class \"'LSTM'\", which rnncore cannot rebuild"),
    ("bad-layer-argument", lambda g: _with(g, _meta(g, _edit_layer_config(1, "units", "x"))),
     r"member 'rnncore.json': the architecture cannot be rebuilt: ValueError"),
    ("unknown-layer-argument", lambda g: _with(g, _meta(g, _edit_layer_config(1, "spam", 1))),
     r"the architecture cannot be rebuilt: TypeError: Unrecognized keyword arguments"),
    ("compile-not-an-object", lambda g: _with(g, _meta(g, _set("compile", "adam"))),
     r"\"compile\" must be null or an object"),
    ("unknown-optimizer", lambda g: _with(g, _meta(g, _set("compile", "optimizer", "nope"))),
     r"the compile settings cannot be restored"),
    ("optimizer-state-too-short",
     lambda g: _with(g, _meta(g, lambda m: m["optimizer_state"].pop())),
     r"the file holds \d+ optimizer variables, optimizer 'adam' has \d+"),
    ("optimizer-state-wrong-shape",
     lambda g: _with(g, _meta(g, _set("optimizer_state", 2, "shape", [4, 30])),
                     optimizer_2=_npy(np.zeros((4, 30), "float32"))),
     r"member 'optimizer/2.npy': optimizer variable 2 has shape \(4, 30\) dtype 'float32', "
     r"expected shape \(30, 4\)"),
    ("optimizer-member-holds-objects", lambda g: _with(g, optimizer_0=_npy(
        np.array(None, dtype=object), allow_pickle=True)),
     r"member 'optimizer/0.npy': the member holds Python objects"),
]


def _loaders(model_only):
    loaders = [("load_model", lambda p: rnncore.models.load_model(p))]
    if not model_only:
        loaders.append(("load_weights", lambda p: _model(compiled=False).load_weights(p)))
    return loaders


CASES = [pytest.param(craft, loader, match, id=f"{case}-{name}")
         for cases, model_only in ((BAD, False), (BAD_MODEL_ONLY, True))
         for case, craft, match in cases for name, loader in _loaders(model_only)]


@pytest.mark.parametrize("craft, loader, match", CASES)
def test_a_bad_file_is_refused_with_a_clear_error(good, tmp_path, craft, loader, match):
    path = tmp_path / "bad.h5"
    path.write_bytes(craft(good))
    with pytest.raises(ValueError, match=match) as info:
        loader(path)
    assert repr(str(path)) in str(info.value)  # the message names the file


def test_there_are_many_distinct_bad_files():
    assert len(BAD) + len(BAD_MODEL_ONLY) >= 50
    assert len(CASES) >= 90


@pytest.mark.parametrize("load", ["load_model", "load_weights"])
def test_a_missing_path_is_file_not_found(tmp_path, load):
    with pytest.raises(FileNotFoundError, match="No file at .*nothing.h5"):
        dict(_loaders(False))[load](tmp_path / "nothing.h5")


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory"):
        rnncore.models.load_model(tmp_path)


def test_an_index_over_the_limit_is_refused_before_it_is_read(good, tmp_path, monkeypatch):
    monkeypatch.setattr(_former_zip, "_MAX_INDEX_BYTES", 100)
    path = tmp_path / "m.h5"
    path.write_bytes(good["bytes"])
    with pytest.raises(ValueError, match=r"member 'rnncore.json': the index is \d+ bytes long, "
                                         r"more than the 100 an rnncore index may have"):
        rnncore.models.load_model(path)


def test_a_crafted_header_allocates_nothing_before_the_refusal(good, tmp_path):
    # a 1 GiB array declared by a few bytes, consistently in the index: np.load would
    # allocate the whole array before finding the data missing
    shape = [1 << 14, 1 << 14]
    path = tmp_path / "bomb.h5"
    path.write_bytes(_with(good, _meta(good, _set("weights", 0, "shape", shape)),
                           weights_0=_huge_header(shape)))
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="member 'weights/0.npy'"):
            rnncore.models.load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20


@pytest.mark.parametrize("variant", ["deflated", "fortran-order"])
def test_a_re_zipped_or_fortran_ordered_file_still_loads(good, tmp_path, variant):
    members = dict(good["members"])
    if variant == "fortran-order":
        members["weights/1.npy"] = _npy(np.asfortranarray(good["weights"][1]))
    compression = zipfile.ZIP_DEFLATED if variant == "deflated" else zipfile.ZIP_STORED
    path = tmp_path / "m.h5"
    path.write_bytes(_zip(members.items(), compression))
    loaded = rnncore.models.load_model(path)
    for a, b in zip(loaded.get_weights(), good["weights"]):
        np.testing.assert_array_equal(a, b)
    other = _model(compiled=False)
    other.load_weights(path)
    for a, b in zip(other.get_weights(), good["weights"]):
        np.testing.assert_array_equal(a, b)


# ---- permissions ---------------------------------------------------------------------------
def _name(how, stem="m"):
    return f"{stem}.weights.h5" if how == "save_weights" else f"{stem}.h5"


def _save_with(how, model, path):
    if how == "save":
        model.save(path)
    elif how == "save_weights":
        model.save_weights(path)
    else:
        checkpoint = rnncore.callbacks.ModelCheckpoint(str(path), monitor="loss")
        model.fit(*_data(), epochs=1, batch_size=8, verbose=0, callbacks=[checkpoint])


@pytest.mark.parametrize("how", ["save", "save_weights", "checkpoint"])
@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_a_saved_file_gets_the_mode_open_would_give(tmp_path, how, umask):
    model = _model()
    model.build((None, T))
    old = os.umask(umask)
    try:
        _save_with(how, model, tmp_path / _name(how, "new"))
        with open(tmp_path / "plain", "w"):
            pass
    finally:
        os.umask(old)
    new = tmp_path / _name(how, "new")
    assert oct(new.stat().st_mode & 0o777) == oct(0o666 & ~umask)
    assert new.stat().st_mode == (tmp_path / "plain").stat().st_mode


@pytest.mark.parametrize("how", ["save", "save_weights", "checkpoint"])
def test_overwriting_keeps_the_existing_files_mode(tmp_path, how):
    # as open(path, "w") does: it truncates the file in place, keeping its mode
    model = _model()
    model.build((None, T))
    path = tmp_path / _name(how)
    path.write_bytes(b"old")
    for mode in (0o640, 0o604):
        path.chmod(mode)
        _save_with(how, model, path)
        assert oct(path.stat().st_mode & 0o777) == oct(mode)
    rnncore.models.load_model(path) if how != "save_weights" else model.load_weights(path)


def test_saving_through_a_symlink_writes_its_target(tmp_path):
    # as open(path, "w") would: "latest.h5 -> runs/3.h5" keeps pointing at the new file
    model = _model()
    model.build((None, T))
    (tmp_path / "runs").mkdir()
    target = tmp_path / "runs" / "3.h5"
    target.write_bytes(b"old")
    target.chmod(0o640)
    (tmp_path / "latest.h5").symlink_to(target)
    model.save(tmp_path / "latest.h5")
    assert (tmp_path / "latest.h5").is_symlink()
    assert oct(target.stat().st_mode & 0o777) == oct(0o640)
    rnncore.models.load_model(target)
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["3.h5"]


# ---- temporary files -------------------------------------------------------------------------
def _temps(directory):
    saved = ("m.h5", "m.weights.h5", "m.keras")
    return sorted(p.name for p in directory.iterdir() if p.name not in saved)


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temp_files_of_dead_writers_go_and_live_ones_stay(tmp_path):
    host = _saving._host()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        names = {"dead": f".m.h5.rnncore-tmp-{host}-{_dead_pid()}-0123abcd",
                 "dead-other-target": f".ckpt-01.h5.rnncore-tmp-{host}-{_dead_pid()}-89abcdef",
                 "live": f".m.h5.rnncore-tmp-{host}-{live.pid}-0123abcd",
                 "other-host": f".m.h5.rnncore-tmp-otherhost{host}-{_dead_pid()}-0123abcd",
                 "no-such-pid": f".m.h5.rnncore-tmp-{host}-{10**30}-0123abcd",
                 "user-file": ".m.h5.notes"}
        for name in names.values():
            (tmp_path / name).write_bytes(b"partial")
        _model().save(tmp_path / "m.h5")
        assert _temps(tmp_path) == sorted(names[k] for k in ("live", "other-host", "no-such-pid",
                                                          "user-file"))
    finally:
        live.kill()
        live.wait()


_WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    import rnncore
    how, path = sys.argv[1], sys.argv[2]
    model = rnncore.Sequential([rnncore.layers.Embedding(100_000, 64, input_length=2),
                                rnncore.layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.zeros((4, 2), "int64"), np.zeros((4, 2, 1), "float32")
    callbacks = [rnncore.callbacks.ModelCheckpoint(path, monitor="loss", save_freq=1)]
    print("ready", flush=True)
    while True:
        if how == "save":
            model.save(path)
        elif how == "save_weights":
            model.save_weights(path)
        else:
            model.fit(x, y, batch_size=1, epochs=1, verbose=0, callbacks=callbacks)
""")


@pytest.mark.parametrize("how", ["save", "save_weights", "checkpoint"])
def test_a_writer_killed_mid_save_leaves_no_temp_file_after_the_next_save(tmp_path, how):
    path = tmp_path / _name(how)
    killed_mid_save = 0
    for _ in range(2):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, how, str(path)],
                                stdout=subprocess.PIPE)
        before = set(_temps(tmp_path))
        try:
            assert proc.stdout.readline() == b"ready\n"
            deadline = time.monotonic() + 30
            while not set(_temps(tmp_path)) - before and time.monotonic() < deadline:
                time.sleep(0.002)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
        killed_mid_save += bool(set(_temps(tmp_path)) - before)
    assert killed_mid_save >= 1  # the test did kill a writer mid-save
    model = rnncore.Sequential([rnncore.layers.Embedding(100_000, 64, input_length=2),
                                rnncore.layers.Dense(1)])
    _save_with("save_weights" if how == "save_weights" else "save", model, path)
    assert _temps(tmp_path) == []
    if how == "save_weights":
        model.load_weights(path)
    else:
        rnncore.models.load_model(path)


def test_a_failed_save_removes_its_temp_file_and_keeps_the_old_file(tmp_path, monkeypatch):
    model = _model()
    model.build((None, T))
    path = tmp_path / "m.keras"
    model.save(path)
    before = path.read_bytes()

    def interrupted(model, f, *args):
        f.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(_keras_files, "write_keras", interrupted)
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    assert path.read_bytes() == before and _temps(tmp_path) == []


def test_saving_to_a_directory_is_refused(tmp_path):
    model = _model()
    model.build((None, T))
    (tmp_path / "d.keras").mkdir()
    with pytest.raises(IsADirectoryError, match="is a directory"):
        model.save(tmp_path / "d.keras")
    with pytest.raises(ValueError, match="Invalid filepath extension"):
        model.save(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["d.keras"]


def test_an_architecture_bigger_than_its_weights_is_refused_before_allocating(tmp_path):
    # the weights file declares 40 elements for the Embedding; a crafted config.json asks for
    # 10**9 x 1000 of them: refused before any allocation
    import json
    import tracemalloc
    import zipfile

    model = rnncore.Sequential([rnncore.Input((3,), dtype="int32"),
                                rnncore.layers.Embedding(10, 4), rnncore.layers.LSTM(2)])
    good = tmp_path / "good.keras"
    model.save(good)
    bad = tmp_path / "bad.keras"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "config.json":
                config = json.loads(data)
                layer = next(entry for entry in config["config"]["layers"]
                             if entry["class_name"] == "Embedding")
                layer["config"]["input_dim"], layer["config"]["output_dim"] = 10 ** 9, 1000
                data = json.dumps(config).encode()
            dst.writestr(item, data)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"creates weight '.*embeddings' of "
                                             r"1,000,000,000,000 elements, more than the file"):
            rnncore.models.load_model(bad)
        assert tracemalloc.get_traced_memory()[1] < 64 * 2 ** 20
    finally:
        tracemalloc.stop()
    rnncore.models.load_model(good)  # the budget holds only during a load
    rnncore.layers.Embedding(10 ** 4, 100).build((None, 3))
