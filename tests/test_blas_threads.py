"""rnncore holds the bundled OpenBLAS libraries at one thread while it computes, and gives
back the user's setting afterwards, also when calls nest or overlap in several threads."""
import threading

import pytest

from rnncore.recurrent import _blas_threads as B


def _threads():
    return [getter() for _, getter in B._controls()]


@pytest.fixture
def two_threads():
    if not B._controls():
        pytest.skip("no bundled OpenBLAS found to control")
    before = _threads()
    for setter, _ in B._controls():
        setter(2)
    yield
    for (setter, _), n in zip(B._controls(), before):
        setter(n)


def test_a_call_runs_at_one_thread_and_restores_the_setting(two_threads):
    seen = B.single_threaded_blas(_threads)()
    assert seen == [1] * len(seen)
    assert _threads() == [2] * len(seen)


def test_nested_calls_restore_only_when_the_outermost_ends(two_threads):
    inner = B.single_threaded_blas(_threads)

    @B.single_threaded_blas
    def outer():
        first = inner()
        return first, _threads()

    first, after_inner = outer()
    assert set(first) == set(after_inner) == {1}
    assert set(_threads()) == {2}


def test_calls_overlapping_in_two_threads_give_back_the_users_setting(two_threads):
    # thread a enters, thread b enters, a leaves, b leaves: with a save and restore per call
    # b restored the 1 it had found, and the libraries stayed single-threaded for good
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    @B.single_threaded_blas
    def a():
        a_in.set()
        b_in.wait(10)
        seen["a"] = _threads()

    @B.single_threaded_blas
    def b():
        a_in.wait(10)
        b_in.set()
        a_out.wait(10)
        seen["b"] = _threads()

    ta = threading.Thread(target=lambda: (a(), a_out.set()))
    tb = threading.Thread(target=b)
    ta.start()
    tb.start()
    ta.join(20)
    tb.join(20)
    assert set(seen["a"]) == set(seen["b"]) == {1}  # b still held after a left
    assert set(_threads()) == {2}


def test_an_exception_still_restores_the_setting(two_threads):
    @B.single_threaded_blas
    def fails():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fails()
    assert set(_threads()) == {2}
