"""One source for each fact: where two parts of kickbake read or write the same thing, they go
through one function, and these tests fail when a second copy (that could disagree) comes back."""

from __future__ import annotations

import pytest

from kickbake.model.lvmfilter import filter_or_none
from kickbake.validate.lvmconf import filter_problems, parse_lvm_conf

FILTER_ENTRIES = ["a|^/dev/drbd.*|", "r|.*|", "a/drbd/", "r#^/dev/vdb$#", "r||", "a//", "x|.*|", "a|unterminated",
                  "a|[|", "aa.*a", "/dev/drbd0", "r|", "ab", ""]


@pytest.mark.parametrize("entry", FILTER_ENTRIES)
def test_the_linter_and_the_lvm_conf_validator_agree_on_every_filter_entry(entry: str) -> None:
    conf = parse_lvm_conf(f'devices {{\n    filter = [ "{entry}" ]\n    global_filter = [ "{entry}" ]\n}}\n')
    problems = filter_problems(conf)
    if filter_or_none(entry) is None:
        assert len(problems) == 2, problems  # one per key
    else:
        assert problems == []


def test_an_empty_regex_is_no_filter_pattern() -> None:
    """lvm.conf(5) writes a pattern as [ar]<sep><regex><sep>; the validator used to pass r|| that
    the linter (LVM006) refused."""
    conf = parse_lvm_conf('devices {\n    filter = [ "r||" ]\n}\n')
    assert filter_problems(conf) == ["devices/filter: 'r||' is not `a|regex|` or `r|regex|`"]
    bad_regex = parse_lvm_conf('devices {\n    filter = [ "a|[|" ]\n}\n')
    assert filter_problems(bad_regex)[0].startswith("devices/filter: 'a|[|': bad regex (")
