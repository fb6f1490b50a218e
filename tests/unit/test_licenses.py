"""Declared license text -> SPDX expression, LicenseRefs for the rest, and the deny policy."""

from __future__ import annotations

import pytest

from kickbake.errors import BadInput
from kickbake.record.licenses import concluded, enforce, license_refs, spdx_expression, violations
from kickbake.record.packages import PackageRecord

CASES = [
    ("GPLv2+", "GPL-2.0-or-later"),  # Fedora before 2022
    ("ASL 2.0", "Apache-2.0"),
    ("GPLv2+ and LGPLv2+ and MIT", "GPL-2.0-or-later AND LGPL-2.0-or-later AND MIT"),
    ("GPL-2+ or Artistic", "GPL-2.0-or-later OR Artistic-1.0-Perl"),  # Debian DEP-5 short names
    ("Expat", "MIT"),
    ("BSD-3-clause", "BSD-3-Clause"),
    ("LGPL-2.1+", "LGPL-2.1-or-later"),
    ("Apache-2.0 WITH LLVM-exception", "Apache-2.0 WITH LLVM-exception"),  # already SPDX
    ("MIT", "MIT"),
]


@pytest.mark.parametrize(("declared", "expected"), CASES)
def test_declared_licenses_map_to_spdx(declared: str, expected: str) -> None:
    assert spdx_expression(declared) == expected


def _pkg(name: str, license_text: str) -> PackageRecord:
    return PackageRecord(name, "noarch", "1", "1", license=license_text)


def test_unmapped_parts_become_license_refs_with_their_text() -> None:
    record = _pkg("a", "BSD-variant and GPL-2")
    assert concluded(record) == "LicenseRef-BSD-variant AND GPL-2.0-only"
    assert license_refs([record]) == {"LicenseRef-BSD-variant": "BSD-variant"}
    assert concluded(_pkg("b", "")) == "NOASSERTION"
    assert concluded(_pkg("c", "Some Vendor EULA")) == "LicenseRef-Some-Vendor-EULA"


def test_policy_honours_or_and_and() -> None:
    records = [_pkg("only-gpl3", "GPLv3+"), _pkg("either", "GPLv3+ or MIT"), _pkg("both", "GPLv3+ and MIT")]
    found = violations(records, ("GPL-3.0-or-later",))
    assert [v.package for v in found] == ["both-1-1.noarch", "only-gpl3-1-1.noarch"]


def test_enforce_exits_2_naming_package_and_license() -> None:
    with pytest.raises(BadInput) as caught:
        enforce("img", [_pkg("tool", "AGPLv3")], ("AGPL-3.0-only",), "sites/x.yml")
    assert caught.value.exit_code == 2
    assert "tool-1-1.noarch: license 'AGPLv3' needs denied AGPL-3.0-only" in str(caught.value)
    enforce("img", [_pkg("tool", "MIT")], ("AGPL-3.0-only",))  # allowed: no error
