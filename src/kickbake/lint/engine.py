"""The rule registry and runner."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from kickbake.errors import BadInput, Problem
from kickbake.model.plan import SitePlan

Loc = tuple[str | int, ...]
RuleResult = Iterable[tuple[Loc, str, str]]  # (where in the inventory, what is wrong, what to change)
RULE_MODULES = (
    "release", "identity", "cluster", "cman", "corosync", "fencing", "drbd", "drbd_layout", "lvm", "lvm_volumes",
    "openstack", "supply", "network", "sharedfs",
)


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str
    check: Callable[[SitePlan], RuleResult]


@dataclass(frozen=True, order=True)
class Finding:
    file: str
    line: int
    rule: str
    severity: Severity
    field: str
    message: str
    hint: str

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}: {self.rule} {self.severity.value}: {self.field}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text

    def as_dict(self) -> dict[str, object]:
        return {k: (v.value if isinstance(v, Severity) else v) for k, v in self.__dict__.items()}


_RULES: dict[str, Rule] = {}


def rule(rule_id: str, severity: Severity, title: str) -> Callable[[Callable[[SitePlan], RuleResult]], Rule]:
    def register(check: Callable[[SitePlan], RuleResult]) -> Rule:
        if rule_id in _RULES:
            raise ValueError(f"rule {rule_id} registered twice")
        _RULES[rule_id] = Rule(rule_id, severity, title, check)
        return _RULES[rule_id]

    return register


def rules() -> dict[str, Rule]:
    for module in RULE_MODULES:
        importlib.import_module(f"kickbake.lint.{module}")
    return dict(sorted(_RULES.items()))


def lint_site(plan: SitePlan) -> list[Finding]:
    findings = []
    for registered in rules().values():
        for loc, message, hint in registered.check(plan):
            problem = plan.inventory.problem(loc, message, hint)
            findings.append(
                Finding(problem.file, problem.line, registered.id, registered.severity, problem.field, message, hint)
            )
    return sorted(set(findings))


class LintErrors(BadInput):
    """Error findings that block rendering; printed one `FILE:LINE: RULE error: field: message
    (hint: ...)` line each, exit 2 like every other bad input."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__([Problem(f.file, f.line, f.field, f"{f.rule}: {f.message}", f.hint) for f in findings])
        self.findings = sorted(findings)
        self.message = "\n".join(str(f) for f in self.findings)
