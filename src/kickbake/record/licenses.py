"""Declared license text -> SPDX expression (license-expression library), and the site's policy.

Fedora before 2022 and Debian's DEP-5 files use their own short names (GPLv2+, ASL 2.0, GPL-2+,
Expat); a small alias table maps the common ones. What still does not parse stays a LicenseRef
carrying the original text, so nothing is silently relabelled."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cache, lru_cache

from license_expression import (
    AND,
    OR,
    ExpressionError,
    LicenseExpression,
    Licensing,
    get_spdx_licensing,
)

from kickbake.errors import BadInput, Problem
from kickbake.record.packages import PackageRecord

# phrases first (they contain spaces), then single tokens
_PHRASES = {
    "ASL 2.0": "Apache-2.0", "ASL 1.1": "Apache-1.1", "Public Domain": "LicenseRef-Public-Domain",
    "GPL+ or Artistic": "GPL-1.0-or-later OR Artistic-1.0-Perl", "MPLv1.1": "MPL-1.1",
}
_TOKENS = {
    "GPLv2+": "GPL-2.0-or-later", "GPLv2": "GPL-2.0-only", "GPLv3+": "GPL-3.0-or-later", "GPLv3": "GPL-3.0-only",
    "GPL+": "GPL-1.0-or-later", "LGPLv2+": "LGPL-2.0-or-later", "LGPLv2": "LGPL-2.0-only",
    "LGPLv2.1+": "LGPL-2.1-or-later", "LGPLv3+": "LGPL-3.0-or-later", "LGPLv3": "LGPL-3.0-only",
    "MPLv2.0": "MPL-2.0", "AGPLv3": "AGPL-3.0-only", "AGPLv3+": "AGPL-3.0-or-later", "zlib": "Zlib",
    "GPL-1+": "GPL-1.0-or-later", "GPL-2": "GPL-2.0-only", "GPL-2+": "GPL-2.0-or-later", "GPL-3": "GPL-3.0-only",
    "GPL-3+": "GPL-3.0-or-later", "LGPL-2": "LGPL-2.0-only", "LGPL-2+": "LGPL-2.0-or-later",
    "LGPL-2.1": "LGPL-2.1-only", "LGPL-3": "LGPL-3.0-only", "LGPL-3+": "LGPL-3.0-or-later",
    "Expat": "MIT", "Artistic": "Artistic-1.0-Perl", "public-domain": "LicenseRef-Public-Domain",
    "BSD-2-clause": "BSD-2-Clause", "BSD-3-clause": "BSD-3-Clause", "BSD-4-clause": "BSD-4-Clause",
    "Apache-2": "Apache-2.0", "MPL-2": "MPL-2.0",
}
_TOKEN = re.compile(r"[A-Za-z0-9.+_-]+")
NOASSERTION = "NOASSERTION"


@cache
def _licensing() -> Licensing:
    return get_spdx_licensing()  # builds an index of every SPDX id: ~40 ms, so once


@lru_cache(maxsize=4096)
def parsed_expression(expression: str) -> LicenseExpression:
    """A concluded expression as a license-expression object (for the SPDX writer)."""
    parsed = _licensing().parse(expression, simple=False)
    if parsed is None:
        raise ValueError(f"empty license expression {expression!r}")
    return parsed


def license_ref(text: str) -> str:
    """A LicenseRef id for a declared text no SPDX id matches (the text itself goes with it)."""
    return "LicenseRef-" + (re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-") or "unknown")


@lru_cache(maxsize=4096)
def spdx_expression(declared: str) -> str | None:
    """The SPDX expression of a declared license, or None when it does not map."""
    text = declared.strip()
    if not text:
        return None
    for phrase, spdx in _PHRASES.items():
        text = text.replace(phrase, spdx)
    text = _TOKEN.sub(lambda m: _TOKENS.get(m.group(0), m.group(0)), text)
    try:
        parsed = _licensing().parse(text, simple=False)
    except ExpressionError:
        return None
    if parsed is None:
        return None
    unknown = [k for k in _licensing().unknown_license_keys(parsed) if not k.startswith("LicenseRef-")]
    if unknown:  # every key but the LicenseRefs introduced above must be an SPDX id
        return None
    return str(parsed.render())


def _top_level_and(text: str) -> list[str]:
    """Split 'A and (B or C) and D' at the ANDs outside parentheses."""
    parts, depth, start = [], 0, 0
    for match in re.finditer(r"[()]|\s+and\s+", text, re.IGNORECASE):
        token = match.group(0)
        depth += 1 if token == "(" else -1 if token == ")" else 0
        if depth == 0 and token not in "()":
            parts.append(text[start:match.start()])
            start = match.end()
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


@lru_cache(maxsize=4096)
def _conclude(declared: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """(expression, ((LicenseRef id, the text it stands for), ...)) for a declared license."""
    whole = spdx_expression(declared)
    if whole:
        return whole, tuple((ref, declared) for ref in re.findall(r"LicenseRef-[A-Za-z0-9.-]+", whole))
    parts = _top_level_and(declared)
    if len(parts) == 1:
        return license_ref(declared), ((license_ref(declared), declared),)
    # map what maps: 'BSD-variant and GPL-2' -> 'LicenseRef-BSD-variant AND GPL-2.0-only'
    mapped: list[str] = []
    refs: list[tuple[str, str]] = []
    for part in parts:
        expression, part_refs = _conclude(part)
        mapped.append(f"({expression})" if " " in expression else expression)
        refs.extend(part_refs)
    return " AND ".join(mapped), tuple(refs)


def concluded(record: PackageRecord) -> str:
    """What the SBOMs state: the SPDX expression, LicenseRefs for unmapped text, or NOASSERTION."""
    text = record.license.strip()
    return _conclude(text)[0] if text else NOASSERTION


def license_refs(records: list[PackageRecord]) -> dict[str, str]:
    """LicenseRef id -> the original declared text it stands for (the SBOMs carry the text)."""
    refs: dict[str, str] = {}
    for record in records:
        text = record.license.strip()
        for ref, original in _conclude(text)[1] if text else ():
            refs.setdefault(ref, original)
    return dict(sorted(refs.items()))


def _satisfiable(node: LicenseExpression, denied: frozenset[str]) -> bool:
    """Can the package be used without a denied license? AND needs all, OR needs one."""
    if isinstance(node, AND):
        return all(_satisfiable(arg, denied) for arg in node.args)
    if isinstance(node, OR):
        return any(_satisfiable(arg, denied) for arg in node.args)
    keys = {k.lower() for k in _licensing().license_keys(node)}
    return not keys & denied


@dataclass(frozen=True)
class Violation:
    package: str
    license: str
    denied: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.package}: license {self.license!r} needs denied {', '.join(self.denied)}"


def violations(records: list[PackageRecord], deny: tuple[str, ...]) -> list[Violation]:
    """Packages whose license cannot be satisfied without a license the site denies."""
    denied = frozenset(d.lower() for d in deny)
    found = []
    for record in records:
        expression = concluded(record)
        if expression == NOASSERTION:
            continue
        parsed = _licensing().parse(expression, simple=False)
        if parsed is not None and not _satisfiable(parsed, denied):
            hit = sorted(k for k in _licensing().license_keys(parsed) if k.lower() in denied)
            found.append(Violation(record.nevra, record.license, tuple(hit)))
    return sorted(found, key=str)


def summary(records: list[PackageRecord]) -> dict[str, int]:
    """How many packages carry each concluded license expression."""
    return dict(sorted(Counter(concluded(r) for r in records).items()))


def enforce(image: str, records: list[PackageRecord], deny: tuple[str, ...], source: str = "") -> None:
    """Raise BadInput (exit 2) naming every package whose license the policy denies."""
    found = violations(records, deny)
    if found:
        raise BadInput([Problem(source, 0, f"licenses.deny ({image})", str(v), "remove the package or the denial")
                        for v in found])
