"""The lint's own semantics where a fixture would hide the reasoning: LVM filter matching and the
rule registry's completeness."""

from __future__ import annotations

from pathlib import Path

import pytest

from kickbake.lint import engine, rules
from kickbake.model.lvmfilter import filter_accepts, filter_or_none

LINT_DIR = Path(engine.__file__).parent


@pytest.mark.parametrize(
    ("entries", "device", "accepted"),
    [
        ((), "/dev/vdb", True),  # no filter: everything is accepted
        (("a|^/dev/drbd[0-9]+$|", "r|.*|"), "/dev/drbd0", True),
        (("a|^/dev/drbd[0-9]+$|", "r|.*|"), "/dev/vdb", False),
        (("r|.*|", "a|^/dev/drbd|"), "/dev/drbd0", False),  # the first match decides
        (("r|^/dev/vdb$|",), "/dev/vdc", True),  # matched by nothing: accepted
        (("a/drbd/", "r/.*/"), "/dev/drbd1", True),  # any delimiter
    ],
)
def test_filter_semantics(entries: tuple[str, ...], device: str, accepted: bool) -> None:
    assert filter_accepts(entries, device) is accepted


@pytest.mark.parametrize("entry", ["/dev/drbd0", "x|.*|", "a|unterminated", "a|[|", "aa.*a", "r||"])
def test_not_a_filter_pattern(entry: str) -> None:
    assert filter_or_none(entry) is None


def test_every_module_with_rules_is_registered() -> None:
    with_rules = {p.stem for p in LINT_DIR.glob("*.py") if "@rule(" in p.read_text()}
    assert with_rules == set(engine.RULE_MODULES)


def test_rule_ids_name_their_subsystem() -> None:
    prefixes = {"REL", "ID", "CL", "CMAN", "CS", "FEN", "DRBD", "LVM", "NOVA", "SUP", "NET", "FS"}
    for rule_id in rules():
        assert rule_id.rstrip("0123456789") in prefixes, rule_id
        assert len(rule_id) - len(rule_id.rstrip("0123456789")) == 3, rule_id
