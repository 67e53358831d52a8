"""text_dataset_from_directory: the same folder and seed give Keras's batches (texts, labels,
order, splits, class names), and rnncore's fit trains on the dataset."""
import numpy as np
import pytest

import rnncore

_WORDS = ["good", "bad", "great", "awful", "fine", "dull", "bright", "grim"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Two classes of short generated reviews, one of them with a nested folder."""
    root = tmp_path_factory.mktemp("texts")
    rng = np.random.default_rng(0)
    for label, name in enumerate(("neg", "pos")):
        for i in range(9):
            sub = root / name / ("deep" if i % 4 == 3 else "")
            sub.mkdir(parents=True, exist_ok=True)
            words = rng.choice(_WORDS[label::2], size=rng.integers(3, 8))
            (sub / f"{i}.txt").write_text(" ".join(words))
    (root / "pos" / "notes.md").write_text("not a sample")
    return str(root)


def _batches(ds):
    return [tuple(np.asarray(t).tolist() for t in batch) if isinstance(batch, tuple)
            else np.asarray(batch).tolist() for batch in ds.as_numpy_iterator()]


@pytest.mark.parametrize("kwargs", [
    {"shuffle": False},
    {"seed": 3, "batch_size": 4},
    {"seed": 3, "batch_size": 5, "label_mode": "categorical", "max_length": 6},
    {"seed": 7, "label_mode": "binary", "validation_split": 0.3, "subset": "validation"},
    {"seed": 7, "label_mode": None, "batch_size": None},
    {"seed": 1, "class_names": ["pos", "neg"]},
])
def test_text_dataset_gives_keras_batches(keras, tf, folder, kwargs, capsys):
    k = keras.utils.text_dataset_from_directory(folder, **kwargs)
    k_out = capsys.readouterr().out
    r = rnncore.utils.text_dataset_from_directory(folder, **kwargs)
    assert capsys.readouterr().out == k_out
    assert r.class_names == k.class_names
    assert _batches(r) == _batches(k)


def test_text_dataset_subset_both_as_keras(keras, tf, folder):
    kwargs = {"seed": 5, "batch_size": 4, "validation_split": 0.25, "subset": "both",
              "verbose": False}
    for r, k in zip(rnncore.utils.text_dataset_from_directory(folder, **kwargs),
                    keras.utils.text_dataset_from_directory(folder, **kwargs)):
        assert _batches(r) == _batches(k)


@pytest.mark.parametrize("kwargs", [
    {"labels": "folders"}, {"label_mode": "sparse"}, {"validation_split": 0.2},
    {"validation_split": 0.2, "subset": "training"}, {"format": "torch"},
    {"label_mode": "binary", "class_names": ["neg", "pos", "x"]}, {"labels": [0, 1]},
])
def test_text_dataset_refuses_as_keras(keras, tf, folder, kwargs):
    errors = []
    for lib in (keras, rnncore):
        with pytest.raises(ValueError) as info:
            lib.utils.text_dataset_from_directory(folder, verbose=False, **kwargs)
        errors.append(str(info.value))
    assert errors[1] == errors[0]


def test_fit_trains_on_a_text_dataset(tf, folder):
    train = rnncore.utils.text_dataset_from_directory(folder, batch_size=6, seed=2,
                                                      label_mode="binary", verbose=False)
    vectorize = rnncore.layers.TextVectorization(max_tokens=20, output_sequence_length=8)
    vectorize.adapt(train.map(lambda text, label: text))
    model = rnncore.Sequential([rnncore.Input((), dtype="string"), vectorize,
                                rnncore.layers.Embedding(20, 4), rnncore.layers.GRU(4),
                                rnncore.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=rnncore.optimizers.Adam(0.05), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(train, epochs=8, verbose=0, shuffle=False)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.8


@pytest.mark.parametrize("call", [
    lambda: rnncore.utils.text_dataset_from_directory("."),
    lambda: rnncore.utils.split_dataset(np.zeros((4, 2)), left_size=2),
])
def test_dataset_helpers_say_they_need_tensorflow(monkeypatch, call):
    import sys

    monkeypatch.setitem(sys.modules, "tensorflow", None)  # import tensorflow fails
    with pytest.raises(ImportError, match="needs TensorFlow: pip install tensorflow-cpu"):
        call()
