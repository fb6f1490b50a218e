"""Benchmark: manifest + SPDX 2.3 + CycloneDX 1.6 (both validated) for a synthetic 1,000-package
record set. Target: <= 1 s. Prints seconds per stage; no assertion on timing.

    .venv/bin/python bench/record_scale.py [--packages N]"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from kickbake.record import cyclonedx, spdx
from kickbake.record.image import write_records
from kickbake.record.manifest import RecordContext, build_manifest
from kickbake.record.packages import PackageRecord

LICENSES = ["GPLv2+", "MIT", "ASL 2.0", "LGPLv2+ and GPLv3+", "BSD", "GPL-2+ or Artistic", "Vendor EULA", ""]


def synthetic_records(count: int) -> list[PackageRecord]:
    """Realistic-looking rpm records: varied versions, epochs, licenses, sources and digests."""
    return [
        PackageRecord(
            name=f"pkg{index:04d}-{'lib' if index % 3 else 'tool'}", arch="x86_64" if index % 4 else "noarch",
            version=f"{index % 17}.{index % 7}.{index % 5}", release=f"{index % 9 + 1}.fc43",
            epoch=1 if index % 11 == 0 else None, license=LICENSES[index % len(LICENSES)],
            source=f"pkg{index:04d}-{index % 17}.{index % 7}-1.fc43.src.rpm", digest=f"{index:032x}",
            signed_by="31645531",
        )
        for index in range(count)
    ]


def timed(label: str, body):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = body()
    print(f"{label:<28} {time.perf_counter() - start:6.3f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packages", type=int, default=1000)
    count = parser.parse_args().packages
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1700000000")
    records = synthetic_records(count)
    context = RecordContext(site="bench", image="bench", release="fedora-43", distro="fedora")
    with tempfile.TemporaryDirectory() as temporary:
        image = Path(temporary) / "bench.raw"
        image.write_bytes(b"\0" * (1 << 20))
        manifest = timed("manifest", lambda: build_manifest(records, context, image))
        document = timed("spdx: build document", lambda: spdx.build_document(manifest, records))
        timed("spdx: validate (spdx-tools)", lambda: spdx.validate_document(document))
        timed("spdx: json text", lambda: spdx.spdx_json(manifest, records))
        timed("cyclonedx: build + validate", lambda: cyclonedx.cyclonedx_json(manifest, records))
        rounds = []
        for _ in range(3):  # the machine is shared: report the best of three whole runs
            start = time.perf_counter()
            write_records(records, context, image, Path(temporary))
            rounds.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{count} packages: manifest + SPDX + CycloneDX, validated and written: best {min(rounds):.3f} s, "
          f"worst {max(rounds):.3f} s of 3 (target <= 1 s; load average {os.getloadavg()[0]:.1f}); "
          f"peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
