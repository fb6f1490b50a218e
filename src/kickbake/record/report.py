"""Tables for people (rich) and JSON for machines, for the record tasks."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from kickbake.record.diff import ManifestDiff
from kickbake.record.lock import LockResult
from kickbake.report import print_json


def print_diff(result: ManifestDiff, as_json: bool = False) -> None:
    if as_json:
        print_json(result.as_dict())
        return
    table = Table(title=f"{result.a} -> {result.b}")
    for column in ("change", "what", "before", "after"):
        table.add_column(column)
    for change in result.changes:
        table.add_row(change.kind, change.name, change.before, change.after)
    Console(highlight=False).print(table if result.changes else "no changes")


def print_lock(result: LockResult, as_json: bool = False) -> None:
    if as_json:
        print_json(result.as_dict())
        return
    console = Console(highlight=False)
    console.print(f"{result.path}: " + ", ".join(f"{i} {n} packages" for i, n in result.images.items()))
    for change in result.changes:
        console.print(str(change))
    if not result.changes:
        console.print("no changes")


def print_licenses(summary: dict[str, dict[str, int]], as_json: bool = False) -> None:
    if as_json:
        print_json(summary)
        return
    table = Table(title="licenses")
    for column in ("image", "license", "packages"):
        table.add_column(column)
    for image, counts in summary.items():
        for expression, count in counts.items():
            table.add_row(image, expression, str(count))
    Console(highlight=False).print(table)


def print_record(result: object, as_json: bool = False) -> None:
    """A record or mirror result (a dataclass): its fields, one per line, or as JSON."""
    fields = {k: str(v) if isinstance(v, Path) else v for k, v in vars(result).items()}
    if as_json:
        print_json(fields)
        return
    for key, value in fields.items():
        print(f"{key}: {value}")
