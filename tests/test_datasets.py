"""Data sets: Keras's IMDB loader offline, the synthetic reviews, the digits."""
import doctest
import json
import os
import sys

import numpy as np
import pytest

from rnncore.datasets import digits, imdb, synthetic_reviews
from rnncore.preprocessing.sequence import pad_sequences

URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


# --------------------------------------------------------------------------
# imdb
# --------------------------------------------------------------------------
def ragged(rng, n, min_len):
    """n reviews of raw word ranks (1..40) in Keras's file format."""
    reviews = np.empty(n, dtype=object)
    for i in range(n):
        reviews[i] = rng.integers(1, 41, size=int(rng.integers(min_len, 15))).tolist()
    return reviews


def write_imdb(path, n_train=40, n_test=30, min_len=0, **extra):
    rng = np.random.default_rng(0)
    arrays = {"x_train": ragged(rng, n_train, min_len),
              "y_train": rng.integers(0, 2, n_train),
              "x_test": ragged(rng, n_test, min_len),
              "y_test": rng.integers(0, 2, n_test)}
    arrays.update(extra)
    np.savez(path, **arrays)
    return path


@pytest.fixture
def imdb_file(tmp_path, request):
    # Keras fails on empty reviews without a start mark, so those cases get
    # none (param min_len=1).
    return write_imdb(tmp_path / "imdb.npz", min_len=getattr(request, "param", 0))


@pytest.fixture
def keras_imdb(imdb_file, monkeypatch):
    """Keras's own loader, pointed at the test file (no download)."""
    pytest.importorskip("keras")
    from keras.src.datasets import imdb as kimdb

    monkeypatch.setattr(kimdb, "get_file", lambda *a, **k: str(imdb_file))
    return kimdb.load_data


IMDB_ARGS = {
    "defaults": ({}, 0),
    "num_words": ({"num_words": 20}, 0),
    "skip_top": ({"skip_top": 8, "num_words": 30}, 0),
    "maxlen": ({"maxlen": 9}, 0),
    "seed": ({"seed": 7}, 0),
    "no_start": ({"start_char": None}, 1),
    "drop_oov": ({"oov_char": None, "num_words": 25, "skip_top": 5}, 0),
    "no_offset": ({"start_char": None, "index_from": 0}, 1),
    "custom_marks": ({"start_char": 5, "oov_char": 0, "index_from": 10, "num_words": 35}, 0),
}


@pytest.mark.parametrize("kwargs,imdb_file", IMDB_ARGS.values(), ids=IMDB_ARGS.keys(),
                         indirect=["imdb_file"])
def test_imdb_matches_keras(keras_imdb, imdb_file, kwargs):
    (ex_tr, ey_tr), (ex_te, ey_te) = keras_imdb(**kwargs)
    (x_tr, y_tr), (x_te, y_te) = imdb.load_data(path=imdb_file, **kwargs)
    for got, expected in ((x_tr, ex_tr), (x_te, ex_te)):
        assert got.dtype == object and got.shape == expected.shape
        assert got.tolist() == expected.tolist()
        assert all(type(w) is int for review in got for w in review)
    for got, expected in ((y_tr, ey_tr), (y_te, ey_te)):
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


def test_imdb_reads_keras_cache_under_keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    os.mkdir(tmp_path / "datasets")
    write_imdb(tmp_path / "datasets" / "imdb.npz", n_train=5, n_test=4)
    (x_train, y_train), (x_test, _) = imdb.load_data()
    assert x_train.shape == y_train.shape == (5,) and x_test.shape == (4,)


def test_imdb_equal_lengths_still_give_lists(tmp_path):
    reviews = np.empty(3, dtype=object)
    for i in range(3):
        reviews[i] = [i + 1, i + 2]
    path = write_imdb(tmp_path / "imdb.npz", x_train=reviews,
                      y_train=np.zeros(3, np.int64))
    (x_train, _), _ = imdb.load_data(path=path)
    assert x_train.shape == (3,) and all(len(r) == 3 for r in x_train)


@pytest.mark.parametrize("name,call", [
    ("imdb.npz", lambda: imdb.load_data()),
    ("imdb_word_index.json", lambda: imdb.get_word_index()),
])
def test_missing_file_says_where_to_put_it(tmp_path, monkeypatch, name, call):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        call()
    message = str(info.value)
    assert os.path.join(str(tmp_path), "datasets", name) in message
    assert URL + name in message


