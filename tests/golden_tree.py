"""Golden trees: compare a rendered directory with tests/golden/..., or rewrite it with --update-golden."""

from __future__ import annotations

import shutil
from pathlib import Path


def files_of(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def assert_tree_matches(actual: Path, golden: Path, update: bool) -> None:
    if update:
        if golden.exists():
            shutil.rmtree(golden)
        shutil.copytree(actual, golden)
        return
    assert golden.exists(), f"no golden tree {golden}; run pytest --update-golden and review the diff"
    got, want = files_of(actual), files_of(golden)
    assert sorted(got) == sorted(want), "file lists differ from the golden tree"
    for name in want:
        assert got[name] == want[name], f"{name} differs from {golden / name} (pytest --update-golden to accept)"
