"""Site-level supply: the site's repos carry what each node's features install.

The release data says which features need a repository beyond the release's base ones
(releases/*.yml `supply:`): on EL9, DRBD 9 from ELRepo (kmod-drbd9x), pacemaker/pcs from
HighAvailability, dlm from ResilientStorage only, Nova from RDO with CRB (RHEL 9's High
Availability and Resilient Storage add-ons; Rocky's repo ids in mock issue #968; RDO's install
notes `dnf config-manager --set-enabled crb`)."""

from __future__ import annotations

from kickbake.lint.engine import RuleResult, Severity, rule
from kickbake.model.plan import SitePlan


@rule("SUP001", Severity.ERROR, "the site's repos supply every feature its nodes need")
def repos_supply_features(plan: SitePlan) -> RuleResult:
    listed = set(plan.site.repos)
    needs: dict[tuple[str, str, str, tuple[str, ...]], list[str]] = {}
    for view in plan.nodes:
        for feature in view.features:
            for supply in view.release.supply.get(feature, ()):
                if not listed & set(supply.repos):
                    key = (view.release.pretty, feature, supply.what, supply.repos)
                    needs.setdefault(key, []).append(view.hostname)
    for (pretty, feature, what, repos), hosts in sorted(needs.items()):
        choice = " or ".join(repos)
        yield ("repos",), (
            f"{', '.join(hosts)} need{'s' if len(hosts) == 1 else ''} {what} ({feature}), which "
            f"{pretty} has only in {choice}: the site's repos list none of them"
        ), f"add {repos[0]} to repos" + (f" (or {', '.join(repos[1:])})" if len(repos) > 1 else "")
