"""Scratch directories for renders that write nothing (validate, plan): removed on every exit
path, and, since a killed process cannot clean up, those of dead processes are removed by the
next run. Each is named kickbake-<what>-<pid>-<random> in the system's temporary directory."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_NAME = re.compile(r"^kickbake-(?:validate|plan)-(?P<pid>\d+)-")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove_stale(root: Path | None = None) -> list[Path]:
    """Remove the scratch directories whose process is gone; return them."""
    root = root or Path(tempfile.gettempdir())
    removed = []
    for path in sorted(root.glob("kickbake-*-*-*")):
        match = _NAME.match(path.name)
        if match and path.is_dir() and not path.is_symlink() and not _alive(int(match["pid"])):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


@contextmanager
def scratch_dir(what: str) -> Iterator[Path]:
    remove_stale()
    with tempfile.TemporaryDirectory(prefix=f"kickbake-{what}-{os.getpid()}-") as directory:
        yield Path(directory)
