"""The real network boot (BIOS, and UEFI with OVMF): qemu's iPXE ROM gets pxelinux.0 from qemu's
built-in TFTP server (the generated output/<site>/pxe tree, no host network), pxelinux picks
pxelinux.cfg/01-<mac> for the VM's MAC and starts the kernel + initrd named there. The kernel's own
"Command line:" on the serial console must be that node's line. Under UEFI, grubnetx64.efi reads
grub/grub.cfg, which hands the MAC to grub/grub.cfg-01-<mac>. The kernel and initrd are Debian's
netboot installer, put where an operator puts the release's installer (output/installers/<release>/)
or where the image build puts a baked image's kernel (output/<site>/images/<image>.vmlinuz), so the
render links them itself."""

from __future__ import annotations

import io
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from kickbake.commands import render_site
from kickbake.serve import make_server
from tests.conftest import SITES, require_tool

NETBOOT = Path("/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64")
BOOT_TIMEOUT = 300  # seconds; measured ~35 s to the kernel command line under TCG here


def _netboot_files() -> tuple[Path, Path]:
    kernel, initrd = NETBOOT / "linux", NETBOOT / "initrd.gz"
    if not (kernel.is_file() and initrd.is_file()):
        pytest.skip("debian-installer-12-netboot-amd64 is not installed (./kb test installs it as root)")
    return kernel, initrd


def _place(kernel: Path, initrd: Path, kernel_target: Path, initrd_target: Path) -> None:
    kernel_target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(kernel, kernel_target)
    shutil.copyfile(initrd, initrd_target)


OVMF = Path("/usr/share/ovmf/OVMF.fd")


def boot_until_command_line(tftp: Path, mac: str, serial: Path, uefi: bool = False,
                            netdev: str = "") -> tuple[str, float]:
    """PXE boot a VM with `mac` (BIOS -> pxelinux, or UEFI -> GRUB; or the given -netdev); return
    the kernel's command line and the seconds it took."""
    firmware = ["-bios", str(OVMF)] if uefi else []
    bootfile = "grubnetx64.efi" if uefi else "pxelinux.0"
    argv = [
        "timeout", str(BOOT_TIMEOUT), "qemu-system-x86_64", "-accel", "tcg", "-m", "1024", *firmware,
        "-display", "none", "-monitor", "none", "-no-reboot",
        "-netdev", netdev or f"user,id=n0,restrict=on,tftp={tftp},bootfile={bootfile}",
        "-device", f"virtio-net-pci,netdev=n0,mac={mac}", "-boot", "n",
        "-serial", f"file:{serial}",
    ]
    start = time.monotonic()
    vm = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while vm.poll() is None:
            text = serial.read_text(errors="replace") if serial.exists() else ""
            line = next((x for x in text.splitlines() if "Command line:" in x), None)
            if line is not None:
                return line.split("Command line:", 1)[1].strip(), time.monotonic() - start
            time.sleep(1)
        stderr = vm.stderr.read().decode() if vm.stderr else ""
        tail = serial.read_text(errors="replace")[-2000:] if serial.exists() else ""
        pytest.fail(f"qemu exited (rc {vm.returncode}) before the kernel started\n{stderr}\n{tail}")
    finally:
        vm.terminate()  # stop exactly the VM this test started
        vm.wait(timeout=30)
    raise AssertionError("unreachable")


CASES = {
    # site, node, mac, what must be on its command line; "-uefi" cases boot OVMF -> grubnetx64.efi
    "el9-installer": ("lab-el9", "drbd-node1", "52:54:00:00:01:21",
                      ["inst.ks=http://192.168.122.1/lab-el9/kickstarts/drbd-node1.ks", "BOOTIF=01-52-54-00-00-01-21"]),
    "el9-installer-uefi": ("lab-el9", "drbd-node2", "52:54:00:00:01:22",
                           ["inst.ks=http://192.168.122.1/lab-el9/kickstarts/drbd-node2.ks",
                            "BOOTIF=01-52-54-00-00-01-22"]),
    "debian-image": ("lab-debian", "drbd-node2", "52:54:00:00:01:32",
                     ["kickbake.node=drbd-node2", "root=LABEL=cloudimg-rootfs", "BOOTIF=01-52-54-00-00-01-32"]),
}