def test_missing_explicit_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="never downloads"):
        imdb.load_data(path=tmp_path / "nowhere" / "imdb.npz")


def test_refuses_file_with_other_arrays(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, x_train=np.zeros(2), y_train=np.zeros(2), images=np.zeros(2))
    with pytest.raises(ValueError, match=r"expected the arrays.*found \['images'"):
        imdb.load_data(path=path)


class _Payload:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_refuses_pickled_code(tmp_path):
    marker = tmp_path / "pwned"
    evil = np.empty(1, dtype=object)
    evil[0] = _Payload(marker)
    path = write_imdb(tmp_path / "imdb.npz", x_train=evil, y_train=np.zeros(1, int))
    with pytest.raises(ValueError, match=r"refusing to load \S*open"):
        imdb.load_data(path=path)
    assert not marker.exists()


@pytest.mark.parametrize("kwargs,match", [
    ({"maxlen": 1}, r"maxlen=1"),
    ({"num_words": -5}, r"`num_words`.*-5"),
    ({"skip_top": 1.5}, r"`skip_top`.*1\.5"),
])
def test_imdb_bad_arguments(imdb_file, kwargs, match):
    with pytest.raises(ValueError, match=match):
        imdb.load_data(path=imdb_file, **kwargs)


def test_get_word_index_reads_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    os.mkdir(tmp_path / "datasets")
    (tmp_path / "datasets" / "imdb_word_index.json").write_text(
        json.dumps({"the": 1, "film": 19}))
    assert imdb.get_word_index() == {"the": 1, "film": 19}


# --------------------------------------------------------------------------
# synthetic_reviews
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reviews():
    return synthetic_reviews.load_data(num_train=4000, num_test=1000, seed=3)


def test_synthetic_has_keras_imdb_format(reviews):
    (x_train, y_train), (x_test, y_test) = reviews
    assert x_train.shape == y_train.shape == (4000,)
    assert x_test.shape == y_test.shape == (1000,)
    assert x_train.dtype == object and y_train.dtype == np.int64
    assert type(x_train[0]) is list and type(x_train[0][1]) is int
    assert all(r[0] == 1 for r in x_train)  # start_char
    flat = np.concatenate([np.array(r) for r in x_train])
    assert flat.min() == 1 and flat.max() < 10000 and (flat == 2).any()
    assert y_train.sum() == 2000 and y_test.sum() == 500  # balanced


def test_synthetic_is_deterministic():
    def load(**kwargs):
        (x, y), (xt, yt) = synthetic_reviews.load_data(num_train=50, **kwargs)
        return x.tolist(), y.tolist(), xt.tolist()

    same = load(num_test=20)
    assert load(num_test=20) == same
    assert load(num_test=20, seed=1) != same
    # The training reviews do not depend on the size of the test split.
    assert load(num_test=30)[:2] == same[:2]


@pytest.mark.parametrize("num_words", [None, 500])
def test_synthetic_num_words(num_words):
    (x, _), _ = synthetic_reviews.load_data(num_words=num_words, num_train=200, num_test=10)
    top = max(max(r) for r in x)
    limit = synthetic_reviews.VOCAB_SIZE + 3 if num_words is None else num_words
    assert top < limit


@pytest.mark.parametrize("kwargs", [{"maxlen": 120}, {"oov_char": None, "num_words": 100},
                                    {"start_char": None, "index_from": 0}])
def test_synthetic_follows_imdb_encoding_rules(kwargs):
    # num_words large enough to keep every word unless the case sets it.
    kwargs = dict(kwargs)
    num_words = kwargs.pop("num_words", 10**6)
    (x, _), _ = synthetic_reviews.load_data(num_train=300, num_test=10,
                                            num_words=num_words, **kwargs)
    (full, _), _ = synthetic_reviews.load_data(num_train=300, num_test=10,
                                               num_words=num_words)
    if "maxlen" in kwargs:
        kept = [r for r in full if len(r) < 120]
        assert x.tolist() == kept
    elif "oov_char" in kwargs:
        assert x.tolist() == [[w for w in r if w != 2] for r in full]
    else:
        assert x.tolist() == [[w - 3 for w in r[1:]] for r in full]


