"""The benchmark's synthetic site is a valid site, so the benchmark cannot rot unnoticed; and the
parallel kickstart validation it measures gives exactly the serial results, findings included."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from kickbake import commands
from kickbake.validate import kickstart as kickstart_validation
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from render_scale import synthetic_site


def test_synthetic_site_renders_serially_and_in_parallel_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "scale.yml"
    site.write_text(synthetic_site(80))
    monkeypatch.setattr(kickstart_validation, "PARALLEL_FROM", 10**9)
    serial = commands.render_site(site, tmp_path / "serial")
    monkeypatch.setattr(kickstart_validation, "PARALLEL_FROM", 2)
    parallel = commands.render_site(site, tmp_path / "parallel")
    files = sorted((tmp_path / "parallel" / "scale" / "kickstarts").glob("*.ks"))
    assert len(files) == 80
    assert [n.outputs for n in serial.nodes] == [n.outputs for n in parallel.nodes]
    for ks in files:
        assert ks.read_bytes() == (tmp_path / "serial" / "scale" / "kickstarts" / ks.name).read_bytes()


def test_parallel_validation_returns_each_kickstarts_own_findings_in_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Broken kickstarts at known positions: the parallel path must report each one's findings at
    its own index, as the serial path does (a pool that lost, merged or reordered results fails)."""
    if min(os.cpu_count() or 1, 8) < 2:
        pytest.skip("one core: validate_kickstarts never goes parallel here")
    site = tmp_path / "scale.yml"
    site.write_text(synthetic_site(24))
    commands.render_site(site, tmp_path / "out")
    texts = [p.read_text() for p in sorted((tmp_path / "out" / "scale" / "kickstarts").glob("*.ks"))]
    broken = {3: "bootloader --no-such-option\n", 10: "notacommand\n", 17: "network --bootproto=nonsense\n"}
    pairs = [(broken.get(i, "") + text, "F43") for i, text in enumerate(texts)]
    monkeypatch.setattr(kickstart_validation, "PARALLEL_FROM", 2)
    parallel = kickstart_validation.validate_kickstarts(pairs)
    monkeypatch.setattr(kickstart_validation, "PARALLEL_FROM", 10**9)
    serial = kickstart_validation.validate_kickstarts(pairs)
    assert [[(f.line, f.message) for f in found] for found in parallel] == \
        [[(f.line, f.message) for f in found] for found in serial]
    assert sorted(i for i, found in enumerate(parallel) if found) == sorted(broken)
