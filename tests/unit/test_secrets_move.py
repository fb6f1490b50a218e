"""./kb secrets --export/--import (issue 17 item 4): a site's generated keys and passwords move to
another machine, and rendering there gives the nodes the ones they already hold."""

from __future__ import annotations

import io
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from kickbake import secretsmove
from kickbake.commands import render_sites
from kickbake.errors import BadInput
from tests.conftest import ROOT, kb

SITE = "sites/lab-el9.yml"  # as typed on the command line (cwd: ROOT); in-process calls use ROOT / SITE


def kept(out_root: Path) -> dict[str, bytes]:
    root = out_root / "lab-el9" / "secrets"
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and not str(p.relative_to(root)).startswith("install/")}


def secrets(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return kb("secrets", "--site", SITE, *args, out=out)


def test_secrets_moved_to_another_machine_render_the_same_keys(tmp_path: Path) -> None:
    here, there, archive = tmp_path / "here", tmp_path / "there", tmp_path / "lab-el9-secrets.tar"
    render_sites(ROOT / SITE, here)
    exported = secrets(here, "--export", str(archive))
    assert exported.returncode == 0, exported.stderr
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "state/secrets.json" in names and not [n for n in names if n.startswith("secrets/install/")]
    imported = secrets(there, "--import", str(archive))
    assert imported.returncode == 0, imported.stderr
    render_sites(ROOT / SITE, there)
    assert kept(there) == kept(here) and "drbdclu.authkey" in kept(here)
    for name in ("drbd-node1/etc/drbd.d/r0.res",):  # what the nodes get carries the same shared secret
        assert (there / "lab-el9" / "nodes" / name).read_bytes() == (here / "lab-el9" / "nodes" / name).read_bytes()
    # the moved index keeps a lost secret an error on the new machine too
    (there / "lab-el9" / "secrets" / "drbdclu.authkey").unlink()
    with pytest.raises(BadInput, match="drbdclu.authkey was made for this site before and is gone"):
        render_sites(ROOT / SITE, there)
    again = secrets(there, "--import", str(archive))
    assert again.returncode == 2 and "exists already" in again.stderr
    assert secrets(here, "--export", str(archive)).returncode == 2  # never overwrites an export


def test_an_archive_of_another_site_or_with_a_stray_member_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    render_sites(ROOT / "sites/lab-legacy.yml", tmp_path / "legacy")
    other = tmp_path / "legacy.tar"
    secretsmove.export_secrets(ROOT / "sites/lab-legacy.yml", tmp_path / "legacy", other)
    with pytest.raises(BadInput, match="holds the secrets of lab-legacy, not of lab-el9"):
        secretsmove.import_secrets(ROOT / SITE, tmp_path / "out", other)
    stray = tmp_path / "stray.tar"
    with tarfile.open(stray, "w") as tar:
        for name, data in (("kickbake-secrets.json", b'{"site": "lab-el9"}'), ("secrets/../../evil", b"x")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(BadInput, match="not a kickbake secrets archive member"):
        secretsmove.import_secrets(ROOT / SITE, tmp_path / "out", stray)
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil").exists()


def test_either_export_or_import_is_said() -> None:
    proc = secrets(ROOT / "output")
    assert (proc.returncode, proc.stderr.strip()) == (2, "kickbake: secrets: say --export FILE or --import FILE")
