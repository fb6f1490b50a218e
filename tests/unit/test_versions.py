"""rpm and dpkg version order: our ports against the real tools as the oracle."""

from __future__ import annotations

import random
import subprocess

import pytest

from kickbake.record.packages import PackageRecord, split_deb_version
from kickbake.record.versions import compare_records, dpkg_verrevcmp, rpmvercmp
from tests.conftest import require_tool

pytestmark = pytest.mark.realtool

HAND_PICKED = [
    ("1.0", "1.0"), ("1.0", "1.1"), ("1.0.1", "1.0"), ("1.0a", "1.0"), ("1.0", "1.0~rc1"), ("1.0~rc1", "1.0~rc2"),
    ("1.0^", "1.0"), ("1.0^git1", "1.0^git2"), ("1.0^git1", "1.01"), ("1.0~rc1^git1", "1.0~rc1"), ("2.0", "10"),
    ("1.001", "1.1"), ("1.0-1", "1.0.1"), ("a", "1"), ("1.a", "1.1"), ("1_0", "1.0"), ("5.5p1", "5.5p10"),
    ("fc4", "fc.4"), ("10b2", "10a1"), ("1+", "1"), ("", "0"), ("1.0.0", "1.0"), ("2.36", "2.36+deb12u4"),
    ("9+deb12u4", "9+deb12u10"), ("1.2.13.dfsg", "1.2.13"), ("0~20230101", "0"), ("1:1", "1"), ("abc", "ABC"),
]


def _random_versions(count: int) -> list[tuple[str, str]]:
    pieces = ["0", "1", "2", "10", "01", "a", "b", "rc", "~", "^", ".", "+", "_", "git", "9", "1", "2", ".", "3"]
    rng = random.Random(20261123)
    make = lambda: "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6))).strip("-")  # noqa: E731
    return [(make() or "0", make() or "0") for _ in range(count)]


def _rpm_oracle(pairs: list[tuple[str, str]]) -> list[int]:
    lua = "".join(f'print(rpm.vercmp("{a}", "{b}")) print("\\n") ' for a, b in pairs)
    out = subprocess.run(["rpm", "--eval", f"%{{lua: {lua}}}"], capture_output=True, text=True, check=True).stdout
    return [int(line) for line in out.split()]


def test_rpmvercmp_matches_rpm() -> None:
    require_tool("rpm")
    # rpm.vercmp parses [epoch:]version[-release]: feed it plain version strings only
    pairs = [(a, b) for a, b in HAND_PICKED + _random_versions(300) if a and b and not set(a + b) & set(":-")]
    expected = _rpm_oracle(pairs)
    assert len(expected) == len(pairs)
    mismatches = [(a, b, e, rpmvercmp(a, b)) for (a, b), e in zip(pairs, expected, strict=True) if rpmvercmp(a, b) != e]
    assert mismatches == []


def _dpkg_says(a: str, b: str) -> int:
    for op, result in (("lt", -1), ("eq", 0)):
        if subprocess.run(["dpkg", "--compare-versions", a, op, b]).returncode == 0:
            return result
    return 1


def _valid_deb(version: str) -> bool:
    return version[:1].isdigit() and all(c.isalnum() or c in ".+~" for c in version)  # dpkg's rules


def test_dpkg_order_matches_dpkg() -> None:
    require_tool("dpkg")
    pairs = [(a, b) for a, b in HAND_PICKED + _random_versions(400) if _valid_deb(a) and _valid_deb(b)]
    assert len(pairs) > 40
    mismatches = [(a, b) for a, b in pairs if _sign(dpkg_verrevcmp(a, b)) != _dpkg_says(a, b)]
    assert mismatches == []


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)


@pytest.mark.parametrize(("a", "b"), [("1:2.36-9", "2:1.0-1"), ("2.36-9+deb12u4", "2.36-9+deb12u10"),
                                       ("1.0~rc1-1", "1.0-1"), ("1.2-1", "1.2-1"), ("7.88.1-10", "7.88.1-9")])
def test_full_debian_versions_match_dpkg(a: str, b: str) -> None:
    require_tool("dpkg")
    records = [PackageRecord("p", "amd64", *split_deb_version(v)[1:], epoch=split_deb_version(v)[0], kind="deb")
               for v in (a, b)]
    assert _sign(compare_records(*records)) == _dpkg_says(a, b)
