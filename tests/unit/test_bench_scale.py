"""The benchmark's synthetic site is a valid site, so the benchmark cannot rot unnoticed."""

from __future__ import annotations

import sys
from pathlib import Path

from kickbake import commands
from kickbake.validate import kickstart as kickstart_validation
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from render_scale import synthetic_site  # noqa: E402


def test_synthetic_site_renders_and_parallel_validation_matches_serial(tmp_path: Path, monkeypatch) -> None:
    site = tmp_path / "scale.yml"
    site.write_text(synthetic_site(80))
    monkeypatch.setattr(kickstart_validation, "PARALLEL_FROM", 10**9)
    serial = commands.render_site(site, tmp_path / "serial")
    monkeypatch.setattr(kickstart_validation, "PARALLEL_FROM", 2)
    parallel = commands.render_site(site, tmp_path / "parallel")
    files = sorted((tmp_path / "parallel" / "scale" / "kickstarts").glob("*.ks"))
    assert len(files) == 80
    assert [n.outputs for n in serial.nodes] == [n.outputs for n in parallel.nodes]
