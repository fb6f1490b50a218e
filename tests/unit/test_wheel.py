"""kickbake installed as a wheel (issue 17 item 4): the wheel carries the templates, elements,
release repos, bundled labs and tasks.py, and the installed command renders a site of a project
directory of its own (--project), writing only there. The wheel is built from a copy of the
tree, installed into a fresh venv (dependencies from this one's site-packages, not re-fetched),
and run with no KICKBAKE_ROOT: nothing points back at this checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import ROOT

TREE = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "tasks.py", "src", "kickstarts", "elements",
        "repos", "sites")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.lock", "*.egg-info")


def run(argv: list[str | Path], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KICKBAKE_", "PYTHONPATH", "PYTHONHOME"))}
    return subprocess.run([str(a) for a in argv], cwd=cwd, env={**clean, **env}, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The venv's bin/ with kickbake installed from a freshly built wheel."""
    tmp = tmp_path_factory.mktemp("wheel")
    tree = tmp / "tree"
    for name in TREE:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=SKIP)
        else:
            tree.mkdir(exist_ok=True)
            shutil.copy2(source, tree / name)
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp / "dist", tree], tmp)
    if built.returncode != 0 and "No matching distribution" in built.stderr:
        pytest.skip(f"the wheel's build requirements are not reachable: {built.stderr.strip()[-200:]}")
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp / "dist").glob("kickbake-*.whl")
    venv = tmp / "venv"
    assert run([sys.executable, "-m", "venv", "--without-pip", venv], tmp).returncode == 0
    purelib = Path(run([venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                       tmp).stdout.strip())
    (purelib / "kickbake-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = run([sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--no-deps", "-q",
                   wheel], tmp)
    assert install.returncode == 0, install.stderr
    return venv / "bin"


def test_the_wheel_carries_the_tools_tree_and_no_lock(installed: Path) -> None:
    where = run([installed / "python", "-c", "import kickbake.paths as p; print(p.PACKAGE_DIR); print(p.PROJECT_ROOT)"],
                installed)
    package, root = (Path(line) for line in where.stdout.split())
    assert installed.parent in package.parents, "the venv's kickbake, not this checkout's"
    assert root == package / "_data"
    for name in ("tasks.py", "kickstarts/node.ks.j2", "repos/el9.yml", "sites/lab-el9.yml",
                 "elements/kickbake-base/element-deps"):
        assert (root / name).is_file(), name
    assert not list(root.rglob("*.lock"))
    script = next((root / "elements").glob("*/post-install.d/*"))
    assert os.access(script, os.X_OK), f"{script} lost its executable bit"


def test_the_installed_command_renders_a_site_of_its_own_project(installed: Path, tmp_path: Path) -> None:
    project = tmp_path / "my-project"
    (project / "sites").mkdir(parents=True)
    text = (ROOT / "sites" / "lab-el9.yml").read_text().replace("site: lab-el9\n", "site: my-lab\n", 1)
    (project / "sites" / "my-lab.yml").write_text(text)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = run([installed / "kickbake", "--project", project, "render", "--site", "sites/my-lab.yml"], elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert (project / "output" / "my-lab" / "kickstarts" / "drbd-node1.ks").is_file()
    assert proc.stdout.startswith(f"my-lab: rendered, 3 nodes, 2 warnings (on stderr), {project / 'output' / 'my-lab'}")
    assert not any(elsewhere.iterdir())
    # in the project directory, no --project and no --site: every site of its sites/
    again = run([installed / "kickbake", "validate", "--json"], project)
    assert again.returncode == 0, again.stderr
    assert '"site": "my-lab"' in again.stdout and "lab-el9" not in again.stdout


def test_python_dash_m_and_the_task_list_work_installed(installed: Path, tmp_path: Path) -> None:
    version = run([installed / "python", "-m", "kickbake", "--version"], tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("kickbake "), version.stderr
    listed = run([installed / "kickbake", "--list"], tmp_path)
    assert listed.returncode == 0 and "  render " in listed.stdout, listed.stderr
    missing = run([installed / "kickbake", "--project", tmp_path / "nope", "--list"], tmp_path)
    assert (missing.returncode, missing.stderr.strip()) == (2, f"kickbake: --project {tmp_path / 'nope'}: "
                                                               "not a directory")


def test_a_projects_locks_are_its_own(installed: Path, tmp_path: Path) -> None:
    project = tmp_path / "locked-project"
    (project / "sites").mkdir(parents=True)
    text = (ROOT / "sites" / "lab-el9.yml").read_text().replace("site: lab-el9\n", "site: my-lab\n", 1)
    (project / "sites" / "my-lab.yml").write_text(text)
    where = run([installed / "python", "-c", "import kickbake.paths as p; print(p.LOCKS_DIR)"], project)
    assert Path(where.stdout.strip()) == project / "repos"
    assert run([installed / "kickbake", "render"], project).returncode == 0
    mirrored = run([installed / "kickbake", "mirror", "--site", "sites/my-lab.yml"], project)
    assert mirrored.returncode == 2  # the project's lock, not one inside the installed package
    assert f"{project / 'repos' / 'my-lab.lock'}: no such file" in mirrored.stderr
