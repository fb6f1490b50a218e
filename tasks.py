"""kickbake tasks. Each task is a few lines that call one library function; `./kb --list` shows them.

The same collection is the `kickbake` command (kickbake.cli) and works with `invoke --list`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from invoke import Exit

from kickbake.cli import task
from kickbake.errors import KickbakeError
from kickbake.paths import LOCKS_DIR, OUTPUT_DIR

# Each task imports the library it calls in its body, so `./kb --list`, `--help` and every task
# start without loading what other tasks need (the SBOM libraries, pykickstart, the model):
# tests/unit/test_cli_start.py keeps it so.


def _progress() -> Any:
    from kickbake.progress import Progress

    return Progress.to_stderr()


COMMON_HELP = {"json": "machine-readable output on stdout (errors too)", "debug": "show a traceback on errors"}
# tasks that take one site or every bundled lab, and tasks that need the one site
SITE_HELP = {"site": "inventory file (default: every sites/*.yml of the project; the bundled labs in "
                     "kickbake's checkout)", **COMMON_HELP,
             "verbose": "each node's outputs and notes under its summary line"}
ONE_SITE_HELP = {"site": "inventory file, e.g. sites/lab-el9.yml (required)", **COMMON_HELP}


def reported(body: Callable[..., Any]) -> Callable[..., Any]:
    """Turn kickbake's errors into a message for people and the right exit code."""

    @wraps(body)
    def wrapper(c: Any, *args: Any, debug: bool = False, **kwargs: Any) -> Any:
        try:
            return body(c, *args, **kwargs)
        except KickbakeError as error:
            if debug:
                raise
            from kickbake.report import print_error

            print_error(error, as_json=bool(kwargs.get("json")))
            raise Exit(code=error.exit_code) from None

    return wrapper


@task(help={**SITE_HELP, "regenerate_secrets": "make new keys and passwords for secrets the site lost "
                                                "(its nodes then need the new ones)"})
@reported
def render(c, site=None, json=False, regenerate_secrets=False, verbose=False, debug=False):
    """Render kickstarts (and every other output) for a site into output/<site>/, atomically."""
    from kickbake import commands
    from kickbake.report import print_sites

    print_sites(commands.render_sites(site, OUTPUT_DIR, _progress(), regenerate_secrets), as_json=json,
                title="rendered", verbose=verbose)


@task(help=SITE_HELP)
@reported
def pxe(c, site=None, json=False, verbose=False, debug=False):
    """Write the PXE boot tree (pxelinux/GRUB/iPXE per MAC, dnsmasq.conf, nginx) into output/<site>/pxe/."""
    from kickbake import commands
    from kickbake.report import print_sites

    print_sites(commands.pxe_sites(site, OUTPUT_DIR, _progress()), as_json=json, title="pxe", verbose=verbose)


REAL_TOOLS_HELP = "render to a temporary directory and check every file with its real tool"


@task(help={**SITE_HELP, "real_tools": REAL_TOOLS_HELP})
@reported
def validate(c, site=None, json=False, real_tools=False, verbose=False, debug=False):
    """Load, lint and validate a site without writing anything (--real-tools: check each file)."""
    from kickbake import commands
    from kickbake.report import print_sites, print_tool_checks

    if real_tools:
        checks = commands.validate_real_tools(site, _progress())
        if print_tool_checks(checks, as_json=json):
            raise Exit(code=1)
        return
    print_sites(commands.validate_sites(site), as_json=json, title="validated", verbose=verbose)


@task(help={**COMMON_HELP, "build": "also bake the lab-debian image (default; --no-build skips)",
            "verbose": SITE_HELP["verbose"]})
@reported
def demo(c, json=False, build=True, verbose=False, debug=False):
    """The main job: render + validate every bundled site, then build the lab-debian image when the tools are here."""
    from kickbake import commands
    from kickbake.report import print_builds, print_json, print_sites

    result = commands.demo(OUTPUT_DIR, build, _progress())
    if json:
        print_json({"sites": [s.as_dict() for s in result.sites], "builds": [b.__dict__ for b in result.builds],
                    "build_note": result.build_note})
        return
    print_sites(result.sites, title="rendered and validated", verbose=verbose)
    print_builds(result.builds)
    print(result.build_note, file=sys.stderr)