def test_synthetic_lengths_are_imdb_like():
    (x, _), _ = synthetic_reviews.load_data(num_train=10000, num_test=1)
    lengths = np.array([len(r) for r in x])
    assert 150 <= np.median(lengths) <= 190
    assert lengths.min() >= 10 and 1500 <= lengths.max() <= 2500


def lexicon_scorer():
    """Positive minus negative words per row, a negation flipping the next word."""
    index = synthetic_reviews.get_word_index()

    def ids(words):
        return [index[w] + 3 for w in words]

    polarity = np.zeros(synthetic_reviews.VOCAB_SIZE + 4)
    polarity[ids(synthetic_reviews._POSITIVE)] = 1
    polarity[ids(synthetic_reviews._NEGATIVE)] = -1
    negations = ids(synthetic_reviews._NEGATIONS)

    def score(padded):
        sign = np.ones(padded.shape)
        sign[:, 1:][np.isin(padded[:, :-1], negations)] = -1
        return (polarity[padded] * sign).sum(axis=1)

    return score


def test_synthetic_label_is_spread_over_the_review(reviews):
    (x, y), _ = reviews
    score = lexicon_scorer()

    def accuracy(maxlen, truncating="pre"):
        s = score(pad_sequences(x, maxlen=maxlen, truncating=truncating))
        return np.mean(np.where(s == 0, 0.5, (s > 0) == y))

    # The last 100 tokens (the seeds' setup) carry the label; the last few do
    # not; the beginning carries it as well as the end.
    assert accuracy(100) > 0.8
    assert accuracy(5) < 0.6
    assert abs(accuracy(100, "post") - accuracy(100)) < 0.03


def test_synthetic_word_index_decodes():
    index = synthetic_reviews.get_word_index()
    assert len(index) == synthetic_reviews.VOCAB_SIZE
    assert sorted(index.values()) == list(range(1, synthetic_reviews.VOCAB_SIZE + 1))
    assert index["the"] == 1 and "good" in index and "not" in index


@pytest.mark.parametrize("kwargs,match", [
    ({"num_train": 0}, r"`num_train`.*0"),
    ({"num_words": -1}, r"`num_words`.*-1"),
    ({"maxlen": 2.0}, r"`maxlen`.*2\.0"),
])
def test_synthetic_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        synthetic_reviews.load_data(**kwargs)


@pytest.mark.parametrize("module", [imdb, synthetic_reviews, digits],
                         ids=lambda m: m.__name__)
def test_docstring_examples(module):
    assert doctest.testmod(module).failed == 0


# --------------------------------------------------------------------------
# digits
# --------------------------------------------------------------------------
def test_digits_are_row_sequences():
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    assert x_train.shape == (1437, 8, 8) and x_test.shape == (360, 8, 8)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert x_train.min() == 0 and x_train.max() == 1
    assert set(np.unique(np.concatenate([y_train, y_test]))) == set(range(10))
    from sklearn.datasets import load_digits

    # Every image is scikit-learn's, once, scaled by 1/16.
    ours = np.concatenate([x_train, x_test]).reshape(-1, 64) * 16
    theirs = load_digits().data
    np.testing.assert_array_equal(np.unique(ours, axis=0), np.unique(theirs, axis=0))
    assert len(ours) == len(theirs)


@pytest.mark.parametrize("test_split", [0.0, 0.5, 0.9])
def test_digits_split_sizes(test_split):
    (x_train, _), (x_test, _) = digits.load_data(test_split=test_split)
    assert len(x_train) == int(1797 * (1 - test_split))
    assert len(x_train) + len(x_test) == 1797


def test_digits_split_is_seeded():
    (a, _), _ = digits.load_data(seed=1)
    (b, _), _ = digits.load_data(seed=1)
    (c, _), _ = digits.load_data(seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("test_split", [1.0, -0.1, "0.2"])
def test_digits_bad_split(test_split):
    with pytest.raises(ValueError, match=f"`test_split`.*{test_split!r}"):
        digits.load_data(test_split=test_split)


def test_digits_without_sklearn_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        digits.load_data()
