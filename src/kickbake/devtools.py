"""`./kb test`: install the real tools the tests use (as root, from Debian), then lint, type-check
and run the whole suite. Nothing here hides a failure: the exit code is the worst of the steps."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from kickbake.paths import PROJECT_ROOT

# command the tests run -> Debian package that provides it
SYSTEM_TOOLS: dict[str, str] = {
    # records (issue 5): real rpm/dnf/createrepo_c fixture repos, libsolv, dpkg tools
    "rpm": "rpm",
    "rpmbuild": "rpm",
    "createrepo_c": "createrepo-c",
    "dnf": "dnf",
    "/usr/lib/python3/dist-packages/dnf/__init__.py": "python3-dnf",
    "/usr/lib/python3/dist-packages/solv.py": "python3-solv",
    "dpkg": "dpkg",
    "dpkg-scanpackages": "dpkg-dev",
    "debootstrap": "debootstrap",
    "gpgv": "gpgv",
    "gpg": "gpg",
    "rpmsign": "rpm",
    # image build (diskimage-builder itself comes from PyPI via pyproject.toml)
    "qemu-img": "qemu-utils",
    "mksquashfs": "squashfs-tools",
    "kpartx": "kpartx",
    "sgdisk": "gdisk",
    "mkfs.vfat": "dosfstools",
    "sudo": "sudo",
    # image boot tests (qemu-system-x86_64: see PXE below) and the first-boot agent's guards
    "debugfs": "e2fsprogs",
    "wipefs": "util-linux",
    "drbdmeta": "drbd-utils",
    # the controller's first-boot Nova bootstrap against a real MariaDB (server binaries only:
    # mariadb-server would start a server on this host)
    "mariadbd": "mariadb-server-core",
    "mariadb-install-db": "mariadb-server-core",
    "mysql": "mariadb-client-core",
    # PXE (issue 6): config checks, live DHCP/TFTP in a network namespace, the qemu network boot
    "dnsmasq": "dnsmasq-base",
    "nginx": "nginx",
    "curl": "curl",
    "ip": "iproute2",
    "unshare": "util-linux",
    "nsenter": "util-linux",
    "qemu-system-x86_64": "qemu-system-x86",
    "/usr/lib/ipxe/qemu/pxe-virtio.rom": "ipxe-qemu",
    "/usr/share/ovmf/OVMF.fd": "ovmf",
    "/usr/lib/PXELINUX/pxelinux.0": "pxelinux",
    "/usr/lib/syslinux/modules/bios/ldlinux.c32": "syslinux-common",
    "/usr/lib/ipxe/ipxe.efi": "ipxe",
    "/usr/lib/grub/x86_64-efi/monolithic/grubnetx64.efi": "grub-efi-amd64-bin",
    "/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64/linux": "debian-installer-12-netboot-amd64",
    # cluster configs (issue 3): each rendered file checked by the program that reads it
    "drbdadm": "drbd-utils",  # drbdadm dump per node (8.3/8.4/9 parsers)
    "corosync": "corosync",  # corosync -c FILE -t
    "crm_verify": "pacemaker-cli-utils",  # crm_verify --xml-file
    # the CIB's agents against their metadata (issue 14): crm_resource --show-metadata, stonith_admin --metadata
    "crm_resource": "pacemaker-cli-utils",
    "stonith_admin": "pacemaker-cli-utils",
    "/usr/lib/ocf/resource.d/heartbeat/LVM-activate": "resource-agents",
    "/usr/lib/ocf/resource.d/pacemaker/controld": "pacemaker-resource-agents",
    "fence_ipmilan": "fence-agents",
    "pcs": "pcs",  # pcs cluster setup ... --corosync_conf FILE (offline) beside the rendered corosync.conf
    "lvmconfig": "lvm2",  # lvmconfig --validate
    "shellcheck": "shellcheck",  # the element scripts (tests/unit/test_elements.py)
    # OpenStack configs (issue 15): oslo-config-validator against the Debian 12 services' own options
    "oslo-config-validator": "python3-oslo.config",
    "/usr/lib/python3/dist-packages/keystone/__init__.py": "python3-keystone",
    "/usr/lib/python3/dist-packages/glance/__init__.py": "python3-glance",
    "/usr/lib/python3/dist-packages/placement/__init__.py": "python3-placement",
    "/usr/lib/python3/dist-packages/nova/__init__.py": "python3-nova",
    "mkfs.gfs2": "gfs2-utils",  # the first-boot mkfs guard on a file (Nova's instances_path on GFS2)
}


# what ./kb demo needs to lock and bake the lab-debian image and to fill the PXE trees
DEMO_TOOLS: dict[str, str] = {cmd: SYSTEM_TOOLS[cmd] for cmd in (
    "/usr/lib/python3/dist-packages/solv.py", "debootstrap", "gpgv", "qemu-img", "mksquashfs", "kpartx", "sgdisk",
    "mkfs.vfat", "sudo", "/usr/lib/PXELINUX/pxelinux.0", "/usr/lib/syslinux/modules/bios/ldlinux.c32",
    "/usr/lib/ipxe/ipxe.efi", "/usr/lib/grub/x86_64-efi/monolithic/grubnetx64.efi")}


def missing_tools(tools: dict[str, str] = SYSTEM_TOOLS) -> dict[str, str]:
    return {cmd: pkg for cmd, pkg in tools.items() if shutil.which(cmd) is None and not Path(cmd).exists()}


def install_system_tools(tools: dict[str, str] = SYSTEM_TOOLS, who: str = "kb test") -> list[str]:
    """apt-get install what is missing, when we are root on Debian; say so when we cannot.
    Returns the packages still missing."""
    missing = missing_tools(tools)
    if not missing:
        return []
    packages = sorted(set(missing.values()))
    if os.geteuid() != 0 or not Path("/etc/debian_version").exists():
        print(f"{who}: not root on Debian, not installing {', '.join(packages)}", file=sys.stderr)
        return packages
    print(f"{who}: apt-get install {' '.join(packages)}", file=sys.stderr, flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], check=True, env=env)
    return sorted(set(missing_tools(tools).values()))


def run_tests(select: str = "", fast: bool = False) -> int:
    if install_system_tools():
        print("kb test: tests that need them are skipped with that reason", file=sys.stderr)
    python = sys.executable
    steps = [
        [python, "-m", "ruff", "check", "src", "tests", "tasks.py", "bench"],
        [python, "-m", "mypy", "src"],  # strict (pyproject.toml), the 2.7 agent exempt by module
        [python, "-m", "mypy", "tests"],  # checked, not required to annotate every helper
        [python, "-m", "pytest", "-q", *(["-k", select] if select else []), *(["-m", "not slow"] if fast else [])],
    ]
    worst = 0
    for argv in steps:
        print(f"kb test: {' '.join(argv[2:])}", file=sys.stderr, flush=True)
        worst = max(worst, subprocess.run(argv, cwd=PROJECT_ROOT).returncode)
    return worst
