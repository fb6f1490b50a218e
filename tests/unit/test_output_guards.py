"""Outputs that refuse to be fooled: output/<site> is kickbake's link to one of the site's own
generations or nothing; lost secrets are never made anew silently; modes do not follow the umask;
a filesystem that will not take the output is one clear message with the old output kept."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kickbake import commands
from kickbake.errors import BadInput, KickbakeError
from tests.conftest import SITES

EL9 = SITES / "lab-el9.yml"


def _render(out_root: Path) -> Path:
    return Path(commands.render_site(EL9, out_root).output).resolve()


def test_a_link_to_another_sites_generation_or_a_foreign_directory_is_refused(tmp_path: Path) -> None:
    out_root = tmp_path / "output"
    commands.render_site(SITES / "lab-debian.yml", out_root)
    other = os.readlink(out_root / "lab-debian")
    (out_root / "lab-el9").symlink_to(other)  # lab-el9 would adopt lab-debian's keys
    with pytest.raises(BadInput, match=r"points to \.lab-debian\.\d+, not to a generation of site lab-el9"):
        _render(out_root)
    (out_root / "lab-el9").unlink()
    foreign = tmp_path / "elsewhere"
    (foreign / "secrets").mkdir(parents=True)
    (foreign / "secrets" / "drbdclu.authkey").write_bytes(b"not ours")
    (out_root / "lab-el9").symlink_to(foreign)
    with pytest.raises(BadInput, match="not to a generation of site lab-el9"):
        _render(out_root)
    assert sorted(p.name for p in out_root.glob(".lab-el9*")) == []  # nothing staged, nothing adopted


@pytest.mark.parametrize("kind", ["file", "directory"])
def test_a_file_or_a_plain_directory_at_output_site_is_refused_and_kept(tmp_path: Path, kind: str) -> None:
    out_root = tmp_path / "output"
    target = out_root / "lab-el9"
    if kind == "file":
        out_root.mkdir()
        target.write_text("someone's notes\n")
    else:
        (target / "secrets").mkdir(parents=True)
    with pytest.raises(BadInput, match=f"is a {kind}, not kickbake's link"):
        _render(out_root)
    assert target.read_text() == "someone's notes\n" if kind == "file" else target.is_dir()


def test_secrets_replaced_by_a_file_is_refused_not_regenerated(tmp_path: Path) -> None:
    out_root = tmp_path / "output"
    first = _render(out_root)
    key = (first / "secrets" / "drbdclu.authkey").read_bytes()
    shutil.move(first / "secrets", tmp_path / "saved-secrets")
    (first / "secrets").write_text("oops\n")
    with pytest.raises(BadInput, match="secrets is not a directory"):
        _render(out_root)
    assert (out_root / "lab-el9").resolve() == first  # the last good generation is still current
    (first / "secrets").unlink()
    shutil.move(tmp_path / "saved-secrets", first / "secrets")
    assert (_render(out_root) / "secrets" / "drbdclu.authkey").read_bytes() == key


def test_a_lost_secret_is_an_error_until_regenerated_on_purpose(tmp_path: Path) -> None:
    out_root = tmp_path / "output"
    first = _render(out_root)
    key = (first / "secrets" / "drbdclu.authkey").read_bytes()
    (first / "secrets" / "drbdclu.authkey").unlink()
    with pytest.raises(BadInput) as caught:
        _render(out_root)
    assert "secrets/drbdclu.authkey was made for this site before and is gone" in str(caught.value)
    assert "--regenerate-secrets" in caught.value.problems[0].hint
    assert "corosync authkey" in caught.value.problems[0].hint  # what changes on the nodes
    again = Path(commands.render_sites(EL9, out_root, regenerate_secrets=True)[0].output).resolve()
    new_key = (again / "secrets" / "drbdclu.authkey").read_bytes()
    assert len(new_key) == len(key) and new_key != key
    assert (again / "nodes" / "drbd-node1" / "etc" / "corosync" / "authkey").read_bytes() == new_key


def test_modes_are_explicit_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        generation = _render(tmp_path / "output")
    finally:
        os.umask(old)
    assert generation.stat().st_mode & 0o777 == 0o755
    for directory in ("nodes", "nodes/drbd-node1/etc", "pxe/pxelinux.cfg", "kickstarts", "state"):
        assert (generation / directory).stat().st_mode & 0o777 == 0o755, directory
    for directory in ("secrets", "secrets/install"):
        assert (generation / directory).stat().st_mode & 0o777 == 0o700, directory
    assert (generation / "kickstarts" / "drbd-node1.ks").stat().st_mode & 0o777 == 0o644


def test_a_read_only_output_filesystem_is_one_message_and_the_old_output_stays(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a tmpfs")
    out_root = tmp_path / "ro"
    out_root.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(out_root)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        first = _render(out_root)
        subprocess.run(["mount", "-o", "remount,ro", str(out_root)], check=True)
        with pytest.raises(KickbakeError, match="cannot write the output: .* is read-only; the previous output"):
            _render(out_root)
        assert (out_root / "lab-el9").resolve() == first and (first / "kickstarts" / "drbd-node1.ks").is_file()
    finally:
        subprocess.run(["umount", str(out_root)], check=False)


def test_a_symlinked_kernel_is_not_published(tmp_path: Path) -> None:
    out_root = tmp_path / "output"
    outside = tmp_path / "outside"
    outside.write_bytes(b"not a kernel")
    installers = out_root / "installers" / "el9"
    installers.mkdir(parents=True)
    (installers / "vmlinuz").symlink_to(outside)
    (installers / "initrd.img").write_bytes(b"initrd")
    result = commands.render_site(EL9, out_root)
    assert not (out_root / "lab-el9" / "pxe" / "images" / "el9" / "vmlinuz").exists()
    notes = " ".join(n for node in result.nodes for n in node.notes)
    assert "is a symbolic link, not published" in notes


def test_a_killed_validate_leaves_nothing_the_next_run_keeps(tmp_path: Path) -> None:
    """A scratch render killed with -9 cannot clean up; the next validate removes it (its process
    is gone) and keeps a live process's own."""
    import signal
    import sys
    import tempfile
    import time

    from tests.conftest import ROOT

    env = {**os.environ, "KICKBAKE_OUTPUT": str(tmp_path / "out"), "KICKBAKE_ROOT": str(ROOT)}
    argv = [sys.executable, "-c", "from kickbake.cli import main; main()", "validate"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    temp = Path(tempfile.gettempdir())
    deadline = time.monotonic() + 30
    while not list(temp.glob(f"kickbake-validate-{proc.pid}-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    left = list(temp.glob(f"kickbake-validate-{proc.pid}-*"))
    assert left, "the validate did not get as far as its scratch directory"
    mine = temp / f"kickbake-validate-{os.getpid()}-alive"
    mine.mkdir()
    try:
        subprocess.run([*argv, "--site", str(EL9)], env=env, check=True, capture_output=True)
        assert not any(p.exists() for p in left) and mine.is_dir()
    finally:
        mine.rmdir()
    assert not (tmp_path / "out").exists()