@task(help={**ONE_SITE_HELP, "export": "write the site's secrets to this new tar file (mode 0600)",
            "import_": "seed output/<site> on this machine with the secrets of an exported tar file"})
@reported
def secrets(c, site, export="", import_="", json=False, debug=False):
    """Move a site's generated keys and passwords between machines, so its nodes keep the ones they hold."""
    if bool(export) == bool(import_):
        raise Exit("kickbake: secrets: say --export FILE or --import FILE", code=2)
    from kickbake import secretsmove
    from kickbake.report import print_record

    if export:
        print_record(secretsmove.export_secrets(site, OUTPUT_DIR, Path(export)), as_json=json)
    else:
        print_record(secretsmove.import_secrets(site, OUTPUT_DIR, Path(import_)), as_json=json)


@task(help={**ONE_SITE_HELP, "node": "the node's hostname (required)"})
@reported
def show(c, site, node, json=False, debug=False):
    """One node: its summary line, then what it gets (outputs, bundle files, install path) and its notes."""
    from kickbake import commands
    from kickbake.report import print_sites

    print_sites([commands.show_node(site, node)], as_json=json, title="validated", verbose=True)


@task(help={**ONE_SITE_HELP, "image": "one image of the site (default: all)", "type": "comma-separated: qcow2,raw,tar",
            "dry_run": "print the exact disk-image-create command and environment, build nothing",
            "layout": "vm (partitioned disk, needs device-mapper) or baremetal (filesystem + kernel/initrd)",
            "from_mirror": "build from ./kb mirror's snapshot of the lock only (offline rebuild, Debian images)",
            "force": "rebuild even when a finished build with the same image id is there"})
@reported
def build(c, site, image=None, type="", dry_run=False, layout="", from_mirror=False, force=False, json=False,
          debug=False):
    """Bake a site's node images with diskimage-builder into output/<site>/images/ (skips up-to-date ones)."""
    from kickbake import commands
    from kickbake.report import print_builds

    types = tuple(t for t in type.split(",") if t)
    print_builds(commands.build_site(site, image, types, layout, dry_run, OUTPUT_DIR, _progress(),
                                     from_mirror=from_mirror, force=force), json)


@task(help=ONE_SITE_HELP)
@reported
def plan(c, site, json=False, debug=False):
    """Per image: its id, package layer, built or stale and why, and the command that builds it."""
    from kickbake import commands
    from kickbake.report import print_plan

    print_plan(commands.plan_site(site, OUTPUT_DIR), as_json=json)


@task(help={"prune": "evict least recently used layers until the cache fits its bound",
            "max_gib": "the bound for --prune (default KICKBAKE_LAYER_CACHE_GIB or 20)",
            **COMMON_HELP})
@reported
def cache(c, prune=False, max_gib="", json=False, debug=False):
    """List the package-layer cache (shared by every site on this host), or prune it."""
    from kickbake.build import layers
    from kickbake.report import print_cache

    print_cache(layers.cache_report(prune, float(max_gib) if max_gib else None), as_json=json)


@task(help={"site": ONE_SITE_HELP["site"], "address": "address to listen on", "port": "TCP port",
            "behind_proxy": "trust X-Real-IP from loopback (nginx proxies install bundles and reports here)",
            "debug": COMMON_HELP["debug"]})
@reported
def serve(c, site, address="127.0.0.1", port=8080, behind_proxy=False, debug=False):
    """Lab HTTP server for a site's kickstarts, images, repo mirror, PXE tree, install bundles and reports."""
    from kickbake import serve as lab_server

    lab_server.serve(site, OUTPUT_DIR, address, int(port), behind_proxy=behind_proxy)


@task(help={**ONE_SITE_HELP, "node": "one node (default: show all)",
            "install": "set the node to install: its PXE entries install it again (fresh token)",
            "local": "set the node to boot from its disk"})
@reported
def netboot(c, site, node="", install=False, local=False, json=False, debug=False):
    """Show or set whether a node's PXE entry installs it or boots its local disk."""
    if install and local:
        raise Exit("kickbake: netboot: say --install or --local, not both", code=2)
    state = "install" if install else "local" if local else ""
    from kickbake import installs
    from kickbake.report import print_netboot

    print_netboot(installs.netboot(site, node, state, OUTPUT_DIR), as_json=json)


