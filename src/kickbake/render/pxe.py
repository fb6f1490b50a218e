"""PXE stage: the boot server's files under output/<site>/pxe/ (also the TFTP root).

Per node (one boot entry each, see pxe_view): pxelinux.cfg/01-<mac> (BIOS), grub/grub.cfg-01-<mac>
(UEFI, GRUB), ipxe/<node>.ipxe; per site: pxelinux.cfg/default, grub/grub.cfg, ipxe/boot.ipxe,
dnsmasq.conf and nginx-site.conf. Boot loaders come from Debian packages when installed; kernels
and initrds are hard-linked from where the operator or the image build put them. Whatever is
missing is said in the notes, never faked."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from kickbake.output import Stage
from kickbake.paths import PACKAGE_DIR
from kickbake.render.pxe_view import BootEntry, PxeSite
from kickbake.render.templating import render_template

TEMPLATES = PACKAGE_DIR / "render" / "templates"

# file in the TFTP root -> (where Debian installs it, package)
BOOT_LOADERS: dict[str, tuple[str, str]] = {
    "pxelinux.0": ("/usr/lib/PXELINUX/pxelinux.0", "pxelinux"),
    "ldlinux.c32": ("/usr/lib/syslinux/modules/bios/ldlinux.c32", "syslinux-common"),
    "grubnetx64.efi": ("/usr/lib/grub/x86_64-efi/monolithic/grubnetx64.efi", "grub-efi-amd64-bin"),
    "ipxe.efi": ("/usr/lib/ipxe/ipxe.efi", "ipxe"),
    "undionly.kpxe": ("/usr/lib/ipxe/undionly.kpxe", "ipxe"),
}


@dataclass
class PxeOutcome:
    files: list[str] = field(default_factory=list)  # relative to output/<site>/
    node_notes: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _template(name: str, **context: object) -> str:
    return render_template(TEMPLATES, f"pxe/{name}", **context)


def _write(stage: Stage, outcome: PxeOutcome, relative: str, text: str) -> None:
    stage.write(f"pxe/{relative}", text)
    outcome.files.append(f"pxe/{relative}")


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)  # kernels and initrds are big: share the bytes
    except OSError:  # another file system
        shutil.copyfile(source, target)
        os.chmod(target, 0o644)


def _kernel_sources(entry: BootEntry, stage: Stage, out_root: Path) -> tuple[Path, Path, str]:
    """Where the entry's kernel and initrd come from, and what to tell the operator if they do not."""
    if entry.kind == "installer":
        release_dir = out_root / entry.source_dir
        hint = f"put the install tree's images/pxeboot/vmlinuz, initrd.img in output/{entry.source_dir}/"
        return release_dir / "vmlinuz", release_dir / "initrd.img", hint
    image = Path(entry.kernel).parent.name
    images = stage.root / "images"  # the build's output, carried into this generation
    hint = f"./kb build the {image} image with kernel + initrd (images/{image}.vmlinuz, .initrd)"
    return images / f"{image}.vmlinuz", images / f"{image}.initrd", hint


def _place_kernel(entry: BootEntry, stage: Stage, out_root: Path, outcome: PxeOutcome) -> None:
    kernel, initrd, hint = _kernel_sources(entry, stage, out_root)
    if not (kernel.is_file() and initrd.is_file()):
        outcome.node_notes.setdefault(entry.node, []).append(f"pxe: no kernel/initrd yet: {hint}")
        return
    if kernel.is_symlink() or initrd.is_symlink():  # a link would publish whatever it points to
        outcome.node_notes.setdefault(entry.node, []).append(
            f"pxe: {kernel.name} or {initrd.name} is a symbolic link, not published: put the files themselves there")
        return
    _link(kernel, stage.path(f"pxe/{entry.kernel}"))
    _link(initrd, stage.path(f"pxe/{entry.initrd}"))
    outcome.files += [f"pxe/{entry.kernel}", f"pxe/{entry.initrd}"]


def _image_boots(entry: BootEntry) -> str:
    image = Path(entry.kernel).parent.name
    if entry.installs_image:
        return (f"image {image}'s kernel; its initramfs installs the image tar to the root disk "
                f"(kickstarts/{entry.node}.install), reports, reboots into it")
    return f"image {image}'s kernel with the root on its disk (installed there over PXE, or written beforehand)"


def copy_boot_loaders(stage: Stage, outcome: PxeOutcome) -> None:
    missing: dict[str, list[str]] = {}
    for name, (source, package) in sorted(BOOT_LOADERS.items()):
        path = Path(source)
        if path.is_file():  # copied: a hard link would let a write into output/ change /usr/lib
            stage.write(f"pxe/{name}", path.read_bytes())
            outcome.files.append(f"pxe/{name}")
        else:
            missing.setdefault(package, []).append(name)
    for package, names in sorted(missing.items()):
        outcome.notes.append(f"pxe: {', '.join(names)} missing (apt-get install {package})")


def render_pxe(px: PxeSite, stage: Stage, out_root: Path) -> PxeOutcome:
    """Write the site's PXE tree into the staged generation."""
    outcome = PxeOutcome()
    for entry in px.entries:
        context = {"px": px, "e": entry}
        _write(stage, outcome, f"pxelinux.cfg/{entry.pxelinux_name}", _template("pxelinux-node.cfg.j2", **context))
        _write(stage, outcome, f"grub/{entry.grub_name}", _template("grub-node.cfg.j2", **context))
        _write(stage, outcome, f"ipxe/{entry.ipxe_name}", _template("ipxe-node.ipxe.j2", **context))
        _place_kernel(entry, stage, out_root, outcome)
        boots = Path(entry.kickstart_url).name if entry.kickstart_url else _image_boots(entry)
        if entry.local:
            boots = f"its local disk (netboot local; installs {boots} after ./kb netboot --install)"
        outcome.node_notes.setdefault(entry.node, []).insert(0, f"pxe: {entry.pxelinux_name} boots {boots}")
    for node, reason in sorted(px.skipped.items()):
        outcome.node_notes.setdefault(node, []).append(f"pxe: no boot entry: {reason}")
    _write(stage, outcome, "pxelinux.cfg/default", _template("pxelinux-default.cfg.j2", px=px))
    _write(stage, outcome, "grub/grub.cfg", _template("grub.cfg.j2", px=px))
    _write(stage, outcome, "ipxe/boot.ipxe", _template("ipxe-boot.ipxe.j2", px=px))
    _write(stage, outcome, "dnsmasq.conf", _template("dnsmasq.conf.j2", px=px))
    _write(stage, outcome, "nginx-site.conf", _template("nginx-site.conf.j2", px=px))
    copy_boot_loaders(stage, outcome)
    return outcome
