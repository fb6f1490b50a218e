"""Run disk-image-create for one BuildSpec and put its outputs in place atomically.

DIB writes into a temporary directory inside output/<site>/images/; each finished file is then
renamed into place (same directory tree, so the rename is atomic): a failed build leaves the
previous image untouched."""

from __future__ import annotations

import fcntl
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kickbake.build.spec import BuildSpec
from kickbake.errors import ToolFailed
from kickbake.run import stream

_PHASE = re.compile(
    r"Running hooks from \S*/(?P<outside>[a-z-]+)\.d$|Running /tmp/in_target\.d/(?P<inside>[a-z-]+)\.d/"
)
_CONVERT = re.compile(r"Converting image using qemu-img convert|Image file \S+ created")


class PhaseTracker:
    """Turns DIB's output into one progress line per build phase (root, extra-data, pre-install,
    install, post-install, block-device, finalise, cleanup, convert)."""

    def __init__(self, note: Callable[[str], None]) -> None:
        self.note = note
        self.phase = ""
        self.started = time.monotonic()
        self.phases: list[str] = []

    def __call__(self, line: str) -> None:
        match = _PHASE.search(line)
        phase = (match["outside"] or match["inside"]) if match else ("convert" if _CONVERT.search(line) else "")
        if phase and phase != self.phase:
            self.phase = phase
            self.phases.append(phase)
            self.note(f"[{time.monotonic() - self.started:6.1f}s] {phase}")


def produced_files(work: Path, name: str) -> list[Path]:
    """DIB's outputs: <name>.<type>, checksums, kernel/initrd (baremetal) and <name>.d/ manifests."""
    return sorted(p for p in work.iterdir() if p.name.startswith(f"{name}.") or p.name == f"{name}.d")


@contextmanager
def one_build_at_a_time(cache_dir: Path, note: Callable[[str], None]) -> Iterator[None]:
    """Builds on one host share DIB's cache (debootstrap tarball, the apt archive it bind-mounts
    into every chroot): a second build would fail on apt's lock ("Could not get lock
    /var/cache/apt/archives/lock"), so it waits for the first instead."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / "kickbake-build.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            note(f"waiting for another build on this host (it holds {cache_dir / 'kickbake-build.lock'})")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_dib(spec: BuildSpec, images_dir: Path, log_path: Path, note: Callable[[str], None],
            timeout: float = 3600) -> list[Path]:
    """Build into images/.<image>.tmp/, then rename every output into images/. Returns them."""
    if shutil.which("disk-image-create", path=spec.env.get("PATH")) is None:
        raise ToolFailed("disk-image-create: not found", hint="pip install diskimage-builder (./kb sets it up)")
    with one_build_at_a_time(Path(spec.env["DIB_IMAGE_CACHE"]), note):
        return _run_dib(spec, images_dir, log_path, note, timeout)


def _run_dib(spec: BuildSpec, images_dir: Path, log_path: Path, note: Callable[[str], None],
             timeout: float) -> list[Path]:
    images_dir.mkdir(parents=True, exist_ok=True)
    work = images_dir / f".{spec.image.name}.tmp"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    log_path.write_text(spec.command_text(Path(spec.image.name)) + "\n\n")
    try:
        stream(spec.argv(work / spec.image.name), log_path=log_path, on_line=PhaseTracker(note),
               env=spec.env, cwd=work, timeout=timeout)
        placed = []
        for path in produced_files(work, spec.image.name):
            if path.suffix in (".sha256", ".md5"):  # DIB writes the temporary path: keep the name only
                digest, _, name = path.read_text().strip().partition("  ")
                path.write_text(f"{digest}  {Path(name).name}\n")
            target = images_dir / path.name
            if target.is_dir():
                shutil.rmtree(target)
            path.rename(target)
            placed.append(target)
        return placed
    finally:
        shutil.rmtree(work, ignore_errors=True)
