"""SOURCE_DATE_EPOCH for a build, derived from what decides its packages, so two builds of the
same inputs stamp the same times and every image sharing a package layer shares one date.

The rule (docs/reproducible.md): sha256 over the release name and the lock's pins for the image
(one `name=version` per line, as the build installs them; an unlocked build has none), its first
24 bits taken as seconds after EPOCH_FLOOR (2023-01-01T00:00:00Z). The date thus lies in
[2023-01-01, 2023-07-15): never in the future, and the same for a rebuild from the host's mirror
or from `./kb mirror`'s snapshot of the same lock. Elements, payload and configuration are left
out on purpose: a configuration change rebuilds from the cached layer, whose files were clamped
with this date, and must not need another."""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kickbake.build.spec import BuildSpec

EPOCH_FLOOR = 1672531200  # 2023-01-01T00:00:00Z
SPAN_BITS = 24  # 2**24 s = 194 days


def source_date_epoch(release: str, pins: tuple[str, ...]) -> int:
    text = "\n".join(("kickbake-source-date/1", release, *pins))
    return EPOCH_FLOOR + int(hashlib.sha256(text.encode()).hexdigest()[: SPAN_BITS // 4], 16)


def as_utc(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def reproducible_env(spec: BuildSpec) -> dict[str, str]:
    """What ./kb build adds to the build's environment: SOURCE_DATE_EPOCH (kickbake-record clamps
    mtimes to it; mkinitramfs, useradd and py_compile in the chroot read it)."""
    return {"SOURCE_DATE_EPOCH": str(source_date_epoch(spec.release, spec.lock.pins if spec.lock else ()))}
