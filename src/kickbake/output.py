"""Atomic output: a run writes a whole new `output/<site>/` tree and swaps it in with one rename.

`output/<site>` is a symlink to a generation directory `output/.<site>.<n>`. A run stages
generation n+1 beside it, carries over what later stages own (secrets, built images, the repo
snapshot, node records, netboot state) by hard links, and on success replaces the symlink
atomically. A failed or interrupted run leaves the previous generation untouched; its leftovers
are removed by the next run.

Nothing else is taken for a generation: `output/<site>` must be absent or a link to one of this
site's generations inside the output root. A plain directory, a file, or a link anywhere else is
refused (adopting it could mean using another site's keys), as is a generation whose secrets/ is
not a directory. Directories get explicit modes (0755, secrets/ 0700) whatever the umask, and a
filesystem error (read-only, full) is one message with the old output kept."""

from __future__ import annotations

import errno
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kickbake.errors import BadInput, KickbakeError

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

    def _mkdirs(self, directory: Path) -> None:
        """Create `directory` and its missing parents below the stage, each with an explicit mode."""
        missing = []
        while directory != self._resolved and not directory.is_dir():
            missing.append(directory)
            directory = directory.parent
        for path in reversed(missing):
            path.mkdir(exist_ok=True)
            secret = path.relative_to(self._resolved).parts[0] == SECRETS
            path.chmod(0o700 if secret else 0o755)

    def write(self, relative: str | Path, content: str | bytes, mode: int = 0o644) -> Path:
        target = self.path(relative)
        if target.parent not in self._made:
            self._mkdirs(target.parent)
            self._made.add(target.parent)
        data = content.encode() if isinstance(content, str) else content
        # carried-over files are hard links to the previous generation: never write through one
        target.unlink(missing_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(target, mode)  # O_CREAT's mode is filtered by the umask; secrets must be exact
        return target


SECRETS = "secrets"
FOREIGN_HINT = ("move it aside: kickbake writes output/<site> only as a link to its own generations "
                "(to keep secrets from elsewhere, copy them into the new output/<site>/secrets/)")


def current_generation(out_root: Path, site: str) -> Path | None:
    """The site's current generation; None when there is none yet. Refuses anything at
    output/<site> that kickbake did not make for this site."""
    link = out_root / site
    if link.is_symlink():
        target = os.readlink(link)
        match = _GENERATION.match(target)
        generation = out_root / target
        if "/" in target or not match or match["site"] != site or not generation.is_dir():
            raise BadInput(f"{link} points to {target}, not to a generation of site {site} in {out_root}",
                           hint=FOREIGN_HINT)
        return generation.resolve()
    if link.exists():
        kind = "a directory" if link.is_dir() else "a file"
        raise BadInput(f"{link} is {kind}, not kickbake's link to a generation of site {site}", hint=FOREIGN_HINT)
    return None


def seed_generation(out_root: Path, site: str, secrets_from: Path) -> Path:
    """A first generation of `site` holding a copy of the secrets in `secrets_from` (moving a site
    to another machine, tests, ./kb plan's scratch render); output/<site> must not exist yet."""
    if current_generation(out_root, site) is not None:
        raise BadInput(f"{out_root / site} exists already", hint="seed secrets only into a new output root")
    generation = out_root / f".{site}.{_next_number(out_root, site)}"
    shutil.copytree(secrets_from, generation / SECRETS)
    for path in [generation / SECRETS, *(generation / SECRETS).rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)
    generation.chmod(0o755)
    (out_root / site).symlink_to(generation.name)
    return generation


def _next_number(out_root: Path, site: str) -> int:
    numbers = [
        int(m["n"]) for p in out_root.glob(f".{site}.*") if (m := _GENERATION.match(p.name)) and m["site"] == site
    ]
    return max(numbers, default=0) + 1


def _carry_over(old: Path, new: Path, names: tuple[str, ...]) -> None:
    for name in names:
        source = old / name
        if source.is_dir() and not source.is_symlink():
            shutil.copytree(source, new / name, copy_function=os.link, symlinks=True)
        elif name == SECRETS and (source.exists() or source.is_symlink()):
            raise BadInput(f"{source} is not a directory: the site's keys are not where kickbake left them",
                           hint="restore secrets/ from a backup; kickbake never makes new keys for a rendered "
                                "site without being told (render --regenerate-secrets)")


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
    try:
        out_root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _filesystem_error(out_root, error) from error
    link = out_root / site
    old = current_generation(out_root, site)
    number = _next_number(out_root, site)
    staging = out_root / f".{site}.{number}.tmp"
    try:
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir()
        staging.chmod(0o755)
    except OSError as error:
        raise _filesystem_error(out_root, error) from error
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
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        if error.errno in WRITE_ERRORS:
            raise _filesystem_error(out_root, error) from error
        raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _remove_stale(out_root, site, keep={final.resolve()})


WRITE_ERRORS = {errno.EROFS: "is read-only", errno.ENOSPC: "is full", errno.EDQUOT: "is over its quota",
                errno.EACCES: "is not writable here", errno.EPERM: "is not writable here"}


def _filesystem_error(out_root: Path, error: OSError) -> KickbakeError:
    """One message for a filesystem that will not take the output; the previous one is kept."""
    why = WRITE_ERRORS.get(error.errno or 0, error.strerror or str(error))
    where = error.filename or out_root
    return KickbakeError(f"cannot write the output: {where} {why}; the previous output is kept",
                         hint="free space, make the output root writable, or set KICKBAKE_OUTPUT elsewhere")


def site_dir(out_root: Path, site: str) -> Path:
    return out_root / site
