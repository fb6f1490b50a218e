"""Every bad inventory in tests/bad/ fails with exactly the text in its .expected file."""

from __future__ import annotations

from pathlib import Path

import pytest

from kickbake.errors import BadInput
from kickbake.model import load_site

ROOT = Path(__file__).resolve().parents[2]
BAD = sorted((ROOT / "tests" / "bad").glob("[a-z]*.yml"))


@pytest.mark.parametrize("case", BAD, ids=[p.stem for p in BAD])
def test_bad_inventory_reports_expected_errors(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    expected = case.with_suffix(".expected").read_text().rstrip("\n")
    with pytest.raises(BadInput) as caught:
        load_site(case.relative_to(ROOT))
    assert str(caught.value) == expected


def test_the_base_of_the_bad_cases_is_itself_valid() -> None:
    """Each bad case differs from _base.yml by its one mistake, so the base must load."""
    inventory = load_site(ROOT / "tests" / "bad" / "_base.yml")
    assert [n.hostname for n in inventory.site.nodes] == ["node1", "node2"]


def test_every_bad_case_has_its_expected_text() -> None:
    assert BAD, "no bad cases found"
    for case in BAD:
        assert case.with_suffix(".expected").exists(), f"{case.name} has no .expected file"
