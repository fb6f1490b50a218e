"""The elements follow diskimage-builder's conventions (checked by DIB's own dib-lint) and their
pkg-maps carry exactly the packages of the release data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kickbake.build.spec import FEATURE_ELEMENTS, LAYER_ELEMENT, LOCK_ELEMENT
from kickbake.elements import KICKBAKE_ELEMENTS, NETINSTALL_ELEMENTS, builder_packages, element_packages
from kickbake.errors import BadInput
from kickbake.model.catalog import load_releases
from kickbake.pkgmaps import FIRSTBOOT, element_sources, write_pkg_maps
from tests.conftest import ROOT

ELEMENTS = ROOT / "elements"
VENV_BIN = Path(sys.executable).parent



def lint_env(lib_dir: Path) -> dict[str, str]:
    """dib-lint lints ELEMENTS_DIR and LIB_DIR (an empty one: DIB's own lib is not ours) and runs
    `python`/`flake8` from PATH."""
    path = f"{VENV_BIN}:{os.environ['PATH']}"
    return {**os.environ, "ELEMENTS_DIR": "elements", "LIB_DIR": str(lib_dir), "PATH": path}


def test_dib_lint_passes_on_every_element(tmp_path: Path) -> None:
    dib_lint = VENV_BIN / "dib-lint"
    if not dib_lint.exists():
        pytest.skip("dib-lint (diskimage-builder) is not installed in this venv")
    env = lint_env(tmp_path)
    proc = subprocess.run([str(dib_lint)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "PASS" in proc.stdout
    for element in sorted(ELEMENTS.iterdir()):
        assert f"Checking elements/{element.name}/" in proc.stdout, f"dib-lint did not look at {element.name}"


def test_dib_lint_catches_a_broken_element(tmp_path: Path) -> None:
    """The lint is not a rubber stamp: an unsorted element-deps and a script without set -e fail."""
    dib_lint = VENV_BIN / "dib-lint"
    if not dib_lint.exists():
        pytest.skip("dib-lint (diskimage-builder) is not installed in this venv")
    broken = tmp_path / "elements" / "broken"
    (broken / "install.d").mkdir(parents=True)
    (broken / "README.rst").write_text("======\nbroken\n======\n")
    (broken / "element-deps").write_text("pkg-map\npackage-installs\n")
    script = broken / "install.d" / "10-broken"
    script.write_text("#!/bin/bash\necho hi\n")
    script.chmod(0o755)
    env = lint_env(tmp_path / "lib")
    (tmp_path / "lib").mkdir()
    proc = subprocess.run([str(dib_lint)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "is not sorted alphabetically" in proc.stdout
    assert "is not set -e" in proc.stdout


def test_every_element_the_build_can_choose_exists_with_readme() -> None:
    choosable = {*FEATURE_ELEMENTS.values(), *KICKBAKE_ELEMENTS, *NETINSTALL_ELEMENTS.values(), LOCK_ELEMENT,
                 LAYER_ELEMENT}
    for name in choosable:
        assert (ELEMENTS / name / "README.rst").is_file(), name
    assert sorted(p.name for p in ELEMENTS.iterdir()) == sorted(choosable)


def test_environment_files_are_not_executable_and_scripts_are() -> None:
    for path in ELEMENTS.rglob("*"):
        if path.is_file() and path.parent.name == "environment.d":
            assert not os.access(path, os.X_OK), path
        elif path.is_file() and path.parent.name.endswith(".d"):
            assert os.access(path, os.X_OK), path
            assert path.name[:2].isdigit() and path.name[2] == "-", f"{path} is not NN-name"


def test_every_pkg_map_is_generated_from_the_release_data() -> None:
    """The release data holds each release's package names once; a pkg-map edited by hand (or
    a release file changed without ./kb pkgmaps) fails here."""
    assert write_pkg_maps(check=True) == []
    assert sorted(p.parent.name for p in ELEMENTS.glob("*/pkg-map")) == sorted(element_sources())


def test_a_stale_pkg_map_is_named_and_rewritten(tmp_path: Path) -> None:
    for element in element_sources():
        (tmp_path / element).mkdir()
        (tmp_path / element / "pkg-map").write_bytes((ELEMENTS / element / "pkg-map").read_bytes())
    edited = tmp_path / "drbd" / "pkg-map"
    edited.write_text(edited.read_text().replace('"drbd-utils drbd-udev"', '"drbd-utils"'))
    with pytest.raises(BadInput, match="drbd/pkg-map"):
        write_pkg_maps(check=True, elements_dir=tmp_path)
    assert write_pkg_maps(elements_dir=tmp_path) == [edited]
    assert edited.read_bytes() == (ELEMENTS / "drbd" / "pkg-map").read_bytes()


@pytest.mark.parametrize("element", sorted(element_sources()))
def test_each_element_installs_exactly_the_release_packages(element: str) -> None:
    """Through diskimage-builder's lookup order, each generic name of the element's
    package-installs.yaml is the release's packages of the features it bakes, on every release."""
    installs = yaml.safe_load((ELEMENTS / element / "package-installs.yaml").read_text())
    generics = element_sources()[element]
    assert sorted(installs) == sorted(generics), f"{element}: package-installs.yaml and the generator disagree"
    for release in load_releases().values():
        expected = [p for generic in installs for source in generics[generic]
                    for p in (release.firstboot.packages if source == FIRSTBOOT else release.packages.get(source, ()))]
        assert list(element_packages(element, release)) == expected, f"{element} {release.name}"


