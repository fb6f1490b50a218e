"""Cluster lint: rules over the whole site, run before anything is rendered.

Each rule has an id, a severity (an error blocks rendering, a warning does not), and yields
findings that name the inventory file:line and say what to change. Rules live one module per
subsystem and register themselves with @rule."""

from __future__ import annotations

from kickbake.lint.engine import Finding, LintErrors, Severity, lint_site, rule, rules

__all__ = ["Finding", "LintErrors", "Severity", "lint_site", "rule", "rules"]
