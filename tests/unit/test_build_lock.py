"""Two builds on one host share DIB's cache; the second waits for the first instead of failing on
apt's archive lock inside its chroot."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from kickbake.build.dib import one_build_at_a_time


def test_a_second_build_waits_for_the_first(tmp_path: Path) -> None:
    events: list[str] = []

    def second() -> None:
        with one_build_at_a_time(tmp_path, events.append):
            events.append("second builds")

    with one_build_at_a_time(tmp_path, events.append):
        events.append("first builds")
        waiter = threading.Thread(target=second)
        waiter.start()
        deadline = time.monotonic() + 10
        while not any(e.startswith("waiting") for e in events) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "second builds" not in events  # still held by the first
        events.append("first done")
    waiter.join(10)
    assert events[0] == "first builds"
    assert events[1].startswith("waiting for another build on this host")
    assert events[2:] == ["first done", "second builds"]