@pytest.mark.slow
@pytest.mark.realtool
@pytest.mark.parametrize("case", sorted(CASES))
def test_qemu_pxe_boots_the_node_with_its_command_line(tmp_path: Path, case: str) -> None:
    require_tool("qemu-system-x86_64")
    kernel, initrd = _netboot_files()
    site, node, mac, expected = CASES[case]
    out_root = tmp_path / "output"
    if site == "lab-el9":
        _place(kernel, initrd, out_root / "installers/el9/vmlinuz", out_root / "installers/el9/initrd.img")
    else:  # a first render makes output/<site>/; the image build writes into its images/
        render_site(SITES / f"{site}.yml", out_root)
        images = out_root / site / "images"
        _place(kernel, initrd, images / "storage-node.vmlinuz", images / "storage-node.initrd")
    result = render_site(SITES / f"{site}.yml", out_root)
    tftp = out_root / site / "pxe"
    uefi = case.endswith("-uefi")
    if uefi and not OVMF.is_file():
        pytest.skip("ovmf is not installed (./kb test installs it as root)")
    for loader in ("grubnetx64.efi",) if uefi else ("pxelinux.0", "ldlinux.c32"):
        if not (tftp / loader).is_file():
            pytest.skip(f"{loader} missing: {result.notes}")
    command_line, seconds = boot_until_command_line(tftp, mac, tmp_path / "serial.log", uefi)
    print(f"\n{case}: kernel started with the node's command line after {seconds:.0f} s (TCG)")
    args = command_line.split()
    for argument in expected:
        assert argument in args, command_line
    others = [c for k, c in CASES.items() if c[1] != node or c[0] != site]
    assert not any(arg in args for _, _, _, exp in others for arg in exp[:1]), command_line


@pytest.mark.slow
@pytest.mark.realtool
def test_qemu_ipxe_runs_the_generated_scripts_over_http_from_kb_serve(tmp_path: Path) -> None:
    """qemu's own iPXE ROM fetches ipxe/boot.ipxe (the file dnsmasq hands to iPXE clients) by
    TFTP; it matches the VM's MAC and chains drbd-node1.ipxe over HTTP, which loads the kernel and
    initrd over HTTP: all from `./kb serve`'s server. The VM's user network puts the host at the
    site's pxe.server address (192.168.122.1), so the site only moves its HTTP port to the
    server's free port; restrict=on is off because it would also block that host address
    (slirp's guestfwd, which works with it, moved 8 MB in over 4 minutes under TCG: measured)."""
    require_tool("qemu-system-x86_64")
    kernel, initrd = _netboot_files()
    out_root = tmp_path / "output"
    _place(kernel, initrd, out_root / "installers/el9/vmlinuz", out_root / "installers/el9/initrd.img")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    site = tmp_path / "lab-el9.yml"
    text = (SITES / "lab-el9.yml").read_text()
    assert "  server: 192.168.122.1\n" in text
    site.write_text(text.replace("  server: 192.168.122.1\n", f"  server: 192.168.122.1\n  http_port: {port}\n"))
    render_site(site, out_root)
    log = io.StringIO()
    httpd = make_server(out_root, "lab-el9", "127.0.0.1", port, log_stream=log)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        netdev = ("user,id=n0,net=192.168.122.0/24,host=192.168.122.1,dhcpstart=192.168.122.50,"
                  f"tftp={out_root / 'lab-el9' / 'pxe'},bootfile=ipxe/boot.ipxe")
        command_line, seconds = boot_until_command_line(out_root / "lab-el9" / "pxe", "52:54:00:00:01:21",
                                                        tmp_path / "serial.log", netdev=netdev)
    finally:
        httpd.shutdown()
        httpd.server_close()
    print(f"\nipxe: kernel started with drbd-node1's command line after {seconds:.0f} s (TCG)")
    args = command_line.split()
    assert f"inst.ks=http://192.168.122.1:{port}/lab-el9/kickstarts/drbd-node1.ks" in args, command_line
    assert "BOOTIF=01-52-54-00-00-01-21" in args, command_line
    fetched = [line.split('"')[1] for line in log.getvalue().splitlines() if '"GET ' in line]
    assert fetched[:3] == ["GET /lab-el9/pxe/ipxe/drbd-node1.ipxe HTTP/1.1",
                           "GET /lab-el9/pxe/images/el9/vmlinuz HTTP/1.1",
                           "GET /lab-el9/pxe/images/el9/initrd.img HTTP/1.1"], log.getvalue()


