"""The lint seen from the command line: `kickbake validate` / `render` on a bad site exit 2 with one
`FILE:LINE: RULE error: field: message (hint: ...)` line per error and write nothing; warnings do
not block; `kickbake rules` lists the registry; docs/lint-rules.md is current."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from kickbake.lint import rules
from kickbake.lint.reference import RULES_DOC, rules_markdown
from tests.conftest import ROOT, kb

CASES = Path("tests/lint/cases")


def kickbake(*args: str, out: Path | None = None) -> subprocess.CompletedProcess[str]:
    return kb(*args, out=out, env={"COLUMNS": "400"})


def test_validate_bad_site_exits_2_with_file_line_rule_field_message_hint() -> None:
    result = kickbake("validate", "--site", str(CASES / "DRBD001-fail.yml"))
    assert result.returncode == 2
    expected = (ROOT / CASES / "DRBD001-fail.expected").read_text().strip()
    assert expected.startswith("tests/lint/cases/DRBD001-fail.yml:62: DRBD001 error: drbd[0].protocol: ")
    assert expected.endswith("(hint: set protocol: C)")
    assert expected in result.stderr.splitlines()[0]
    assert result.stdout == ""


def test_every_error_is_reported_sorted() -> None:
    result = kickbake("validate", "--site", str(CASES / "CL001-fail.yml"))
    assert result.returncode == 2
    lines = [line.removeprefix("error: ") for line in result.stderr.splitlines()]
    assert lines == sorted(lines)
    assert {line.split()[1] for line in lines} == {"CL001", "ID001"}
    assert all(" error: " in line and "(hint: " in line for line in lines)


def test_render_bad_site_writes_nothing(tmp_path: Path) -> None:
    result = kickbake("render", "--site", str(CASES / "LVM001-fail.yml"), out=tmp_path / "output")
    assert result.returncode == 2
    assert "LVM001 error: volume_groups[0].devices[0]: /dev/vdb is the backing disk" in result.stderr
    assert not (tmp_path / "output").exists()


def test_warnings_do_not_block() -> None:
    result = kickbake("validate", "--site", "sites/lab-debian.yml")
    assert result.returncode == 0, result.stderr
    # warnings go to stderr (issue 17 item 5): stdout is the summary alone
    assert "sites/lab-debian.yml:59: FEN001 warning: clusters[0].fencing.mode: " in result.stderr
    assert "FEN001" not in result.stdout and result.stdout.startswith("lab-debian: validated, 3 nodes, ")


def test_rules_lists_the_registry_as_json() -> None:
    result = kickbake("rules", "--json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)["rules"]
    assert [r["id"] for r in listed] == sorted(rules())
    assert {r["severity"] for r in listed} == {"error", "warning"}
    assert len(listed) >= 40


def test_rules_doc_is_current() -> None:
    assert RULES_DOC.read_text() == rules_markdown(), "run ./kb rules --doc"
