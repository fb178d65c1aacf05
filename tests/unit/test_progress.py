"""Progress where there is no terminal: timed lines at each quarter and at least every LINE_SECONDS, never silence."""

import io
import logging
import time

import pytest

from cx_worker.ops import progress


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: now[0])
    return now


def _lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "cx_worker.progress"]


def test_without_a_terminal_each_quarter_gives_a_line_with_the_time_left(caplog, clock):
    caplog.set_level(logging.INFO, logger="cx_worker")
    with progress.progress_bar(8, enabled=False) as tick:
        for _ in range(8):
            clock[0] += 10
            tick()
    lines = _lines(caplog)
    assert lines[0] == "after-call work: 8 contacts"
    assert lines[1:] == ["after-call work 2/8 (25%), 20s elapsed, about 1m00s left",
                         "after-call work 4/8 (50%), 40s elapsed, about 40s left",
                         "after-call work 6/8 (75%), 1m00s elapsed, about 20s left",
                         "after-call work 8/8 (100%), 1m20s elapsed"]


def test_a_slow_contact_still_gets_a_line_every_line_seconds(caplog, clock):
    caplog.set_level(logging.INFO, logger="cx_worker")
    with progress.progress_bar(100, enabled=False) as tick:
        for _ in range(3):
            clock[0] += progress.LINE_SECONDS + 1
            tick()
    assert len(_lines(caplog)) == 1 + 3


def test_show_progress_puts_the_lines_on_the_given_stream_once_and_leaves_the_logger_as_it_was():
    stream = io.StringIO()
    logger = logging.getLogger("cx_worker")
    before = logger.handlers[:], logger.propagate
    with progress.show_progress(stream):
        progress.stage("starting the embedded LLM (%s) ...", "qwen")
        shown_twice = logger.propagate  # the root logger (Prefect's console handler) would repeat it
    assert stream.getvalue() == "cx-worker: starting the embedded LLM (qwen) ...\n"
    assert not shown_twice
    assert (logger.handlers, logger.propagate) == before


def test_a_chunk_still_drafting_gets_a_line_every_line_seconds_with_no_contact_done(caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger="cx_worker")
    monkeypatch.setattr(progress, "LINE_SECONDS", 0.1)
    with progress.progress_bar(3, enabled=False):
        time.sleep(0.45)  # no contact finishes: the chunk is still with the LLM
    waiting = [line for line in _lines(caplog) if line.startswith("after-call work 0/3 (0%)")]
    assert len(waiting) >= 2 and waiting[0].endswith("the first contacts still drafting")
