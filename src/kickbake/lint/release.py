"""Rules about what a node's release can run at all."""

from __future__ import annotations

from kickbake.lint.engine import RuleResult, Severity, rule
from kickbake.lint.views import node_loc
from kickbake.model.plan import SitePlan

_WHY = {
    "cluster-legacy": "cman/clvmd ended with Fedora 16 and RHEL 6; use stack: current",
    "shared-lvm-legacy": "clvmd was removed in lvm2 2.03; use stack: current (lvmlockd)",
    "cluster-current": "corosync 3/pacemaker need Fedora 31+, EL8+ or Debian 11+; use stack: legacy here",
    "shared-lvm-current": "lvmlockd needs lvm2 2.03; use stack: legacy on this release",
    "openstack-controller": "this release ships no OpenStack Nova; use EL9/EL10 with RDO, or Debian",
    "openstack-compute": "this release ships no OpenStack Nova; use EL9/EL10 with RDO, or Debian",
    "drbd": "this release has no DRBD packages in its data file",
}


@rule("REL001", Severity.ERROR, "every feature a node needs exists on its release")
def release_provides_features(plan: SitePlan) -> RuleResult:
    for view in plan.nodes:
        for feature in view.missing_features:
            yield (*node_loc(plan, view.hostname), "release"), (
                f"{view.hostname} needs {feature}, which {view.release.pretty} cannot provide"
            ), _WHY.get(feature, "pick a release that has it")
