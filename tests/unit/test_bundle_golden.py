"""Golden files: every bundled site's node bundles (tests/golden/<site>/nodes/...), rendered with
fixed stand-in secrets. `pytest --update-golden` rewrites them; review the diff. The corosync
authkey is binary key material and stays out of git: it is compared with the stand-in instead."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.bundles import TEST_SECRETS, render, tree
from tests.conftest import BUNDLED, ROOT

GOLDEN = ROOT / "tests" / "golden"
NOT_IN_GIT = ("etc/corosync/authkey",)


def bundle_tree(site_out: Path) -> dict[str, bytes]:
    files = tree(site_out / "nodes")
    return {k: v for k, v in files.items() if not k.endswith(NOT_IN_GIT)}


@pytest.mark.parametrize("site", BUNDLED, ids=lambda p: p.stem)
def test_node_bundles_match_golden(site: Path, out_root: Path, update_golden: bool) -> None:
    out = render(site, out_root)
    actual = bundle_tree(out)
    golden = GOLDEN / site.stem / "nodes"
    if update_golden:
        shutil.rmtree(golden, ignore_errors=True)
        for relative, data in actual.items():
            (golden / relative).parent.mkdir(parents=True, exist_ok=True)
            (golden / relative).write_bytes(data)
    expected = tree(golden)
    assert sorted(actual) == sorted(expected)
    for relative in actual:
        assert actual[relative] == expected[relative], f"{relative} differs from tests/golden (--update-golden)"
    for authkey in (out / "nodes").glob("*/etc/corosync/authkey"):
        assert authkey.read_bytes() == TEST_SECRETS["drbdclu.authkey"]
