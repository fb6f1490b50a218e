"""`insecure: true` is accepted, and said out loud on every load."""

from __future__ import annotations

from pathlib import Path

import pytest

from kickbake.model.load import load_site
from tests.conftest import ROOT


def test_insecure_site_warns_on_every_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "lab-debian.yml"
    site.write_text((ROOT / "sites/lab-debian.yml").read_text() + "insecure: true\n")
    for _ in range(2):
        load_site(site)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(lines) == 2
    assert "lab-debian.yml:" in lines[0] and "insecure: packages may be installed unsigned" in lines[0]


def test_secure_site_is_silent(capsys: pytest.CaptureFixture[str]) -> None:
    load_site(ROOT / "sites/lab-debian.yml")
    assert "warning" not in capsys.readouterr().err