def test_every_baked_feature_has_its_element() -> None:
    """Each feature a release lists is installed by some element's pkg-map (base by kickbake-base)."""
    baked = {s for generics in element_sources().values() for sources in generics.values() for s in sources}
    features = {f for release in load_releases().values() for f in release.packages}
    assert features <= baked
    assert {f: e for e, g in element_sources().items() for s in g.values() for f in s if f in FEATURE_ELEMENTS} \
        == FEATURE_ELEMENTS


def test_element_packages_follow_dibs_pkg_map_order(tmp_path: Path) -> None:
    """release > distro > family > default, as diskimage-builder's pkg-map resolves them."""
    releases = load_releases()
    (tmp_path / "probe").mkdir()
    (tmp_path / "probe" / "package-installs.yaml").write_text("a:\nb:\nc:\nd:\ne:\n")
    (tmp_path / "probe" / "pkg-map").write_text(json.dumps({
        "release": {"debian": {"bookworm": {"a": "from-release"}}},
        "distro": {"debian": {"a": "no", "b": "from-distro"}},
        "family": {"debian": {"a": "no", "b": "no", "c": "from-family two"}, "redhat": {"c": "redhat"}},
        "default": {"a": "no", "b": "no", "c": "no", "d": ""},
    }))
    assert element_packages("probe", releases["debian-12"], tmp_path) == (
        "from-release", "from-distro", "from-family", "two", "e")  # d maps to nothing, e to itself
    assert element_packages("probe", releases["el9"], tmp_path) == ("no", "no", "redhat", "e")
    assert element_packages("kickbake-base", releases["fedora-15"])[4:] == (
        "python", "iproute", "iputils", "util-linux", "module-init-tools", "lvm2", "e2fsprogs")
    assert element_packages("kickbake-record", releases["el9"]) == ()  # no package-installs.yaml


def test_the_builder_packages_are_what_every_image_gets_first() -> None:
    releases = load_releases()
    debian = builder_packages(releases["debian-12"])
    assert {"lvm2", "python3", "e2fsprogs"} <= set(debian)  # the agent's, even on a node without LVM roles
    assert set(releases["debian-12"].diskimage.base_packages) <= set(debian)
    assert "@core" not in builder_packages(releases["fedora-15"])  # groups stay with the build
    assert list(debian) == sorted(set(debian))


def element_scripts() -> list[Path]:
    return sorted(p for p in ELEMENTS.glob("*/*.d/*") if p.is_file() and p.parent.name != "environment.d")


def test_no_two_element_scripts_are_the_same() -> None:
    """A step two elements need lives once (the cluster units: kickbake-base, keyed by
    KICKBAKE_CLUSTER_STACK), not as a copy in each."""
    by_content: dict[bytes, list[str]] = {}
    for script in element_scripts():
        by_content.setdefault(script.read_bytes(), []).append(str(script.relative_to(ELEMENTS)))
    assert [names for names in by_content.values() if len(names) > 1] == []


