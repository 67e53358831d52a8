"""Synthetic movie reviews in the format of ``keras.datasets.imdb`` (not real data).

A made-up, deterministic stand-in for IMDB that needs no download: use it to
run IMDB programs offline, in tests and in benchmarks. It has IMDB's shapes
and Keras's encoding (``start_char=1``, ``oov_char=2``, ``index_from=3``,
ids roughly ranked by frequency), but no real text. Accuracies on it say nothing about
accuracies on IMDB.

How a review is made:

- Filler words are drawn from a Zipf-Mandelbrot law over 88,584 ranks (IMDB's
  vocabulary size), ``p(rank) ~ 1 / (rank + 3) ** 1.2``.
- Review lengths are log-normal (median 170 words, long tail, clipped to
  10..2,499 words; 2,500 with the start mark), like IMDB's.
- Labels are balanced, 0 (negative) or 1 (positive).
- About 3.5% of positions, anywhere in the review, hold a sentiment word (16
  positive and 16 negative words, all among the 500 most frequent ids). Each
  one states the review's label, or with probability 0.2 the opposite.
- A quarter of them are negated: a negation word ("not", "no", "never") comes
  just before, and the sentiment word shown has the opposite polarity ("not
  good" states a negative opinion). Filler negations that happen to precede a
  sentiment word negate it too.

So the label is spread over the whole review: a model must gather evidence
across time steps, and the last few tokens alone say little. On the last 100
tokens (the IMDB tutorials' ``pad_sequences(maxlen=100)``) counting sentiment
words, negations flipped, is right about 85% of the time, near the ceiling;
Keras's Embedding(500, 32) -> LSTM(8) -> Dense(1) with Adam reached 0.84
validation accuracy after 5 epochs (``num_words=500``, 25,000 reviews).
"""
import numpy as np

from .imdb import _encode

__all__ = ["load_data", "get_word_index"]

VOCAB_SIZE = 88584
_ZIPF_EXPONENT = 1.2
_ZIPF_SHIFT = 3.0
_LENGTH_MEDIAN = 170
_LENGTH_SIGMA = 0.7
_MIN_LENGTH, _MAX_LENGTH = 10, 2499
_MENTION_RATE = 0.035
_NOISE = 0.2
_NEGATION_RATE = 0.25

# The most frequent ranks get common English words, so decoded reviews read
# a little like IMDB's; rank k is _COMMON[k - 1].
_COMMON = (
    "the and a of to is br in it i this that was as for with movie but film on "
    "not you are his have he be one all at by an they who so from like her or "
    "just no about out has if some there what more when very up"
).split()
_NEGATIONS = ("not", "no", "never")
_POSITIVE = (
    "good great best love excellent wonderful perfect beautiful amazing "
    "brilliant enjoyed favorite fun loved superb masterpiece").split()
_NEGATIVE = (
    "bad worst awful boring terrible waste horrible poor stupid dull "
    "disappointing mess lame annoying pointless worse").split()


def _assign_ranks():
    words = {w: k for k, w in enumerate(_COMMON, start=1)}
    words["never"] = len(_COMMON) + 1
    # Positive and negative words alternate over ranks 60..490, so neither
    # polarity is more frequent by rank and all survive num_words=500.
    ranks = np.linspace(60, 490, len(_POSITIVE) + len(_NEGATIVE)).round()
    interleaved = [w for pair in zip(_POSITIVE, _NEGATIVE) for w in pair]
    for rank, word in zip(ranks.astype(int).tolist(), interleaved):
        words[word] = rank
    return words


_RANKS = _assign_ranks()
_POS_RANKS = np.array([_RANKS[w] for w in _POSITIVE])
_NEG_RANKS = np.array([_RANKS[w] for w in _NEGATIVE])
_NEG_WORD_RANKS = np.array([_RANKS[w] for w in _NEGATIONS])
# Filler never produces a sentiment word (it would be noise unrelated to the
# label): those ranks map to the next rank, which is never a sentiment word.
_FILLER_RANK = np.arange(VOCAB_SIZE + 1)
_FILLER_RANK[_POS_RANKS] += 1
_FILLER_RANK[_NEG_RANKS] += 1


def _zipf_ranks(u):
    """Inverse CDF of the continuous Zipf-Mandelbrot law on [1, VOCAB_SIZE]."""
    a, q = _ZIPF_EXPONENT, _ZIPF_SHIFT
    lo, hi = (1 + q) ** (1 - a), (VOCAB_SIZE + 1 + q) ** (1 - a)
    ranks = np.floor((lo + u * (hi - lo)) ** (1 / (1 - a)) - q).astype(np.int64)
    return np.clip(ranks, 1, VOCAB_SIZE)


