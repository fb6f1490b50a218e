"""Kickstart stage: one kickstart per node whose release has anaconda."""

from __future__ import annotations

from kickbake.model.plan import NodeView, SitePlan
from kickbake.paths import KICKSTARTS_DIR
from kickbake.render.install import InstallDelivery
from kickbake.render.liveimg import TEMPLATE as LIVEIMG_TEMPLATE
from kickbake.render.liveimg import BakedImage
from kickbake.render.repofiles import yum_repo_files
from kickbake.render.templating import render_template

TEMPLATE = "node.ks.j2"
ORIGIN_MARK = "# kickbake-template: "


def render_kickstart(plan: SitePlan, node: NodeView, inputs_digest: str, install: InstallDelivery | None = None,
                     image: BakedImage | None = None) -> str:
    """The node's kickstart; `install`: its last %post fetches the node's install bundle and reports
    (sites with a boot server); with `image`, its liveimg variant (installs that image tar instead
    of %packages: kickstarts/node-liveimg.ks.j2, same snippets otherwise)."""
    assert node.release.kickstart is not None, f"{node.hostname}: {node.release.name} has no kickstart"
    extra: dict[str, object] = {"image": image} if image is not None else {}
    if install is not None:
        extra["install"] = install
    return render_template(
        KICKSTARTS_DIR,
        LIVEIMG_TEMPLATE if image is not None else TEMPLATE,
        site=plan.site,
        node=node,
        ks=node.release.kickstart,
        hosts=plan.hosts_entries,
        yum_repo_files=yum_repo_files(node.repos),
        inventory=plan.inventory.source.name,
        inputs_digest=inputs_digest,
        **extra,
    )


def template_of_line(text: str, lineno: int) -> str:
    """Which template produced line `lineno` (1-based): the nearest origin mark above it."""
    lines = text.splitlines()
    for line in reversed(lines[: max(lineno, 1)]):
        if line.startswith(ORIGIN_MARK):
            return "kickstarts/" + line[len(ORIGIN_MARK) :].strip()
    return f"kickstarts/{TEMPLATE}"
