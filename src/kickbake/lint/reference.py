"""The rules as a table: `./kb rules` (people or --json) and docs/lint-rules.md, both generated
from the registry so they cannot drift from it."""

from __future__ import annotations

import importlib
import json
import sys

from rich.console import Console
from rich.table import Table

from kickbake.errors import BadInput
from kickbake.lint.engine import RULE_MODULES, Rule, rules
from kickbake.paths import PROJECT_ROOT

RULES_DOC = PROJECT_ROOT / "docs" / "lint-rules.md"


def _subsystem(registered: Rule) -> str:
    return registered.check.__module__.rsplit(".", 1)[-1]


def rule_rows() -> list[dict[str, str]]:
    return [
        {"id": r.id, "severity": r.severity.value, "subsystem": _subsystem(r), "title": r.title}
        for r in rules().values()
    ]


def rules_markdown() -> str:
    rows = rule_rows()
    lines = [
        "# Cluster lint rules",
        "",
        "Generated from the rule registry (`src/kickbake/lint/`) by `./kb rules --doc`; a test fails when",
        "it is out of date. `./kb validate` runs every rule over a site: an **error** blocks rendering,",
        "a **warning** is printed and rendering goes on. Each finding reads",
        "`FILE:LINE: RULE severity: field: message (hint: what to change)`.",
        "Every rule has a failing fixture in `tests/lint/cases/<RULE>-fail.yml` with its exact finding",
        "in `<RULE>-fail.expected`.",
        "",
        f"{len(rows)} rules.",
        "",
    ]
    for module in RULE_MODULES:
        doc = (importlib.import_module(f"kickbake.lint.{module}").__doc__ or "").strip()
        lines += [f"## {module}", "", " ".join(doc.split()), "", "| id | severity | rule |", "|---|---|---|"]
        lines += [f"| {r['id']} | {r['severity']} | {r['title']} |" for r in rows if r["subsystem"] == module]
        lines.append("")
    return "\n".join(lines)


def write_rules_doc(check: bool = False) -> None:
    text = rules_markdown()
    if check:
        if not RULES_DOC.exists() or RULES_DOC.read_text() != text:
            raise BadInput(f"out of date: {RULES_DOC}", hint="run ./kb rules --doc")
        return
    RULES_DOC.parent.mkdir(exist_ok=True)
    RULES_DOC.write_text(text)


def print_rules(as_json: bool = False) -> None:
    rows = rule_rows()
    if as_json:
        sys.stdout.write(json.dumps({"rules": rows}, indent=2, sort_keys=True) + "\n")
        return
    table = Table(title=f"kickbake lint rules ({len(rows)})")
    for column in ("id", "severity", "subsystem", "title"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["id"], row["severity"], row["subsystem"], row["title"])
    Console(highlight=False).print(table)


def rules_command(as_json: bool = False, doc: bool = False, check: bool = False) -> None:
    """What `./kb rules` does: list the rules, or write/check docs/lint-rules.md."""
    if doc or check:
        write_rules_doc(check=check)
    else:
        print_rules(as_json)
