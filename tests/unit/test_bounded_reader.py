"""One bounded reader for every input: each kind of bad file is a clear FILE[:LINE] error with
exit 2, never a traceback, and a huge or endless input is refused without reading it all."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

CASES: dict[str, tuple[bytes | None, str]] = {
    # name -> (content, or None for a special file; what the message says)
    "bom.yml": (b"\xef\xbb\xbfsite: x\n", ":1: starts with a byte-order mark"),
    "utf16.yml": ("site: x\n".encode("utf-16"), "byte-order mark"),
    "latin1.yml": (b"site: caf\xe9\n", ":1: is not UTF-8 (byte 9"),
    "nul.yml": (b"site: lab\nrelease: \"x\x00\"\n", ":2: holds a control character ('\\x00')"),
    "control.yml": (b"site: lab\x1b[2J\n", ":1: holds a control character"),
    "binary.yml": (bytes(range(256)) * 4, "is not UTF-8 (byte 128"),
    "tag.yml": (b"site: !!python/object/apply:os.system [id]\n", ":1: YAML tag"),
    "complex-key.yml": (b"? [a, b]\n: 1\n", ":1: a list or mapping used as a key"),
    "map-key.yml": (b"site: lab\n{a: 1}: 2\n", ":2: a list or mapping used as a key"),
    "aliases.yml": (b"a: &x [1]\n" + b"".join(b"k%d: *x\n" % i for i in range(40)), "more than 16 YAML aliases"),
    "directory": (None, "is a directory, not a file"),
    "fifo.yml": (None, "is a FIFO, not a file"),
    "loop.yml": (None, "is a symbolic link loop"),
    "missing.yml": (None, "no such file"),
}


def _make(tmp_path: Path, name: str, content: bytes | None) -> Path:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    elif name == "directory":
        path.mkdir()
    elif name == "fifo.yml":
        os.mkfifo(path)
    elif name == "loop.yml":
        path.symlink_to(tmp_path / "loop-b.yml")
        (tmp_path / "loop-b.yml").symlink_to(path)
    return path


def _validate(site: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KICKBAKE_OUTPUT": str(tmp_path / "out"), "KICKBAKE_ROOT": str(ROOT)}
    return subprocess.run([sys.executable, "-c", "from kickbake.cli import main; main()", "validate", "--site", site],
                          env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_bad_input_file_is_a_clear_error(tmp_path: Path, name: str) -> None:
    content, expected = CASES[name]
    path = _make(tmp_path, name, content)
    proc = _validate(str(path), tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and expected in proc.stderr, proc.stderr
    assert str(path) in proc.stderr
    assert not (tmp_path / "out").exists()  # nothing written


def test_a_huge_inventory_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.yml"
    with path.open("wb") as handle:
        handle.truncate(50 << 20)  # 50 MB (sparse)
    start = time.monotonic()
    proc = _validate(str(path), tmp_path)
    assert proc.returncode == 2 and "is larger than 4 MiB" in proc.stderr, proc.stderr
    print(f"\n50 MB inventory refused in {time.monotonic() - start:.1f}s")


def test_an_empty_site_flag_is_an_error_not_every_site(tmp_path: Path) -> None:
    proc = _validate("", tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip() == (
        "error: --site is empty (hint: name an inventory file, or leave --site out for every bundled lab)")