def test_each_cluster_stack_element_keeps_its_units_off_until_first_boot() -> None:
    stacks = {FEATURE_ELEMENTS[f"cluster-{stack}"]: stack for stack in ("current", "legacy")}
    for element, stack in stacks.items():
        env = (ELEMENTS / element / "environment.d" / f"10-{element}.bash").read_text()
        assert f"export KICKBAKE_CLUSTER_STACK={stack}\n" in env, element
    setting = {p.parent.parent.name for p in ELEMENTS.glob("*/environment.d/*")
               if "KICKBAKE_CLUSTER_STACK=" in p.read_text()}
    assert setting == set(stacks)
    script = (ELEMENTS / "kickbake-base" / "post-install.d" / "80-kickbake-cluster-units-at-firstboot").read_text()
    assert '[ -n "${KICKBAKE_CLUSTER_STACK:-}" ] || exit 0\n' in script
    for unit in ("corosync", "pacemaker", "pcsd", "cman", "clvmd", "dlm", "lvmlockd"):
        assert f"{unit}.service" in script


CLUSTER_UNITS = ("corosync", "pacemaker", "pcsd", "cman", "clvmd", "dlm", "lvmlockd")


@pytest.mark.parametrize("elements", [("kickbake-base",), ("kickbake-base", "ha-cluster"),
                                      ("kickbake-base", "clvm-legacy"), ("kickbake-base", "drbd")])
def test_the_cluster_units_are_disabled_exactly_in_cluster_images(elements: tuple[str, ...], tmp_path: Path) -> None:
    """diskimage-builder's own dib-run-parts over the hooks the elements merge into (each element's
    environment.d is sourced first), with a systemctl that records what it is asked."""
    diskimage_builder = pytest.importorskip("diskimage_builder")
    hooks = tmp_path / "hooks"
    for element in elements:
        for path in (ELEMENTS / element).glob("*.d/*"):
            if path.parent.name in ("environment.d", "post-install.d"):
                (hooks / path.parent.name).mkdir(parents=True, exist_ok=True)
                (hooks / path.parent.name / path.name).write_bytes(path.read_bytes())
                (hooks / path.parent.name / path.name).chmod(path.stat().st_mode)
    (hooks / "environment.d").mkdir(exist_ok=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    (bin_dir / "systemctl").write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    (bin_dir / "systemctl").chmod(0o755)
    run_parts = Path(diskimage_builder.__file__).parent / "lib" / "dib-run-parts"
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run(["bash", str(run_parts), str(hooks / "post-install.d")], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    asked = calls.read_text().splitlines() if calls.exists() else []
    on_host = [f"disable {u}.service" for u in CLUSTER_UNITS
               if any(Path(f"{d}/{u}.service").exists() for d in ("/usr/lib/systemd/system", "/lib/systemd/system"))]
    clustered = {"ha-cluster", "clvm-legacy"} & set(elements)
    if clustered and not on_host:
        pytest.skip("no cluster unit on this host for the script to find")
    assert asked == (on_host if clustered else [])


def shell_scripts() -> list[Path]:
    """Every element script run by a shell: phase scripts and executable static files."""
    def executable_static(p: Path) -> bool:
        return "static" in p.relative_to(ELEMENTS).parts and os.access(p, os.X_OK)

    found = [p for p in sorted(ELEMENTS.rglob("*")) if p.is_file()
             and (p.parent.name.endswith(".d") or executable_static(p))]
    return [p for p in found if p.read_bytes()[:2] == b"#!" and b"sh" in p.read_bytes().split(b"\n", 1)[0]]


def test_element_scripts_pass_shellcheck() -> None:
    """shellcheck at warning level on every element script (info/style findings are advice)."""
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (./kb test installs it as root on Debian)")
    scripts = shell_scripts()
    assert len(scripts) > 10 and any("local-top" in str(p) for p in scripts)
    proc = subprocess.run([shellcheck, "-S", "warning", *map(str, scripts)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:]


def test_shellcheck_is_not_a_rubber_stamp(tmp_path: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed")
    script = tmp_path / "10-broken"
    script.write_text("#!/bin/bash\nset -eu\nfor f in $(ls /tmp); do rm $f; done\n")
    assert subprocess.run([shellcheck, "-S", "warning", str(script)], capture_output=True).returncode != 0
