"""Kickstart stage: one kickstart per node whose release has anaconda."""

from __future__ import annotations

from kickbake.model.plan import NodeView, SitePlan
from kickbake.paths import KICKSTARTS_DIR
from kickbake.render.templating import render_template

TEMPLATE = "node.ks.j2"
ORIGIN_MARK = "# kickbake-template: "


def render_kickstart(plan: SitePlan, node: NodeView, inputs_digest: str) -> str:
    assert node.release.kickstart is not None, f"{node.hostname}: {node.release.name} has no kickstart"
    return render_template(
        KICKSTARTS_DIR,
        TEMPLATE,
        site=plan.site,
        node=node,
        ks=node.release.kickstart,
        hosts=plan.hosts_entries,
        inventory=plan.inventory.source.name,
        inputs_digest=inputs_digest,
    )


def template_of_line(text: str, lineno: int) -> str:
    """Which template produced line `lineno` (1-based): the nearest origin mark above it."""
    lines = text.splitlines()
    for line in reversed(lines[: max(lineno, 1)]):
        if line.startswith(ORIGIN_MARK):
            return "kickstarts/" + line[len(ORIGIN_MARK) :].strip()
    return f"kickstarts/{TEMPLATE}"
