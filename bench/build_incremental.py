"""Incremental builds of lab-debian's storage-node, side by side in one run: a cold build (its
package layer saved), a no-op rebuild (a cache hit), a configuration-only change (from the cached
layer), a one-package change (new lock, new layer: cold again), and plain disk-image-create with
the same distro element, layout and packages as the baseline. Prints each time and its ratio to
the cold build. Needs root and the build tools (./kb test installs them); ~15-20 min here.

The layer cache is a fresh directory (KICKBAKE_LAYER_CACHE) so the cold build is cold for
kickbake; diskimage-builder's own caches (the debootstrap tarball, apt's archive) stay shared,
for the baseline too, so every figure excludes the package downloads alike."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from kickbake import commands  # noqa: E402
from kickbake.build import dib_path  # noqa: E402
from kickbake.build.spec import build_spec, image_named  # noqa: E402
from kickbake.model import load_site, plan  # noqa: E402
from kickbake.progress import Progress  # noqa: E402
from kickbake.record.lock import lock_site  # noqa: E402

SITE = ROOT / "sites" / "lab-debian.yml"
IMAGE = "storage-node"


def timed(label: str, work: object) -> tuple[str, float, object]:
    start = time.monotonic()
    result = work() if callable(work) else None
    seconds = time.monotonic() - start
    print(f"{label}: {seconds:.1f}s", flush=True)
    return label, seconds, result


def build(site: Path, out_root: Path, lock: Path) -> object:
    return commands.build_site(site, IMAGE, ("qcow2",), "baremetal", out_root=out_root,
                               progress=Progress.to_stderr(), lock_path=lock)


def plain_dib(site: Path, work: Path) -> None:
    """disk-image-create with debian-minimal + baremetal and the image's packages, nothing of kickbake."""
    site_plan = plan(load_site(site))
    node = next(n for n in site_plan.nodes if "storage" in n.node.roles)
    [image] = image_named(site_plan, IMAGE)
    spec = build_spec(site_plan, image, ("qcow2",), "baremetal")
    # the same release, mirror and apt sources kickbake sets, and the same shared cache
    env = dict(os.environ, PATH=dib_path(), **{k: v for k, v in spec.env.items() if k.startswith("DIB_")})
    argv = ["disk-image-create", "-a", "amd64", "-t", "qcow2", "-o", str(work / "plain"), "debian-minimal",
            "baremetal", "-p", ",".join(node.packages)]
    subprocess.run(argv, env=env, cwd=work, check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="kickbake-bench-") as scratch:
        tmp = Path(scratch)
        if "--baseline-only" in sys.argv:
            (tmp / "plain").mkdir()
            timed("plain disk-image-create, same packages", lambda: plain_dib(SITE, tmp / "plain"))
            return
        os.environ["KICKBAKE_LAYER_CACHE"] = str(tmp / "layers")
        site = tmp / "sites" / SITE.name
        site.parent.mkdir()
        site.write_text(SITE.read_text())
        out_root = tmp / "output"
        lock = Path(lock_site(site, repos_dir=tmp / "repos").path)
        rows = [timed("cold build (layer saved)", lambda: build(site, out_root, lock)),
                timed("no-op rebuild (cache hit)", lambda: build(site, out_root, lock))]
        site.write_text(site.read_text().replace("    port: 7788\n", "    port: 7789\n"))
        rows.append(timed("config-only change (DRBD port)", lambda: build(site, out_root, lock)))
        text = site.read_text()
        assert "  storage:\n    openstack: compute\n" in text
        site.write_text(text.replace("  storage:\n    openstack: compute\n",
                                     "  storage:\n    openstack: compute\n    packages: [htop]\n"))
        lock = Path(lock_site(site, repos_dir=tmp / "repos").path)
        rows.append(timed("one-package change (re-lock, new layer)", lambda: build(site, out_root, lock)))
        (tmp / "plain").mkdir()
        rows.append(timed("plain disk-image-create, same packages", lambda: plain_dib(site, tmp / "plain")))
        cold = rows[0][1]
        print("\n| build | seconds | of cold |\n|---|---|---|")
        for label, seconds, _ in rows:
            print(f"| {label} | {seconds:.1f} | {seconds / cold:.0%} |")
        shutil.rmtree(tmp / "layers", ignore_errors=True)


if __name__ == "__main__":
    main()
