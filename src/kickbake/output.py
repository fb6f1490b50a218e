"""Atomic output: a run writes a whole new `output/<site>/` tree and swaps it in with one rename.

`output/<site>` is a symlink to a generation directory `output/.<site>.<n>`. A run stages
generation n+1 beside it, carries over what later stages own (secrets, built images, the repo
snapshot, node records) by hard
links, and on success replaces the symlink atomically. A failed or interrupted run leaves the
previous generation untouched; its leftovers are removed by the next run."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kickbake.errors import BadInput

# what later stages write into a generation: kept when the site is rendered again
# repos: ./kb mirror; records: ./kb record --node and install reports; state: ./kb netboot
CARRIED_OVER = ("secrets", "images", "repos", "records", "state")
_GENERATION = re.compile(r"^\.(?P<site>.+)\.(?P<n>\d+)$")


class Stage:
    """A directory being filled; every write is checked to stay inside it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._made: set[Path] = set()  # directories already created (thousands of node files)
        self._resolved = root.resolve()

    def path(self, relative: str | Path) -> Path:
        target = (self.root / relative).resolve()
        if not target.is_relative_to(self._resolved):
            raise BadInput(f"refusing to write outside the output directory: {relative}")
        return target

    def write(self, relative: str | Path, content: str | bytes, mode: int = 0o644) -> Path:
        target = self.path(relative)
        if target.parent not in self._made:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(target.parent)
        data = content.encode() if isinstance(content, str) else content
        # carried-over files are hard links to the previous generation: never write through one
        target.unlink(missing_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(target, mode)  # O_CREAT's mode is filtered by the umask; secrets must be exact
        return target


def current_generation(out_root: Path, site: str) -> Path | None:
    link = out_root / site
    if link.is_symlink():
        return (out_root / os.readlink(link)).resolve()
    return link if link.is_dir() else None


def _next_number(out_root: Path, site: str) -> int:
    numbers = [
        int(m["n"]) for p in out_root.glob(f".{site}.*") if (m := _GENERATION.match(p.name)) and m["site"] == site
    ]
    return max(numbers, default=0) + 1


def _carry_over(old: Path, new: Path, names: tuple[str, ...]) -> None:
    for name in names:
        source = old / name
        if source.is_dir():
            shutil.copytree(source, new / name, copy_function=os.link, symlinks=True)


def _remove_stale(out_root: Path, site: str, keep: set[Path]) -> None:
    for path in out_root.glob(f".{site}.*"):
        match = _GENERATION.match(path.name) or re.match(rf"^\.{re.escape(site)}\.\d+\.(tmp|link)$", path.name)
        if match and path.resolve() not in keep:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


@contextmanager
def staged_site_output(out_root: Path, site: str, carry: tuple[str, ...] = CARRIED_OVER) -> Iterator[Stage]:
    """Yield a Stage for a new generation of output/<site>; swap it in only if the block succeeds."""
    out_root.mkdir(parents=True, exist_ok=True)
    link = out_root / site
    old = current_generation(out_root, site)
    if old is not None and not link.is_symlink():  # a plain directory from an older layout
        adopted = out_root / f".{site}.{_next_number(out_root, site)}"
        link.rename(adopted)
        link.symlink_to(adopted.name)
        old = adopted
    number = _next_number(out_root, site)
    staging = out_root / f".{site}.{number}.tmp"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        if old is not None:
            _carry_over(old, staging, carry)
        yield Stage(staging)
        final = out_root / f".{site}.{number}"
        staging.rename(final)
        tmp_link = out_root / f".{site}.{number}.link"
        tmp_link.unlink(missing_ok=True)
        tmp_link.symlink_to(final.name)
        os.replace(tmp_link, link)  # the one atomic step
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _remove_stale(out_root, site, keep={final.resolve()})


def site_dir(out_root: Path, site: str) -> Path:
    return out_root / site
