"""The summary of rendered or validated sites for people: a header per site and one line per node
(node, release, roles, image, install path, netboot state, notes count) that fits the terminal, 80
columns for the bundled labs. Details (each output and note) with --verbose; findings and notes
go to stderr (report.print_sites), so stdout is the answer alone."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kickbake.pipeline import NodeResult, SiteResult

COLUMNS = ("node", "release", "roles", "image", "install", "netboot", "notes")
MIN_ROLES = 8  # the roles column gives way first, down to this


def install_path(node: NodeResult) -> str:
    """How the node gets its system: a kickstart (anaconda), or the image (PXE or written to disk)."""
    kickstarts = [o for o in node.outputs if o.startswith("kickstarts/")]
    if not kickstarts:
        return "image"
    return "kickstart+live" if len(kickstarts) > 1 else "kickstart"


def _row(node: NodeResult) -> tuple[str, ...]:
    return (node.node, node.release, ",".join(node.roles), node.image or "-", install_path(node),
            node.netboot or "-", str(len(node.notes)))


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(width - 1, 1)] + "+"


def node_table(nodes: Sequence[NodeResult], width: int = 80) -> list[str]:
    """Column names and one row per node within `width`: the roles column gives way first; a node
    name still too long stands on its own line above its row (names and paths are never cut)."""
    rows = [COLUMNS, *(_row(n) for n in nodes)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    over = 2 + sum(widths) + 2 * (len(COLUMNS) - 1) - width
    if over > 0:
        widths[2] = max(MIN_ROLES, widths[2] - over)
        over = 2 + sum(widths) + 2 * (len(COLUMNS) - 1) - width
    if over > 0:
        widths[0] = max(len(COLUMNS[0]), widths[0] - over)
    numeric = {6}
    lines = []
    for row in rows:
        if len(row[0]) > widths[0]:
            lines.append(f"  {row[0]}")
            row = ("", *row[1:])
        cells = [_fit(cell, widths[i]).rjust(widths[i]) if i in numeric else _fit(cell, widths[i]).ljust(widths[i])
                 for i, cell in enumerate(row)]
        lines.append(("  " + "  ".join(cells)).rstrip())
    return lines


def site_lines(results: Sequence[SiteResult], title: str, width: int = 80, verbose: bool = False) -> list[str]:
    lines: list[str] = []
    for result in results:
        warnings = len(result.findings)
        where = f", {result.output}" if result.output else ""
        count = len(result.nodes)
        lines.append(f"{result.site}: {title}, {count} node{'s' * (count != 1)}, "
                     f"{warnings} warning{'s' * (warnings != 1)} (on stderr){where}")
        lines.extend(node_table(result.nodes, width))
        if verbose:
            for node in result.nodes:
                lines.append(f"  {node.node}:")
                for text in (*node.outputs, *node.notes):  # wrapped at spaces: a path is never cut
                    lines.extend(textwrap.wrap(text, width, initial_indent="    ", subsequent_indent="      ",
                                               break_long_words=False, break_on_hyphens=False))
    if not verbose and any(n.notes for r in results for n in r.nodes):
        lines.append("(each node's outputs and notes: --verbose)")
    return lines
