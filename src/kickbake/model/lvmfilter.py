"""lvm.conf devices/filter and global_filter patterns: the one parser the linter and the lvm.conf
validator share.

lvm.conf(5): a pattern is `a` (accept) or `r` (reject), a delimiter, a regular expression and
the delimiter again: `a|^/dev/drbd.*|`, `r/.*/`. The regex may not be empty (`r||` is no pattern).
For a device, the first pattern whose regex matches decides; a device none matches is accepted."""

from __future__ import annotations

import re
from dataclasses import dataclass


class NotAFilter(ValueError):
    """The entry is not an lvm.conf filter pattern; `regex_error` when only its regex is bad."""

    def __init__(self, entry: str, regex_error: re.error | None = None) -> None:
        super().__init__(f"{entry!r} is not an lvm.conf filter pattern")
        self.entry = entry
        self.regex_error = regex_error


@dataclass(frozen=True)
class FilterPattern:
    action: str  # "a" (accept) or "r" (reject)
    regex: re.Pattern[str]


def parse_filter(entry: str) -> FilterPattern:
    """`a|^/dev/drbd.*|` -> accept ^/dev/drbd.*; raises NotAFilter."""
    if len(entry) < 4 or entry[0] not in "ar":
        raise NotAFilter(entry)
    delimiter = entry[1]
    if delimiter.isalnum() or not entry.endswith(delimiter):
        raise NotAFilter(entry)
    try:
        return FilterPattern(entry[0], re.compile(entry[2:-1]))
    except re.error as error:
        raise NotAFilter(entry, error) from None


def filter_or_none(entry: str) -> FilterPattern | None:
    try:
        return parse_filter(entry)
    except NotAFilter:
        return None


def filter_accepts(entries: tuple[str, ...], device: str) -> bool:
    """LVM semantics: the first pattern that matches decides; a device no pattern matches is accepted
    (an entry that is no pattern matches nothing here; the linter and the validator report it)."""
    for entry in entries:
        pattern = filter_or_none(entry)
        if pattern is not None and pattern.regex.search(device):
            return pattern.action == "a"
    return True
