"""Boot kickbake images under qemu for the proof tests.

Direct kernel boot of the `baremetal` layout (filesystem image + vmlinuz + initrd): this host has
no device-mapper, so DIB cannot write a partitioned disk here. TCG only (`-accel tcg`): /dev/kvm
cannot run a stock kernel on this machine. Every run is bounded by `timeout`; results are judged
from marker lines the agent (KICKBAKE ...) and the injected test probe (PROBE ...) write on the
second serial port, never from timing."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

PROBE_DIR = Path(__file__).parent / "probe"
ROOT_LABEL = "cloudimg-rootfs"


def system_disk(image_qcow2: Path, target: Path) -> Path:
    """A fresh raw copy of the image with the test probe injected by debugfs (no mount needed)."""
    subprocess.run(["qemu-img", "convert", "-O", "raw", str(image_qcow2), str(target)], check=True)
    return inject_probe(target)


def inject_probe(target: Path) -> Path:
    """Put the test probe and its enabled unit into the ext4 file system in `target`."""
    commands = target.with_suffix(".debugfs")
    commands.write_text(
        f"write {PROBE_DIR / 'kickbake-probe'} /usr/local/sbin/kickbake-probe\n"
        "sif /usr/local/sbin/kickbake-probe mode 0100755\n"
        f"write {PROBE_DIR / 'kickbake-probe.service'} /etc/systemd/system/kickbake-probe.service\n"
        "symlink /etc/systemd/system/multi-user.target.wants/kickbake-probe.service "
        "/etc/systemd/system/kickbake-probe.service\n"
    )
    proc = subprocess.run(["debugfs", "-w", "-f", str(commands), str(target)], capture_output=True, text=True)
    assert proc.returncode == 0 and "rror" not in proc.stderr.replace("debugfs 1.", ""), proc.stderr
    return target


def data_disk(target: Path, size: str) -> Path:
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(target), size], check=True)
    return target


@dataclass
class Vm:
    name: str
    kernel: Path
    initrd: Path
    disks: list[Path]
    nics: list[tuple[str, str]]  # (mac, netdev spec without id)
    append: str
    workdir: Path
    timeout: int = 900
    memory: int = 1536
    cpus: int = 1  # TCG runs one host thread per vCPU (MTTCG)
    proc: subprocess.Popen[bytes] | None = None
    started: float = field(default=0.0)

    @property
    def console(self) -> Path:
        return self.workdir / f"{self.name}.console.log"

    @property
    def markers(self) -> Path:
        return self.workdir / f"{self.name}.markers.log"

    def argv(self) -> list[str]:
        argv = ["timeout", "--signal=KILL", str(self.timeout), "qemu-system-x86_64", "-accel", "tcg",
                "-m", str(self.memory), "-smp", str(self.cpus), "-display", "none", "-no-reboot",
                "-serial", f"file:{self.console}", "-serial", f"file:{self.markers}",
                "-kernel", str(self.kernel), "-initrd", str(self.initrd),
                "-append", f"root=LABEL={ROOT_LABEL} ro console=ttyS0 kickbake.report=ttyS1 {self.append}"]
        for index, disk in enumerate(self.disks):
            fmt = "raw" if disk.suffix == ".raw" else "qcow2"
            argv += ["-drive", f"file={disk},format={fmt},if=virtio,index={index},cache=unsafe"]
        for index, (mac, netdev) in enumerate(self.nics):
            argv += ["-netdev", f"{netdev},id=n{index}", "-device", f"virtio-net-pci,netdev=n{index},mac={mac}"]
        return argv

    def start(self) -> Vm:
        for log in (self.console, self.markers):
            log.unlink(missing_ok=True)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.argv(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return self

    def lines(self) -> list[str]:
        return self.markers.read_text(errors="replace").splitlines() if self.markers.exists() else []

    def wait_for_marker(self, text: str, deadline: float) -> float:
        """Seconds from power-on until a marker line containing `text` appeared."""
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines()):
                return time.monotonic() - self.started
            if self.proc is not None and self.proc.poll() is not None:
                break
            time.sleep(2)
        raise AssertionError(f"{self.name}: no marker {text!r}; markers:\n" + "\n".join(self.lines()[-60:])
                             + "\nconsole tail:\n" + tail(self.console, 40))

    def wait_exit(self, seconds: float) -> int:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name} did not power off in {seconds}s:\n{tail(self.console, 40)}") from None

    def kill(self) -> None:
        """SIGTERM to `timeout`, which passes it on to qemu (a SIGKILL would orphan qemu)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def probe(self, key: str) -> list[str]:
        """Values of `PROBE <key> ...` lines."""
        prefix = f"PROBE {key} "
        return [line[len(prefix):].strip() for line in self.lines() if line.startswith(prefix)]


def tail(path: Path, count: int) -> str:
    if not path.exists():
        return "(no console log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-count:])


def tools_missing() -> list[str]:
    return [t for t in ("qemu-system-x86_64", "qemu-img", "debugfs", "timeout") if shutil.which(t) is None]
