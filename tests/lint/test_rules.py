"""Lint rules as data: tests/lint/cases/<RULE>[-variant]-fail.yml must raise exactly the findings of that rule
listed in <RULE>-fail.expected (file:line, field, message, hint); <RULE>-pass.yml must raise none
of them, nor any other finding (base-*-pass.yml are production-like sites).
`--update-golden` rewrites the .expected files."""

from __future__ import annotations

from pathlib import Path

import pytest

from kickbake.lint import Severity, lint_site, rules
from kickbake.model import load_site, plan
from tests.conftest import BUNDLED

ROOT = Path(__file__).resolve().parents[2]
CASES = Path(__file__).parent / "cases"
FAIL_CASES = sorted(CASES.glob("*-fail.yml"))
PASS_CASES = sorted(CASES.glob("*-pass.yml"))


def findings_of(path: Path) -> list[str]:
    return [str(f) for f in lint_site(plan(load_site(path.relative_to(ROOT))))]


def rule_of(case: Path) -> str:
    return case.stem.split("-", 1)[0]  # DRBD003-fail, DRBD003-forced-fail -> DRBD003


@pytest.fixture(autouse=True)
def _from_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # findings name files relative to the working directory


@pytest.mark.parametrize("case", FAIL_CASES, ids=lambda p: p.stem)
def test_failing_fixture(case: Path, update_golden: bool) -> None:
    rule_id = rule_of(case)
    actual = [line for line in findings_of(case) if f": {rule_id} " in line]
    expected_file = case.with_suffix(".expected")
    if update_golden:
        expected_file.write_text("".join(f"{line}\n" for line in actual))
    assert actual, f"{rule_id} did not fire on {case.name}"
    assert all(f" {rule_id} error: " in line or f" {rule_id} warning: " in line for line in actual)
    assert all(line.endswith(")") and " (hint: " in line for line in actual), "every finding says what to change"
    assert actual == expected_file.read_text().splitlines()


@pytest.mark.parametrize("case", PASS_CASES, ids=lambda p: p.stem)
def test_passing_fixture(case: Path) -> None:
    # a pass fixture is the boundary just inside a rule (and the bases are production-like): no findings at all
    assert findings_of(case) == []


def test_every_rule_has_a_failing_fixture() -> None:
    assert set(rules()) == {rule_of(c) for c in FAIL_CASES}


def test_every_fixture_names_its_case_in_its_header() -> None:
    for case in FAIL_CASES + PASS_CASES:
        assert case.read_text().startswith(f"# {case.stem}: ")


@pytest.mark.parametrize("site", BUNDLED, ids=lambda p: p.stem)
def test_bundled_sites_have_no_errors(site: Path) -> None:
    findings = lint_site(plan(load_site(site)))
    assert [str(f) for f in findings if f.severity is Severity.ERROR] == []
    # the labs fence by hand and run the ring over their one back-to-back link, and say so
    assert {f.rule for f in findings} == {"FEN001", "DRBD018"}
