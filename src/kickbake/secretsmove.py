"""`./kb secrets --export/--import`: move a site's generated secrets (corosync authkeys, DRBD and
service passwords, signing keys) to another machine, so that rendering the site there gives the
nodes the keys they already hold instead of new ones.

The archive is a tar (0600) of the site's secrets/ (without the one-shot install tokens) and
state/secrets.json, the list of secrets the site has, which keeps a lost one an error after the
move. Importing seeds a first generation of output/<site> (output.seed_generation): it refuses a
site that already has output there, an archive of another site, and any member that is not a
plain file under secrets/ (no links, no absolute or '..' paths, 1 MiB each at most)."""

from __future__ import annotations

import io
import json
import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kickbake.errors import BadInput
from kickbake.model.load import load_site
from kickbake.output import current_generation, seed_generation

MANIFEST = "kickbake-secrets.json"
INDEX = "state/secrets.json"
NOT_MOVED = "secrets/install/"  # one-shot install tokens and bundles: made again per install
MEMBER_BOUND = 1 << 20


@dataclass(frozen=True)
class SecretsMoved:
    site: str
    archive: str
    secrets: list[str]
    output: str = ""


def _site_name(site_path: str | Path) -> str:
    return load_site(site_path).site.site


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, 0
    archive.addfile(info, io.BytesIO(data))


def export_secrets(site_path: str | Path, out_root: Path, dest: Path) -> SecretsMoved:
    site = _site_name(site_path)
    generation = current_generation(out_root, site)
    if generation is None or not (generation / "secrets").is_dir():
        raise BadInput(f"{out_root / site}: no rendered secrets to export", hint=f"render --site {site_path} first")
    if dest.exists() or dest.is_symlink():
        raise BadInput(f"{dest} exists already", hint="export to a new file")
    root = generation / "secrets"
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()
                   and not f"secrets/{p.relative_to(root)}".startswith(NOT_MOVED))
    names = [f"secrets/{p.relative_to(root)}" for p in files]
    partial = dest.with_name(f".{dest.name}.tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle, tarfile.open(fileobj=handle, mode="w") as archive:
        _add(archive, MANIFEST, json.dumps({"site": site, "schema_version": 1}).encode())
        for path, name in zip(files, names, strict=True):
            _add(archive, name, path.read_bytes())
        if (generation / INDEX).is_file():
            _add(archive, INDEX, (generation / INDEX).read_bytes())
    partial.replace(dest)
    return SecretsMoved(site, str(dest), names)


def _members(source: Path) -> dict[str, bytes]:
    """Every member of the archive, checked before anything is written."""
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(source, mode="r:*") as archive:
            for member in archive.getmembers():
                name = PurePosixPath(member.name)
                if member.isdir():
                    continue
                if (not member.isfile() or name.is_absolute() or ".." in name.parts or member.size > MEMBER_BOUND
                        or not (str(name) in (MANIFEST, INDEX) or name.parts[0] == "secrets")):
                    raise BadInput(f"{source}: {member.name}: not a kickbake secrets archive member",
                                   hint="import only what ./kb secrets --export wrote")
                handle = archive.extractfile(member)
                assert handle is not None
                found[str(name)] = handle.read()
    except (tarfile.TarError, OSError) as error:
        raise BadInput(f"{source}: not a readable secrets archive ({error})") from error
    return found


def import_secrets(site_path: str | Path, out_root: Path, source: Path) -> SecretsMoved:
    site = _site_name(site_path)
    members = _members(source)
    try:
        archived = json.loads(members[MANIFEST])["site"]
    except (KeyError, ValueError, TypeError) as error:
        raise BadInput(f"{source}: no {MANIFEST}: not written by ./kb secrets --export") from error
    if archived != site:
        raise BadInput(f"{source} holds the secrets of {archived}, not of {site}", hint="name that site's inventory")
    if current_generation(out_root, site) is not None:
        raise BadInput(f"{out_root / site} exists already: importing would replace the secrets its nodes hold",
                       hint="import into a machine (or output root, KICKBAKE_OUTPUT) without this site's output")
    out_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_root, prefix=f".{site}.import.") as scratch:
        for name, data in members.items():
            if name.startswith("secrets/"):
                path = Path(scratch) / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
        (Path(scratch) / "secrets").mkdir(exist_ok=True)
        generation = seed_generation(out_root, site, Path(scratch) / "secrets")
    if INDEX in members:
        (generation / "state").mkdir(exist_ok=True)
        (generation / INDEX).write_bytes(members[INDEX])
    names = sorted(n for n in members if n.startswith("secrets/"))
    return SecretsMoved(site, str(source), names, str(out_root / site))