def _generate(n, rng):
    """(tokens, lengths, labels): n reviews as raw word ranks, end to end."""
    lengths = rng.lognormal(np.log(_LENGTH_MEDIAN), _LENGTH_SIGMA, size=n)
    lengths = np.clip(np.rint(lengths), _MIN_LENGTH, _MAX_LENGTH).astype(np.int64)
    labels = rng.permutation(np.arange(n) % 2).astype(np.int64)
    total = int(lengths.sum())
    tokens = _FILLER_RANK[_zipf_ranks(rng.random(total, dtype=np.float32))]

    starts = np.cumsum(lengths) - lengths
    slot = np.flatnonzero(rng.random(total, dtype=np.float32) < _MENTION_RATE)
    review = np.searchsorted(starts, slot, side="right") - 1
    first = slot == starts[review]
    is_slot = np.zeros(total + 1, dtype=bool)
    is_slot[slot] = True
    # A negation goes in front of a slot, inside the same review, but never
    # over another slot.
    negate = (rng.random(slot.size) < _NEGATION_RATE) & ~first & ~is_slot[slot - 1]
    before = slot[negate] - 1
    tokens[before] = _NEG_WORD_RANKS[rng.integers(len(_NEGATIONS), size=before.size)]

    # A negation just before a slot (placed or filler) flips the word shown.
    negated = ~first & np.isin(tokens[slot - 1], _NEG_WORD_RANKS)
    stated = labels[review].astype(bool) ^ (rng.random(slot.size) < _NOISE)
    shown_positive = stated ^ negated
    pick = rng.integers(len(_POSITIVE), size=slot.size)
    tokens[slot] = np.where(shown_positive, _POS_RANKS[pick], _NEG_RANKS[pick])
    return tokens, lengths, labels


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}. "
                         f"Received: {name}={value!r}")


def load_data(num_words=10000, num_train=25000, num_test=25000, maxlen=None,
              seed=0, skip_top=0, start_char=1, oov_char=2, index_from=3):
    """Generate the synthetic reviews, encoded like ``imdb.load_data``.

    Parameters
    ----------
    num_words : int or None, default 10000
        Keep the ids below ``num_words``; others become ``oov_char``. ``None``
        keeps the whole vocabulary (Keras's rule: all but the largest id).
    num_train, num_test : int, default 25000
        Number of reviews in each split, before ``maxlen`` filtering. The
        training reviews do not depend on ``num_test``, nor the test reviews
        on ``num_train``.
    maxlen : int, optional
        Drop reviews whose length (start mark included) is ``>= maxlen``, as
        Keras's IMDB loader does.
    seed : int, default 0
        The same seed always gives the same data.
    skip_top, start_char, oov_char, index_from
        As in `rnncore.datasets.imdb.load_data`.

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        ``x_*``: 1-D object arrays of Python ``int`` lists, shape
        ``(num_train,)`` and ``(num_test,)``; ``y_*``: int64 labels, 0 or 1.

    Examples
    --------
    >>> (x_train, y_train), (x_test, y_test) = load_data(num_train=100, num_test=50)
    >>> x_train.shape, y_test.shape, x_train[0][0]
    ((100,), (50,), 1)
    """
    _check_int("num_train", num_train, 1)
    _check_int("num_test", num_test, 1)
    for name, value in (("num_words", num_words), ("maxlen", maxlen)):
        if value is not None:
            _check_int(name, value, 0)
    _check_int("skip_top", skip_top, 0)
    _check_int("index_from", index_from, 0)
    train_rng, test_rng = (np.random.default_rng(s)
                           for s in np.random.SeedSequence(seed).spawn(2))
    return _encode(_generate(num_train, train_rng), _generate(num_test, test_rng),
                   start_char=start_char, oov_char=oov_char,
                   index_from=index_from, num_words=num_words,
                   skip_top=skip_top, maxlen=maxlen)


def _pseudo_words():
    """Pronounceable made-up words, distinct from the real ones used here."""
    syllables = [c + v for c in "bdfghklmnprstvz" for v in "aeiou"]
    base = len(syllables)
    j = base  # start at two syllables
    while True:
        parts, k = [], j
        while k:
            k, d = divmod(k, base)
            parts.append(syllables[d])
        yield "".join(reversed(parts))
        j += 1


def get_word_index():
    """Map each synthetic word to its rank, like ``imdb.get_word_index``.

    Returns
    -------
    dict
        ``{word: rank}`` for ranks 1..88,584; the word's id in `load_data` is
        ``rank + index_from``. The sentiment and negation words are real
        English words; most others are made up.
    """
    taken = dict(_RANKS)
    words = {rank: w for w, rank in taken.items()}
    fresh = (w for w in _pseudo_words() if w not in taken)
    for rank in range(1, VOCAB_SIZE + 1):
        if rank not in words:
            words[rank] = next(fresh)
    return {w: rank for rank, w in words.items()}
