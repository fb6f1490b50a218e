"""Benchmark: render + validate the kickstarts of a synthetic 1,000-node site in one process,
against running pykickstart's ksvalidator as a separate process per file (sampled, extrapolated).

Target (printed, not asserted): the 1,000 nodes in <= 5 s on 2 cores.
Run: .venv/bin/python bench/render_scale.py [--nodes 1000] [--sample 50]"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kickbake import commands  # noqa: E402
from kickbake.validate import kickstart as kickstart_validation  # noqa: E402

HASH = "$6$kickbakelab$BjuWqr57PYu7xbEJxVtgaGx8H8fmaxWDGdAIIMOAyeJkdpg0orXIQ.Yq9s/6lMdrn.5hbqVweXWMvNsGt9TJa1"


def synthetic_site(nodes: int, release: str = "el9") -> str:
    """`nodes` storage nodes in DRBD/cluster pairs, each pair with a shared VG, on two networks."""
    lines = [
        "site: scale",
        "domain: scale.example",
        f"release: {release}",
        "repos: [el9-baseos, el9-appstream, el9-highavailability, el9-resilientstorage, elrepo-el9]",
        f'root_password_hash: "{HASH}"',
        "networks:",
        "  - {name: mgmt, cidr: 10.10.0.0/16, gateway: 10.10.0.1, dns: [10.10.0.1]}",
        "  - {name: replication, cidr: 10.20.0.0/16, purpose: replication}",
        "roles:",
        "  storage: {}",
        "nodes:",
    ]
    clusters, drbd, vgs = ["clusters:"], ["drbd:"], ["volume_groups:"]
    for i in range(nodes):
        hi, lo = divmod(i + 10, 250)
        lines += [
            f"  - hostname: n{i:04d}",
            "    roles: [storage]",
            "    interfaces:",
            f'      - {{name: eth0, mac: "52:54:01:00:{hi:02x}:{lo:02x}", network: mgmt, address: 10.10.{hi}.{lo}}}',
            f'      - {{name: eth1, mac: "52:54:02:00:{hi:02x}:{lo:02x}", network: replication, '
            f"address: 10.20.{hi}.{lo}}}",
            "    disks: [{name: vda, use: root}, {name: vdb, use: drbd}]",
        ]
    for pair in range(nodes // 2):
        a, b = f"n{2 * pair:04d}", f"n{2 * pair + 1:04d}"
        clusters += [
            f"  - name: c{pair:04d}",
            "    stack: current",
            f"    members: [{a}, {b}]",
            "    network: replication",
            "    fencing: {mode: manual}",
        ]
        drbd += [
            f"  - name: r{pair:04d}",
            f"    members: [{a}, {b}]",
            "    disk: /dev/vdb",
            "    device: /dev/drbd0",
            "    network: replication",
            "    dual_primary: true",
            "    fence_peer_network: mgmt",
        ]
        vgs += [f"  - {{name: vg{pair:04d}, devices: [/dev/drbd0], shared: true, cluster: c{pair:04d}}}"]
    return "\n".join(lines + clusters + drbd + vgs) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "scale.yml"
        site.write_text(synthetic_site(args.nodes))
        kickstart_validation.PARALLEL_FROM = 10**9  # one process, one core
        start = time.perf_counter()
        commands.render_site(site, Path(tmp) / "serial")
        serial = time.perf_counter() - start
        kickstart_validation.PARALLEL_FROM = 64  # validation spread over the cores (the default)
        start = time.perf_counter()
        result = commands.render_site(site, Path(tmp) / "output")
        in_process = time.perf_counter() - start
        kickstarts = sorted((Path(tmp) / "output" / result.site / "kickstarts").glob("*.ks"))
        assert len(kickstarts) == args.nodes, len(kickstarts)
        sample = random.Random(0).sample(kickstarts, min(args.sample, len(kickstarts)))
        ksvalidator = Path(sys.executable).with_name("ksvalidator")
        start = time.perf_counter()
        for path in sample:
            subprocess.run([str(ksvalidator), "-v", "RHEL9", str(path)], check=True, capture_output=True)
        per_file = (time.perf_counter() - start) / len(sample)
    extrapolated = per_file * args.nodes
    print(f"nodes: {args.nodes}")
    print(
        f"load + lint + render + validate + write, one process on one core: {serial:.2f} s "
        f"({serial / args.nodes * 1000:.1f} ms/node)"
    )
    print(
        f"the same, validation over {os.cpu_count()} cores (default): {in_process:.2f} s "
        f"({in_process / args.nodes * 1000:.1f} ms/node; target <= 5 s)"
    )
    print(
        f"ksvalidator as a process: {per_file * 1000:.0f} ms/file (sample {len(sample)}) "
        f"-> {extrapolated:.1f} s for {args.nodes}"
    )
    print(
        f"ratio process/in-process: {extrapolated / serial:.1f}x (one core), {extrapolated / in_process:.1f}x (default)"
    )


if __name__ == "__main__":
    main()
