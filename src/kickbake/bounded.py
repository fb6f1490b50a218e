"""One bounded reader for every file a person hands kickbake: site inventories, repos and release
data, locks, manifests for `./kb diff`, package lists for `./kb record`.

Only regular files (a FIFO would block, a directory or device is a mistake), at most `limit`
bytes (read with that bound: a huge file is refused without being read), valid UTF-8 (the byte
offset of the first bad byte is named), no byte-order mark, no NUL or other control characters
but tab and newline. Every refusal is a BadInput (exit 2) naming the file and, where it has one,
the line."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from kickbake.errors import BadInput, Problem

MIB = 1 << 20
INVENTORY_LIMIT = 4 * MIB  # a 1,000-node site is ~0.5 MB
DATA_LIMIT = 64 * MIB  # locks, manifests, package lists of large images
_ALLOWED_CONTROL = {"\t", "\n", "\r"}
_KINDS = {stat.S_IFDIR: "a directory", stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket"}


def _refuse(name: str, message: str, hint: str, line: int = 0) -> BadInput:
    return BadInput(Problem(name, line, "", message, hint))


def read_bytes_bounded(path: Path, limit: int = DATA_LIMIT, name: str | None = None) -> bytes:
    name = name or str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise _refuse(name, "no such file", "check the path") from None
    except PermissionError:
        raise _refuse(name, "cannot be read (permission denied)", "run as a user that can read it") from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise _refuse(name, "is a symbolic link loop", "point the link at a file") from None
        raise _refuse(name, f"cannot be opened: {error.strerror}", "check the path") from None
    try:
        kind = stat.S_IFMT(os.fstat(fd).st_mode)
        if kind != stat.S_IFREG:
            raise _refuse(name, f"is {_KINDS.get(kind, 'not a regular file')}, not a file", "give the path of a file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
    except IsADirectoryError:
        raise _refuse(name, "is a directory, not a file", "give the path of a file") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise _refuse(name, f"is larger than {limit // MIB} MiB", "split it, or check that it is the right file")
    return data


def read_text_bounded(path: Path, limit: int = DATA_LIMIT, name: str | None = None) -> str:
    """The file's text, checked as the module says."""
    name = name or str(path)
    data = read_bytes_bounded(path, limit, name)
    if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        raise _refuse(name, "starts with a byte-order mark", "save it as UTF-8 without a BOM", 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise _refuse(name, f"is not UTF-8 (byte {error.start}: {data[error.start:error.start + 1]!r})",
                      "save it as UTF-8", line) from None
    bad = next((i for i, c in enumerate(text) if (c < " " or c == "\x7f") and c not in _ALLOWED_CONTROL), None)
    if bad is not None:
        line = text.count("\n", 0, bad) + 1
        raise _refuse(name, f"holds a control character ({text[bad]!r})", "remove it: inputs are plain text", line)
    return text
