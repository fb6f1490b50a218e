"""Showing results: a table for people, JSON for machines."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kickbake.errors import KickbakeError
from kickbake.summary import site_lines

if TYPE_CHECKING:  # what is shown is typed; showing it loads none of the stages
    from kickbake.build import BuildResult, ImagePlan
    from kickbake.lint import Finding
    from kickbake.pipeline import SiteResult
    from kickbake.record.diff import ManifestDiff
    from kickbake.record.filediff import FileDiff
    from kickbake.record.lock import LockResult
    from kickbake.validate.tools import FileCheck


SCHEMA_VERSION = 1  # of every --json answer that carries it (and of errors: kickbake.errors)


def print_json(payload: object, versioned: bool = True) -> None:
    """A --json answer on stdout; a mapping of named fields carries schema_version."""
    if versioned and isinstance(payload, dict):
        payload = {"schema_version": SCHEMA_VERSION, **payload}
    sys.stdout.write(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def print_findings(findings: Sequence[Finding], console: Console) -> None:
    for finding in findings:
        style = "red" if finding.severity.value == "error" else "yellow"
        console.print(f"[{style}]{escape(str(finding))}[/{style}]", highlight=False, soft_wrap=True)


def print_sites(results: Sequence[SiteResult], as_json: bool = False, title: str = "kickbake",
                verbose: bool = False) -> None:
    """One line per node on stdout (kickbake.summary); site notes and findings on stderr."""
    if as_json:
        print_json({"sites": [r.as_dict() for r in results]})
        return
    width = shutil.get_terminal_size((80, 24)).columns
    sys.stdout.write("".join(line + "\n" for line in site_lines(results, title, width, verbose)))
    sys.stdout.flush()
    stderr = Console(file=sys.stderr, highlight=False)
    for result in results:
        for note in result.notes:
            stderr.print(f"{escape(result.site)}: {escape(note)}", highlight=False, soft_wrap=True)
        print_findings(result.findings, stderr)


def print_error(error: KickbakeError, as_json: bool = False) -> None:
    """For people on stderr; under --json the error's JSON on stdout, where the answer would be."""
    if as_json:
        print_json(error.as_dict())
        return
    Console(file=sys.stderr, highlight=False).print(f"[red]error:[/red] {escape(str(error))}", soft_wrap=True)


def print_builds(results: Sequence[BuildResult], as_json: bool = False) -> None:
    """Dry run: the exact disk-image-create command and environment; build: files and seconds."""
    if as_json:
        print_json({"builds": [r.__dict__ for r in results]})
        return
    for result in results:
        if result.dry_run:
            sys.stdout.write(f"# {result.site}/{result.image}\n{result.command}\n\n")
        elif result.cached:
            sys.stdout.write(f"{result.site}/{result.image}: up to date ({result.record.get('image_id')}), "
                             "not rebuilt\n")
        else:
            layer = f", package layer {result.layer}" if result.layer else ""
            sys.stdout.write(f"{result.site}/{result.image}: built {result.record.get('image_id')} in "
                             f"{result.seconds:.0f}s{layer}\n")
            sys.stdout.write("".join(f"  {path}\n" for path in result.files))


def print_tool_checks(checks: Sequence[FileCheck], as_json: bool = False) -> int:
    """Show one line per checked file; return how many failed."""
    failed = sum(1 for c in checks if c.status == "failed")
    if as_json:
        print_json({"checks": [c.as_dict() for c in checks], "failed": failed})
        return failed
    console = Console(highlight=False, soft_wrap=True)
    style = {"ok": "green", "failed": "red", "skipped": "yellow"}
    for c in checks:
        status = f"[{style[c.status]}]{c.status}[/{style[c.status]}]"
        where = f"{escape(c.site)}/{escape(c.file)} \\[{escape(c.tool)}]"
        console.print(f"{status} {where}: {escape(c.detail)}")
    counts = {s: sum(1 for c in checks if c.status == s) for s in style}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    console.print(f"{summary} ({len(checks)} file checks)")
    return failed


def print_netboot(result: dict[str, object], as_json: bool = False) -> None:
    """`./kb netboot`: one line per node, its state and what its PXE entry does."""
    if as_json:
        print_json(result)
        return
    nodes = result["nodes"]
    assert isinstance(nodes, dict)
    for node, state in nodes.items():
        does = "installs it (kickstart or image entry)" if state == "install" else "boots its local disk"
        print(f"{node}: {state}: its PXE entry {does}")
    for moved in result.get("archived") or []:  # type: ignore[attr-defined]
        print(f"kept the previous record as {moved}", file=sys.stderr)


def print_plan(plans: Sequence[ImagePlan], as_json: bool = False) -> None:
    """`./kb plan`: a job list, one image per entry (the unit a CI matrix distributes)."""
    if as_json:
        print_json({"images": [p.as_dict() for p in plans],
                    "stale": [p.image for p in plans if p.state == "stale"]})
        return
    for p in plans:
        layer = f"layer {p.layer_id} ({'cached' if p.layer_cached else 'not cached'})" if p.layer_id else "no layer"
        print(f"{p.site}/{p.image}: {p.state} {p.image_id}, {layer}")
        if p.state == "stale":
            print(f"  why: {p.why}\n  run: {p.command}")


def print_cache(report: dict[str, object], as_json: bool = False) -> None:
    if as_json:
        print_json(report)
        return
    layers = report["layers"]
    assert isinstance(layers, list)
    total, bound = report["total"], report["bound"]
    assert isinstance(total, int) and isinstance(bound, int)
    print(f"{report['root']}: {len(layers)} layers, {total / (1 << 30):.1f} GiB of {bound / (1 << 30):.0f} GiB")
    for entry in layers:
        state = "" if entry["complete"] else " (incomplete)"
        print(f"  {entry['layer']}  {entry['size'] / (1 << 20):7.0f} MiB  last used {entry['last_used']}  "
              f"{entry['release']}{state}")
    for entry in report["removed"]:  # type: ignore[attr-defined]
        print(f"  evicted {entry['layer']} ({entry['size'] / (1 << 20):.0f} MiB)", file=sys.stderr)


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


def print_filediff(result: FileDiff, as_json: bool = False) -> None:
    if as_json:
        print_json(result.as_dict())
        return
    table = Table(title=f"{result.a} -> {result.b}: {result.files} paths")
    for column in ("path", "differs in", "why (docs/reproducible.md)"):
        table.add_column(column)
    for difference in result.differences:
        table.add_row(difference.path, ", ".join(difference.aspects), difference.why or "[red]UNDOCUMENTED[/red]")
    console = Console(highlight=False)
    console.print(table if result.differences else "no differences")
    if result.undocumented:
        console.print(f"{len(result.undocumented)} undocumented: not reproducible")


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
        print_json(summary, versioned=False)  # keyed by image name, as consumers read it
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
