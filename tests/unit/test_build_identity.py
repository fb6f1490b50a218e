"""Input-addressed images without building: ids, stale reasons, file verification, the layer cache."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from kickbake import commands
from kickbake.build.identity import changed_inputs, file_fingerprint, unverified
from kickbake.build.layers import entries, prune
from tests.conftest import SITES


def test_changed_inputs_name_what_changed_and_skip_outputs() -> None:
    old = {"image_id": "a", "bundles": {"n1": "x", "n2": "y"}, "lock_sha256": "l1", "packages": 5, "files": {}}
    new = {"image_id": "b", "bundles": {"n1": "x", "n2": "z"}, "lock_sha256": "l2"}
    assert changed_inputs(old, new) == ["bundles.n2", "lock_sha256"]
    assert changed_inputs(new, new) == []


def test_a_built_file_is_verified_by_stat_then_by_sha256(tmp_path: Path) -> None:
    image = tmp_path / "img.qcow2"
    image.write_bytes(b"a" * 4096)
    record = {"files": {"img.qcow2": file_fingerprint(image)}}
    assert unverified(tmp_path, record) is None
    os.utime(image, ns=(time.time_ns(), time.time_ns() + 10**9))  # touched, same bytes: re-hashed, fine
    assert unverified(tmp_path, record) is None
    image.write_bytes(b"b" * 4096)  # same size, other bytes
    assert unverified(tmp_path, record) == "img.qcow2 changed since it was built (sha256 differs)"
    image.unlink()
    assert unverified(tmp_path, record) == "img.qcow2 is missing"
    assert unverified(tmp_path, {}) == "the last build recorded no files (built before image ids)"


def _layer(root: Path, name: str, size: int, used: float, complete: bool = True) -> None:
    directory = root / name
    directory.mkdir(parents=True)
    (directory / "layer.json").write_text(json.dumps({"release": "debian-12"}))
    if complete:
        (directory / "debootstrap-debian-bookworm-amd64.tar.gz").write_bytes(b"x" * size)
    for path in directory.iterdir():
        os.utime(path, (used, used))
    (directory / "last-used").touch()
    os.utime(directory / "last-used", (used, used))


def test_the_layer_cache_evicts_broken_then_least_recently_used(tmp_path: Path) -> None:
    now = time.time()
    _layer(tmp_path, "old", 4000, now - 300)
    _layer(tmp_path, "mid", 4000, now - 200)
    _layer(tmp_path, "new", 4000, now - 100)
    _layer(tmp_path, "broken", 0, now, complete=False)
    assert [e.layer for e in entries(tmp_path)] == ["broken", "new", "mid", "old"]
    removed = prune(9000, tmp_path, keep={"old"})
    assert [e.layer for e in removed] == ["broken", "mid"]  # "old" is kept: the build uses it
    assert sorted(e.layer for e in entries(tmp_path)) == ["new", "old"]
    assert prune(10**9, tmp_path) == []


def test_plan_says_never_built_then_built_then_which_input_changed(tmp_path: Path) -> None:
    out_root = tmp_path / "output"
    commands.render_site(SITES / "lab-debian.yml", out_root)
    [storage, controller] = commands.plan_site(SITES / "lab-debian.yml", out_root, tmp_path / "no.lock")
    assert (storage.state, storage.why, controller.state) == ("stale", "never built", "stale")
    assert storage.command == f"./kb build --site {SITES / 'lab-debian.yml'} --image storage-node"
    assert storage.layer_id is None  # no lock: an unlocked build has no cacheable layer
    images = out_root / "lab-debian" / "images"
    images.mkdir()
    (images / "storage-node.qcow2").write_bytes(b"image")
    record = {"image_id": storage.image_id, "image": "storage-node",
              "files": {"storage-node.qcow2": file_fingerprint(images / "storage-node.qcow2")}}
    # a finished build's record carries every input; plan compares the ids, then the files
    (images / "storage-node.image.json").write_text(json.dumps(record))
    [again, _] = commands.plan_site(SITES / "lab-debian.yml", out_root, tmp_path / "no.lock")
    assert (again.state, again.image_id) == ("built", storage.image_id)

    site = tmp_path / "lab-debian.yml"
    site.write_text((SITES / "lab-debian.yml").read_text().replace("    port: 7788\n", "    port: 7789\n"))
    [changed, _] = commands.plan_site(site, out_root, tmp_path / "no.lock")
    assert changed.state == "stale" and changed.image_id != storage.image_id
    assert changed.why.startswith("changed:"), changed.why


@pytest.mark.parametrize("flag", ["--json"])
def test_plan_json_is_a_job_list(tmp_path: Path, flag: str) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {**os.environ, "KICKBAKE_OUTPUT": str(tmp_path / "out"), "KICKBAKE_ROOT": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", "from kickbake.cli import main; main()", "plan", "--site",
                           str(SITES / "lab-debian.yml"), flag], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["stale"] == ["storage-node", "controller"]
    assert {i["image"]: i["state"] for i in plan["images"]} == {"storage-node": "stale", "controller": "stale"}


def test_an_element_changed_within_one_process_changes_its_hash(tmp_path: Path) -> None:
    """A test session or build loop that builds twice must see an element edited in between (a
    per-process cache gave the second build the first one's image id)."""
    from kickbake.build.identity import elements_sha256

    script = tmp_path / "kb-element" / "install.d" / "10-kb-element"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/bash\nset -eu\necho one\n")
    first = elements_sha256(("kb-element",), tmp_path)
    script.write_text("#!/bin/bash\nset -eu\necho two\n")
    assert elements_sha256(("kb-element",), tmp_path) != first