# A boot sector that writes a marker straight to COM1 (I/O port 0x3f8) and halts: proof that the
# firmware went on to the local disk. xor ax,ax; mov ds,ax; mov si,msg; mov dx,0x3f8;
# next: lodsb; test al,al; jz stop; out dx,al; jmp next; stop: cli; hlt; jmp stop; msg: ...
LOCAL_MARKER = b"KICKBAKE-LOCAL-DISK-BOOTED"
BOOT_SECTOR = (bytes.fromhex("31c08ed8be167cbaf803ac84c07403eeebf8faf4ebfc") + LOCAL_MARKER + b"\r\n\0")


def local_disk(path: Path) -> Path:
    sector = BOOT_SECTOR.ljust(510, b"\0") + b"\x55\xaa"
    path.write_bytes(sector + bytes(1 << 20))
    return path


@pytest.mark.slow
@pytest.mark.realtool
@pytest.mark.parametrize("client", ["bios", "ipxe"])
def test_a_node_set_to_local_boots_its_disk_over_pxe(tmp_path: Path, client: str) -> None:
    """After its install report a node's entries boot its disk: pxelinux's LOCALBOOT 0 (BIOS) and
    the iPXE script's exit hand back to the firmware, which boots the next device, the disk."""
    require_tool("qemu-system-x86_64")
    out_root = tmp_path / "output"
    render_site(SITES / "lab-el9.yml", out_root, netboot={"drbd-node1": "local"})
    tftp = out_root / "lab-el9" / "pxe"
    entry = (tftp / "pxelinux.cfg" / "01-52-54-00-00-01-21").read_text()
    assert "LOCALBOOT 0" in entry and "KERNEL" not in entry
    script = (tftp / "ipxe" / "drbd-node1.ipxe").read_text().splitlines()
    assert "exit" in script and not any(line.startswith(("kernel", "boot")) for line in script)
    bootfile = "pxelinux.0" if client == "bios" else "ipxe/drbd-node1.ipxe"
    if not (tftp / "pxelinux.0").is_file():
        pytest.skip("pxelinux is not installed (./kb test installs it as root)")
    serial = tmp_path / "serial.log"
    argv = ["timeout", str(BOOT_TIMEOUT), "qemu-system-x86_64", "-accel", "tcg", "-m", "512", "-display", "none",
            "-monitor", "none", "-no-reboot", "-netdev", f"user,id=n0,restrict=on,tftp={tftp},bootfile={bootfile}",
            "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:00:01:21,bootindex=1",
            "-drive", f"file={local_disk(tmp_path / 'disk.raw')},format=raw,if=none,id=d0",
            "-device", "virtio-blk-pci,drive=d0,bootindex=2", "-serial", f"file:{serial}"]
    start = time.monotonic()
    vm = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while vm.poll() is None and LOCAL_MARKER not in (serial.read_bytes() if serial.exists() else b""):
            time.sleep(1)
    finally:
        vm.terminate()
        vm.wait(timeout=30)
    console = serial.read_bytes() if serial.exists() else b""
    assert LOCAL_MARKER in console, console[-2000:]
    print(f"\n{client}: netboot local -> the local disk's boot sector ran after {time.monotonic() - start:.0f} s")