@task(help={"k": "only tests matching this pytest expression", "fast": "skip slow build/boot tests"})
def test(c, k="", fast=False):
    """Install the Debian tools the tests need (as root), then run ruff, mypy and the whole test suite."""
    from kickbake import devtools

    raise Exit(code=devtools.run_tests(select=k, fast=fast))


@task(help={"check": "fail if the generated files are out of date instead of writing them",
            "debug": COMMON_HELP["debug"]})
@reported
def schema(c, check=False, debug=False):
    """Generate docs/inventory.md and docs/inventory.schema.json from the model."""
    from kickbake import docs

    docs.write_inventory_docs(check=check)


@task(help={"check": "fail if an element's pkg-map is out of date instead of writing it",
            "debug": COMMON_HELP["debug"]})
@reported
def pkgmaps(c, check=False, debug=False):
    """Generate the elements' pkg-map files from the release data (src/kickbake/releases/*.yml)."""
    from kickbake import pkgmaps as element_pkgmaps

    for path in element_pkgmaps.write_pkg_maps(check=check):
        print(f"wrote {path}")


@task(help={**ONE_SITE_HELP, "update": "re-resolve every image and print what changed"})
@reported
def lock(c, site, update=False, json=False, debug=False):
    """Resolve each image's packages with libsolv against its repos; write repos/<site>.lock."""
    from kickbake.record import lock as record_lock
    from kickbake.report import print_lock

    print_lock(record_lock.lock_site(site, update=update, repos_dir=LOCKS_DIR), as_json=json)


@task(help={"a": "manifest file or image id (the older)", "b": "manifest file or image id (the newer)",
            **COMMON_HELP})
@reported
def diff(c, a, b, json=False, debug=False):
    """What changed between two builds: packages, licenses, elements, inputs."""
    from kickbake.record import diff as record_diff
    from kickbake.report import print_diff

    print_diff(record_diff.diff_manifests(a, b), as_json=json)


@task(help={"a": "the first tar image (<image>.tar)", "b": "the second tar image", **COMMON_HELP})
@reported
def filediff(c, a, b, json=False, debug=False):
    """Compare two built tar images file by file; exit 1 when a path off docs/reproducible.md's list differs."""
    from kickbake.record import filediff as record_filediff
    from kickbake.report import print_filediff

    result = record_filediff.diff_images(a, b)
    print_filediff(result, as_json=json)
    if result.undocumented:
        raise Exit(code=1)


@task(help=ONE_SITE_HELP)
@reported
def licenses(c, site, json=False, debug=False):
    """Per image license summary; exit 2 naming each package the site's licenses.deny forbids."""
    from kickbake.record import site as record_site
    from kickbake.report import print_licenses

    print_licenses(record_site.site_licenses(site, OUTPUT_DIR), as_json=json)


@task(help=ONE_SITE_HELP)
@reported
def mirror(c, site, json=False, debug=False):
    """Snapshot exactly the locked packages into output/<site>/repos/ (rebuild offline: build --from-mirror)."""
    from kickbake.record import site as record_site
    from kickbake.report import print_record

    print_record(record_site.mirror_site(site, OUTPUT_DIR, repos_dir=LOCKS_DIR, progress=_progress()), as_json=json)


@task(help={**ONE_SITE_HELP, "image": "image name (with --root and --image-file)",
            "root": "image root directory or tar", "image_file": "the built image file",
            "node": "node hostname (with --tsv)", "tsv": "the node's installed-packages.tsv"})
@reported
def record(c, site, image="", root="", image_file="", node="", tsv="", json=False, debug=False):
    """Write <name>.manifest.json, .spdx.json and .cdx.json for a built image or a kickstart-installed node."""
    from kickbake.record import site as record_site
    from kickbake.report import print_record

    if node:
        print_record(record_site.record_site_node(site, node, Path(tsv), OUTPUT_DIR), as_json=json)
    else:
        print_record(record_site.record_site_image(site, image, Path(root), Path(image_file)), as_json=json)


@task(help={**COMMON_HELP, "doc": "write docs/lint-rules.md", "check": "fail if docs/lint-rules.md is out of date"})
@reported
def rules(c, json=False, doc=False, check=False, debug=False):
    """List the cluster lint rules (id, severity, title), or write their reference docs/lint-rules.md."""
    from kickbake.lint import reference

    reference.rules_command(as_json=json, doc=doc, check=check)
