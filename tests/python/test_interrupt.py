"""Ctrl-C stops every blocking call within 100 ms with KeyboardInterrupt, and the table stays
usable (issue 11): sample() and insert() waiting on the rate limiter (the C++ waits without a
deadline: src/util/mutex_test.cc; Prefetcher.next: test_torch.py)."""

import os
import signal
import threading
import time

import numpy as np
import pytest

import strata


def interrupt_after(seconds):
    """Sends SIGINT to this process after `seconds`; returns the time it was sent (a list)."""
    sent = []

    def fire():
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(seconds, fire)
    timer.start()
    return timer, sent


# The waits poll every 50 ms (strata/interrupt.h), so the KeyboardInterrupt comes within ~60 ms
# on a quiet machine; the bound leaves room for a loaded CI machine (2 cores, tests in parallel).
LATE = 0.5


def expect_ctrl_c(call):
    """Runs `call` (which blocks until a signal ends it) and returns how long after the SIGINT
    the KeyboardInterrupt came."""
    timer, sent = interrupt_after(0.2)
    try:
        with pytest.raises(KeyboardInterrupt):
            call()
        return time.monotonic() - sent[0]
    finally:
        timer.cancel()
        timer.join()


def test_ctrl_c_stops_a_sample_waiting_on_the_rate_limiter():
    t = strata.Table("t", {"x": np.int64}, capacity=10, rate_limiter=strata.MinSize(5))
    t.insert({"x": np.arange(2)})
    # A long timeout, so that a regression fails (late) instead of hanging the suite.
    assert expect_ctrl_c(lambda: t.sample(1, timeout=5)) < LATE
    # Nothing was sampled, and the table goes on.
    assert t.stats().sampled == 0
    t.insert({"x": np.arange(3)})
    assert len(t.sample(4)) == 4
    assert t.stats().rate_limiter.samples == 4


def test_ctrl_c_stops_an_insert_waiting_on_the_rate_limiter():
    # A queue of 3: the fourth insert waits for a sample that never comes.
    t = strata.Table("q", {"x": np.int64}, capacity=10, sampler=strata.Fifo(),
                     remover=strata.Fifo(), rate_limiter=strata.Queue(3), max_times_sampled=1)
    assert expect_ctrl_c(lambda: t.insert({"x": np.arange(5)}, timeout=5)) < LATE
    # The items admitted before the wait are in the table; the rest are not.
    assert len(t) == 3
    assert t.sample(3)["x"].tolist() == [0, 1, 2]
    t.insert({"x": np.array([7])}, timeout=1)
    assert t.sample(1)["x"].tolist() == [7]
