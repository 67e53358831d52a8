"""Keras files under attack and accident (issue 14): loading never runs code, names what it
refuses, and allocates no more than the weights the file really holds."""
import io
import json
import tracemalloc
import zipfile

import numpy as np
import pytest

import rnncore

h5py = pytest.importorskip("h5py")


def _model():
    L = rnncore.layers
    model = rnncore.Sequential([L.Input((5,), dtype="int32"), L.Embedding(30, 4),
                                L.LSTM(3, name="lstm"), L.Dense(1, "sigmoid")])
    model.compile("adam", "binary_crossentropy")
    model.fit(np.zeros((4, 5), "int64"), np.zeros((4, 1), "float32"), verbose=0)
    return model


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("good")
    model = _model()
    for name in ("m.keras", "m.h5"):
        model.save(d / name)
    model.save_weights(d / "m.weights.h5")
    return d


def _rewrite_keras(src, dst, config=None, weights=None):
    """Copy a .keras archive with its config (a function of the dict) or weights bytes
    replaced."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == "config.json" and config is not None:
                data = json.dumps(config(json.loads(data))).encode()
            if item.filename == "model.weights.h5" and weights is not None:
                data = weights(data)
            zout.writestr(item, data)
    return dst


def _layer(config, name):
    return next(e for e in config["config"]["layers"] if e["config"].get("name") == name)


# ---- code and foreign classes ------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("safe_mode", [True, False])
def test_a_lambda_keras_wrote_is_refused_by_name(keras, tmp_path, suffix, safe_mode):
    L = keras.layers
    model = keras.Sequential([L.Input((5, 2)), L.LSTM(3, return_sequences=True),
                              L.Lambda(lambda t: t * 2.0, name="doubler"), L.LSTM(2)])
    model.save(tmp_path / f"l{suffix}")
    with pytest.raises(ValueError, match=r"l\.(keras|h5).*layer 'doubler' is a Lambda, which "
                                         r"holds Python bytecode; rnncore never runs code"):
        rnncore.models.load_model(tmp_path / f"l{suffix}", safe_mode=safe_mode)


def _set_class(name, class_name, module=None, registered=None):
    def edit(config):
        entry = _layer(config, name)
        entry["class_name"] = class_name
        if module is not None:
            entry["module"], entry["registered_name"] = module, registered
        return config
    return edit


@pytest.mark.parametrize("edit, match", [
    (_set_class("lstm", "RandomFlip"),
     r"layer 'lstm' is of class 'RandomFlip', which rnncore cannot rebuild"),
    (_set_class("lstm", "Fancy", "my_package.layers", "my_package>Fancy"),
     r"layer 'lstm' uses class 'my_package>Fancy' registered by user code"),
    (_set_class("lstm", "LSTM", "evil.module", None),
     r"layer 'lstm' names class 'LSTM' of module 'evil.module'"),
], ids=["unknown-class", "registered-custom-class", "foreign-module"])
def test_a_class_rnncore_does_not_have_is_refused_by_name(files, tmp_path, edit, match):
    bad = _rewrite_keras(files / "m.keras", tmp_path / "bad.keras", config=edit)
    with pytest.raises(ValueError, match=match):
        rnncore.models.load_model(bad)


def test_a_legacy_file_naming_a_foreign_class_is_refused_by_name(files, tmp_path):
    path = tmp_path / "bad.h5"
    path.write_bytes((files / "m.h5").read_bytes())
    with h5py.File(path, "a") as f:
        config = json.loads(f.attrs["model_config"])
        _layer(config, "lstm")["class_name"] = "CuDNNLSTM"
        f.attrs["model_config"] = json.dumps(config)
    with pytest.raises(ValueError, match=r"bad\.h5.*layer 'lstm' is of class 'CuDNNLSTM'"):
        rnncore.models.load_model(path)


# ---- damaged files -------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["m.h5", "m.weights.h5", "m.keras"])
def test_a_truncated_file_is_a_clear_error(files, tmp_path, name):
    data = (files / name).read_bytes()
    path = tmp_path / name
    path.write_bytes(data[:len(data) * 2 // 3])
    load = (lambda p: _model().load_weights(p)) if name == "m.weights.h5" else \
        rnncore.models.load_model
    with pytest.raises(ValueError, match=r"damaged or truncated|truncated"):
        load(path)


def test_a_truncated_weights_file_inside_a_keras_archive_is_a_clear_error(files, tmp_path):
    bad = _rewrite_keras(files / "m.keras", tmp_path / "bad.keras",
                         weights=lambda data: data[:len(data) // 2])
    with pytest.raises(ValueError, match=r"bad\.keras.*model\.weights\.h5.*damaged or "
                                         r"truncated"):
        rnncore.models.load_model(bad)


@pytest.mark.parametrize("name", ["m.keras", "m.weights.h5", "m.h5"])
def test_a_weight_of_the_wrong_shape_is_named(files, tmp_path, name):
    def wrong(f, dataset):
        del f[dataset]
        f.create_dataset(dataset, data=np.zeros((2, 2), "float32"))

    path = tmp_path / name
    if name == "m.keras":
        def edit(data):
            buf = io.BytesIO(data)
            with h5py.File(buf, "a") as f:
                wrong(f, "layers/dense/vars/0")
            return buf.getvalue()
        _rewrite_keras(files / name, path, weights=edit)
        dataset = "layers/dense/vars/0"
    else:
        path.write_bytes((files / name).read_bytes())
        with h5py.File(path, "a") as f:
            if name == "m.h5":
                dense = f["model_weights"].attrs["layer_names"][-1].decode()
                group = f[f"model_weights/{dense}"]
                dataset = f"model_weights/{dense}/{group.attrs['weight_names'][0].decode()}"
            else:
                dataset = "layers/dense/vars/0"
            wrong(f, dataset)
    load = (lambda p: _model().load_weights(p)) if name == "m.weights.h5" else \
        rnncore.models.load_model
    with pytest.raises(ValueError, match=rf"dataset '{dataset}' has shape \(2, 2\), the model "
                                         rf"expects \(3, 1\)"):
        load(path)


def test_a_weight_holding_strings_is_refused(files, tmp_path):
    path = tmp_path / "m.weights.h5"
    path.write_bytes((files / "m.weights.h5").read_bytes())
    with h5py.File(path, "a") as f:
        del f["layers/dense/vars/1"]
        f.create_dataset("layers/dense/vars/1", data=np.array([b"x"]))
    with pytest.raises(ValueError, match=r"'layers/dense/vars/1' has dtype .*expected a float"):
        _model().load_weights(path)


def test_a_config_that_is_not_json_is_a_clear_error(files, tmp_path):
    bad = tmp_path / "bad.keras"
    with zipfile.ZipFile(files / "m.keras") as zin, zipfile.ZipFile(bad, "w") as zout:
        for item in zin.infolist():
            zout.writestr(item, b"{not json" if item.filename == "config.json" else
                          zin.read(item))
    with pytest.raises(ValueError, match=r"bad\.keras.*config\.json is not valid JSON"):
        rnncore.models.load_model(bad)


# ---- bounded memory ----------------------------------------------------------------------------
def _peak(load):
    tracemalloc.start()
    try:
        load()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_huge_shapes_declared_by_a_few_bytes_are_refused_before_allocating(files, tmp_path):
    # config and weights file agree on a 4 TB Embedding, which the file stores nothing of
    def config(c):
        entry = next(e for e in c["config"]["layers"] if e["class_name"] == "Embedding")
        entry["config"]["input_dim"] = entry["config"]["output_dim"] = 10 ** 6
        return c

    def weights(data):
        buf = io.BytesIO(data)
        with h5py.File(buf, "a") as f:
            del f["layers/embedding/vars/0"]
            f.create_dataset("layers/embedding/vars/0", shape=(10 ** 6, 10 ** 6), dtype="f4",
                             chunks=(1000, 1000))
        return buf.getvalue()

    bad = _rewrite_keras(files / "m.keras", tmp_path / "bad.keras", config, weights)
    assert bad.stat().st_size < 1 << 20

    def load():
        with pytest.raises(ValueError, match=r"dataset '/layers/embedding/vars/0' declares shape "
                                             r"\(1000000, 1000000\).*the file stores 0 bytes"):
            rnncore.models.load_model(bad)
    assert _peak(load) < 64 << 20


def test_a_legacy_architecture_bigger_than_its_weights_is_refused_before_allocating(files,
                                                                                    tmp_path):
    path = tmp_path / "bad.h5"
    path.write_bytes((files / "m.h5").read_bytes())
    with h5py.File(path, "a") as f:
        config = json.loads(f.attrs["model_config"])
        entry = next(e for e in config["config"]["layers"] if e["class_name"] == "Embedding")
        entry["config"]["input_dim"], entry["config"]["output_dim"] = 10 ** 9, 1000
        f.attrs["model_config"] = json.dumps(config)

    def load():
        with pytest.raises(ValueError, match=r"bad\.h5.*creates weight '.*embeddings' of "
                                             r"1,000,000,000,000 elements"):
            rnncore.models.load_model(path)
    assert _peak(load) < 64 << 20


# ---- atomic writes -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["m.keras", "m.h5", "m.weights.h5"])
def test_a_failed_write_keeps_the_previous_file(tmp_path, monkeypatch, name):
    from rnncore.models import _hdf5

    model = _model()
    path = tmp_path / name
    (model.save_weights if name == "m.weights.h5" else model.save)(path)
    before = path.read_bytes()

    def full(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(_hdf5, "write_array", full)
    with pytest.raises(OSError, match="disk full"):
        (model.save_weights if name == "m.weights.h5" else model.save)(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [name]


@pytest.mark.parametrize("trick", ["external-link", "soft-link", "external-dataset"])
def test_links_and_external_data_are_refused(files, tmp_path, trick):
    # an HDF5 file can point at other files; loading must not read them
    secret = tmp_path / "secret.h5"
    with h5py.File(secret, "w") as f:
        f.create_dataset("k", data=np.full((3, 1), 7.0, "float32"))
    (tmp_path / "raw.bin").write_bytes(np.full((3, 1), 7.0, "float32").tobytes())
    path = tmp_path / "m.weights.h5"
    path.write_bytes((files / "m.weights.h5").read_bytes())
    with h5py.File(path, "a") as f:
        del f["layers/dense/vars/0"]
        if trick == "external-link":
            f["layers/dense/vars/0"] = h5py.ExternalLink(str(secret), "/k")
        elif trick == "soft-link":
            f["layers/dense/vars/0"] = h5py.SoftLink("/layers/embedding/vars/0")
        else:
            f.create_dataset("layers/dense/vars/0", shape=(3, 1), dtype="f4",
                             external=[(str(tmp_path / "raw.bin"), 0, 12)])
    model = _model()
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"(ExternalLink|SoftLink|external or virtual dataset)"
                                         r".*rnncore reads only the file's own"):
        model.load_weights(path)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)  # nothing was set


def test_a_keras_archive_with_two_configs_is_refused(files, tmp_path):
    import warnings

    bad = tmp_path / "bad.keras"
    with zipfile.ZipFile(files / "m.keras") as zin, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns on the duplicate name
        with zipfile.ZipFile(bad, "w") as zout:
            for item in zin.infolist():
                zout.writestr(item, zin.read(item))
            zout.writestr("config.json", b"{}")
    with pytest.raises(ValueError, match=r"bad\.keras.*several members named 'config\.json'"):
        rnncore.models.load_model(bad)


def test_a_config_nested_too_deeply_is_a_clear_error(files, tmp_path):
    def deep(config):
        inner = {"class_name": "Dense", "config": {"name": "d", "units": 1}}
        for _ in range(300):  # deep enough to exhaust the stack of a naive walk
            inner = {"class_name": "TimeDistributed", "config": {"name": "t", "layer": inner}}
        config["config"]["layers"].append(inner)
        return config

    bad = _rewrite_keras(files / "m.keras", tmp_path / "bad.keras", config=deep)
    with pytest.raises(ValueError, match=r"bad\.keras.*(nested too deeply|cannot be rebuilt)"):
        rnncore.models.load_model(bad)
