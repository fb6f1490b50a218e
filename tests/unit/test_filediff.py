"""Issue 12 item 4: `./kb filediff` compares two tar images file by file against the documented
list of paths a rebuild may change (record/reproducible.yml), docs/reproducible.md is generated
from that list, and SOURCE_DATE_EPOCH follows from the release and the lock's pins alone."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from kickbake.build import BuildOptions, build_images
from kickbake.build.reproducible import EPOCH_FLOOR, SPAN_BITS, reproducible_env, source_date_epoch
from kickbake.build.spec import LockedSet, build_spec
from kickbake.errors import KickbakeError
from kickbake.model import load_site, plan
from kickbake.record.filediff import (
    Expected,
    diff_images,
    expected_differences,
    read_tar,
    reproducible_markdown,
    unused_entries,
)
from tests.conftest import ROOT

DOC = ROOT / "docs" / "reproducible.md"
Member = tuple[str, str, dict[str, object]]  # (name, content or link target, TarInfo attributes)


def make_tar(path: Path, members: list[Member]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data, attributes in members:
            info = tarfile.TarInfo(name)
            info.mtime = 1_700_000_000
            for key, value in {"mode": 0o644, **attributes}.items():
                setattr(info, key, value)
            if info.type in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                info.linkname = data
                tar.addfile(info)
            elif info.type == tarfile.DIRTYPE:
                tar.addfile(info)
            else:
                info.size = len(data.encode())
                tar.addfile(info, io.BytesIO(data.encode()))
    return path


DIR = {"type": tarfile.DIRTYPE, "mode": 0o755}
BASE: list[Member] = [
    ("./etc", "", DIR),
    ("./etc/hostname", "node\n", {}),
    ("./etc/motd", "hello\n", {}),
    ("./etc/shadow", "root:*:1:\n", {"mode": 0o640, "gid": 42}),
    ("./etc/localtime", "/usr/share/zoneinfo/UTC", {"type": tarfile.SYMTYPE}),
    ("./usr/bin/perl", "ELF", {"mode": 0o755}),
    ("./usr/bin/perl5.36", "./usr/bin/perl", {"type": tarfile.LNKTYPE}),
    ("./var/cache/ldconfig/aux-cache", "inodes 1", {}),
]


def changed(members: list[Member], name: str, data: str | None = None, **attributes: object) -> list[Member]:
    return [(n, d if n != name or data is None else data, {**a, **attributes} if n == name else a)
            for n, d, a in members]


def test_identical_images_have_no_differences_whatever_their_mtimes_and_link_order(tmp_path: Path) -> None:
    a = make_tar(tmp_path / "a.tar", BASE)
    # the same files, the hard link stored the other way round, every mtime another
    swapped: list[Member] = [("./usr/bin/perl5.36", "ELF", {"mode": 0o755}),
                             ("./usr/bin/perl", "./usr/bin/perl5.36", {"type": tarfile.LNKTYPE})]
    b_members = [m for m in BASE if not m[0].startswith("./usr/bin/perl")] + swapped
    b = make_tar(tmp_path / "b.tar", [(n, d, {**x, "mtime": 1_800_000_000}) for n, d, x in b_members])
    result = diff_images(a, b)
    assert result.files == len(BASE) and result.differences == []


def test_each_aspect_of_a_path_is_compared_and_named(tmp_path: Path) -> None:
    a = make_tar(tmp_path / "a.tar", BASE)
    other = changed(BASE, "./etc/motd", "bye\n")
    other = changed(other, "./etc/shadow", mode=0o600)
    other = changed(other, "./etc/hostname", uid=1000)
    other = changed(other, "./etc/localtime", "/usr/share/zoneinfo/Europe/Paris")
    other = changed(other, "./usr/bin/perl", "ELF2")  # the hard link follows its file
    other = [m for m in other if m[0] != "./var/cache/ldconfig/aux-cache"] + [("./etc/new", "x", {})]
    result = diff_images(a, make_tar(tmp_path / "b.tar", other), expected=())
    assert [(d.path, d.aspects) for d in result.differences] == [
        ("etc/hostname", ("owner",)), ("etc/localtime", ("target",)), ("etc/motd", ("sha256",)),
        ("etc/new", ("added",)), ("etc/shadow", ("mode",)), ("usr/bin/perl", ("sha256",)),
        ("usr/bin/perl5.36", ("sha256",)), ("var/cache/ldconfig/aux-cache", ("removed",))]
    assert [d.path for d in result.undocumented] == [d.path for d in result.differences]


def test_a_file_turned_directory_is_a_kind_change(tmp_path: Path) -> None:
    a = make_tar(tmp_path / "a.tar", BASE)
    b = make_tar(tmp_path / "b.tar", changed(BASE, "./etc/motd", "", type=tarfile.DIRTYPE, mode=0o755))
    [difference] = diff_images(a, b, expected=()).differences
    assert difference.path == "etc/motd" and difference.aspects == ("kind", "sha256", "mode")


def test_documented_paths_carry_their_why_and_unused_entries_are_named(tmp_path: Path) -> None:
    a = make_tar(tmp_path / "a.tar", BASE)
    b = make_tar(tmp_path / "b.tar", changed(changed(BASE, "./etc/motd", "bye\n"), "./etc/shadow", "root:*:2:\n"))
    expected = (Expected("etc/shadow", "the date of the last password change"),
                Expected("etc/ssh/ssh_host_*_key", "first boot regenerates it"))
    result = diff_images(a, b, expected)
    assert [(d.path, d.why) for d in result.differences] == [
        ("etc/motd", ""), ("etc/shadow", "the date of the last password change")]
    assert [d.path for d in result.undocumented] == ["etc/motd"]
    assert unused_entries(result, expected) == ["etc/ssh/ssh_host_*_key"]
    assert result.as_dict()["undocumented"] == ["etc/motd"]


def test_a_file_that_is_not_a_tar_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "image.qcow2").write_bytes(b"QFI\xfb" + bytes(600))
    with pytest.raises(KickbakeError, match=r"image.qcow2: cannot read it as a tar image"):
        read_tar(tmp_path / "image.qcow2")


@pytest.mark.parametrize(("text", "error"), [
    ("differs: {}\n", "expected a 'differs:' list"),
    ("differs:\n  - path: etc/machine-id\n", r"differs\[0\]: needs exactly a path and a why"),
    ("differs:\n  - {path: etc/x, why: ' '}\n", r"differs\[0\]: needs exactly a path and a why"),
    ("differs:\n  - {path: etc/x, why: y, note: z}\n", r"differs\[0\]: needs exactly a path and a why"),
    ("differs:\n  - {path: /etc/x, why: y}\n", r"differs\[0\].path: '/etc/x': write it relative"),
])
def test_the_documented_list_is_checked(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "reproducible.yml"
    path.write_text(text)
    with pytest.raises(KickbakeError, match=error):
        expected_differences(path)


def test_the_shipped_list_is_short_and_every_entry_says_why() -> None:
    entries = expected_differences()
    assert 0 < len(entries) <= 12
    assert len({e.path for e in entries}) == len(entries)
    assert all(len(e.why) >= 20 for e in entries)


def test_docs_reproducible_md_is_generated_from_the_list(update_golden: bool) -> None:
    text = DOC.read_text()
    start = text.index("<!-- generated from")
    generated = reproducible_markdown()
    if update_golden:
        DOC.write_text(text[:start] + generated)
    assert text[start:] == generated, "stale: pytest tests/unit/test_filediff.py --update-golden rewrites it"


def test_source_date_epoch_follows_the_release_and_pins_only() -> None:
    pins = ("bash=5.2.15-2+b2", "drbd-utils=9.22.0-1")
    epoch = source_date_epoch("debian-12", pins)
    assert epoch == source_date_epoch("debian-12", pins)
    assert EPOCH_FLOOR <= epoch < EPOCH_FLOOR + (1 << SPAN_BITS)
    others = {source_date_epoch("debian-12", pins[:1]), source_date_epoch("debian-13", pins),
              source_date_epoch("debian-12", ("bash=5.2.15-2+b3", pins[1]))}
    assert epoch not in others and len(others) == 3


CLEANUP = ROOT / "elements" / "kickbake-record" / "cleanup.d" / "55-kickbake-reproducible"


def test_the_element_normalises_a_tree(tmp_path: Path) -> None:
    """kickbake-record's cleanup.d step on a small tree, as diskimage-builder runs it (outside the
    chroot, TARGET_ROOT set): caches and backups gone, logs empty, mtimes clamped except on the
    mount points (sys is read-only during a build)."""
    root = tmp_path / "root"
    files = {"etc/passwd": "root:x:0:0\n", "etc/passwd-": "old\n", "var/lib/dpkg/status-old": "old\n",
             "var/cache/ldconfig/aux-cache": "inodes\n", "var/cache/apt/pkgcache.bin": "cache\n",
             "var/log/apt/term.log": "Setting up\n", "var/log/journal/abc/system.journal": "j\n",
             "run/blkid/blkid.tab": "<device/>\n", "usr/bin/old": "packaged long ago\n"}
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    for mount in ("proc", "sys", "dev", "tmp"):
        (root / mount).mkdir()
    epoch, old = 1683811203, 1600000000
    os.utime(root / "usr/bin/old", (old, old))
    proc = subprocess.run([str(CLEANUP)], env={**os.environ, "TARGET_ROOT": str(root),
                                               "SOURCE_DATE_EPOCH": str(epoch)}, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert f"mtimes clamped to SOURCE_DATE_EPOCH={epoch}" in proc.stdout
    left = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert left == ["etc/passwd", "usr/bin/old", "var/log/apt/term.log"]
    assert (root / "var/log/apt/term.log").read_text() == "" and (root / "etc/passwd").read_text() == "root:x:0:0\n"
    times = {str(p.relative_to(root)): int(p.lstat().st_mtime) for p in root.rglob("*")}
    assert times.pop("usr/bin/old") == old  # older than the epoch: kept
    assert all(times.pop(m) > epoch for m in ("proc", "sys", "dev", "tmp"))
    assert set(times.values()) == {epoch}


def test_the_element_without_source_date_epoch_clamps_nothing(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "hostname").write_text("node\n")
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    proc = subprocess.run([str(CLEANUP)], env={**env, "TARGET_ROOT": str(tmp_path)}, capture_output=True, text=True)
    assert proc.returncode == 0 and "clamped" not in proc.stdout, proc.stderr
    assert (tmp_path / "etc" / "hostname").stat().st_mtime > EPOCH_FLOOR + (1 << SPAN_BITS)


def test_dry_run_shows_the_source_date_epoch_of_the_release_and_pins() -> None:
    site_plan = plan(load_site(ROOT / "sites" / "lab-debian.yml"))
    [result] = build_images(site_plan, ROOT / "output", BuildOptions("storage-node", layout="baremetal", dry_run=True,
                                                                     lock_path=ROOT / "tests" / "no-such.lock"))
    assert f"SOURCE_DATE_EPOCH={source_date_epoch('debian-12', ())} " in result.command  # unlocked: the release
    [image] = [i for i in site_plan.site.images if i.name == "storage-node"]
    locked = LockedSet(Path("site.lock"), "deb", ("bash=5.2.15-2+b2", "drbd-utils=9.22.0-1"))
    spec = build_spec(site_plan, image, layout="baremetal", lock=locked)
    assert reproducible_env(spec) == {"SOURCE_DATE_EPOCH": str(source_date_epoch("debian-12", locked.pins))}


def test_the_layer_keeps_the_images_own_resolv_conf(tmp_path: Path) -> None:
    """kickbake-layer saves the tree before diskimage-builder puts /etc/resolv.conf.ORIG back: it
    must store that one as resolv.conf (a layer with DIB's build-time copy, mode 777, made every
    build from the layer ship that copy: the mode differed from a cold build)."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "resolv.conf").write_text("nameserver 10.0.0.1  # the build host's\n")
    (root / "etc" / "resolv.conf").chmod(0o777)
    (root / "etc" / "resolv.conf.ORIG").write_text("nameserver 192.0.2.1\n")
    (root / "etc" / "resolv.conf.ORIG").chmod(0o644)
    layer = tmp_path / "layer.tar.gz"
    save = ROOT / "elements" / "kickbake-layer" / "cleanup.d" / "60-kickbake-layer-save"
    proc = subprocess.run([str(save)], env={**os.environ, "TARGET_ROOT": str(root), "KICKBAKE_LAYER_SAVE": str(layer)},
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    with tarfile.open(layer) as saved:
        names = [m.name for m in saved.getmembers() if m.name.startswith("./etc/resolv")]
        member = saved.getmember("./etc/resolv.conf")
        text = saved.extractfile(member).read()  # type: ignore[union-attr]
    assert names == ["./etc/resolv.conf"] and member.mode == 0o644 and text == b"nameserver 192.0.2.1\n"


def test_kb_filediff_exits_1_naming_undocumented_paths(tmp_path: Path) -> None:
    a = make_tar(tmp_path / "a.tar", BASE)
    b = make_tar(tmp_path / "b.tar", [*changed(BASE, "./etc/motd", "bye\n"), ("./etc/pacemaker/authkey", "k", {})])
    kickbake = str(Path(sys.executable).with_name("kickbake"))
    same = subprocess.run([kickbake, "filediff", str(a), str(a)], capture_output=True, text=True)
    assert same.returncode == 0 and "no differences" in same.stdout, same.stderr
    proc = subprocess.run([kickbake, "filediff", "--json", str(a), str(b)], capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["undocumented"] == ["etc/motd"]
    assert [(d["path"], d["aspects"], bool(d["why"])) for d in answer["differences"]] == [
        ("etc/motd", ["sha256"], False), ("etc/pacemaker/authkey", ["added"], True)]  # on the shipped list
    text = subprocess.run([kickbake, "filediff", str(a), str(b)], capture_output=True, text=True).stdout
    assert "UNDOCUMENTED" in text and "1 undocumented: not reproducible" in text
