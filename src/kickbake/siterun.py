"""One site, loaded and linted once, as every stage of a command sees it.

A command opens its site once (`open_site`): the inventory is read, the plan derived and the
cluster lint run, and the resulting frozen SiteRun goes to each stage in turn, so no stage
re-reads the file (nor repeats its warnings)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kickbake.lint import Finding, LintErrors, Severity, lint_site
from kickbake.model import SitePlan, load_site, plan
from kickbake.progress import Progress


@dataclass(frozen=True)
class SiteRun:
    source: Path  # the inventory file as given
    plan: SitePlan
    findings: tuple[Finding, ...]  # warnings (errors stop open_site)
    out_root: Path
    progress: Progress

    @property
    def site(self) -> str:
        return self.plan.site.site

    @property
    def site_dir(self) -> Path:
        return self.out_root / self.site

    def elsewhere(self, out_root: Path) -> SiteRun:
        """The same site writing to another output root (validation's scratch directory)."""
        return SiteRun(self.source, self.plan, self.findings, out_root, self.progress)


def open_site(site_path: str | Path, out_root: Path, progress: Progress | None = None) -> SiteRun:
    """Load and lint; raise LintErrors (exit 2) when an error-severity finding blocks rendering."""
    site_plan = plan(load_site(site_path))
    findings = lint_site(site_plan)
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if errors:
        raise LintErrors(errors)
    return SiteRun(Path(site_path), site_plan, tuple(findings), out_root, progress or Progress.quiet())
