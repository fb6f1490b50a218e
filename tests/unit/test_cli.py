"""The command line as a person uses it: ./kb, exit codes, no tracebacks, --json, same task list."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from kickbake.docs import inventory_markdown, inventory_schema
from tests.conftest import ROOT, kb


def test_bad_inventory_exits_2_with_file_line_field_and_no_traceback(tmp_path: Path) -> None:
    proc = kb("render", "--site", "tests/bad/many-errors.yml", out=tmp_path)
    assert proc.returncode == 2
    assert "tests/bad/many-errors.yml:10: networks[1].cidr:" in proc.stderr
    assert "tests/bad/many-errors.yml:23: nodes[1].hostname:" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "bad-lab").exists()


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    proc = kb("validate", "--site", "tests/bad/bad-mac.yml", "--debug", out=tmp_path)
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_render_json_is_machine_readable(tmp_path: Path) -> None:
    proc = kb("render", "--site", "sites/lab-legacy.yml", "--json", out=tmp_path)
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    nodes = {n["node"]: n for n in payload["sites"][0]["nodes"]}
    assert "kickstarts/drbd-node1.ks" in nodes["drbd-node1"]["outputs"]
    assert nodes["drbd-node1"]["netboot"] == "install"
    assert (tmp_path / "lab-legacy" / "kickstarts" / "drbd-node1.ks").exists()


def test_validate_writes_nothing(tmp_path: Path) -> None:
    proc = kb("validate", "--site", "sites/lab-el9.yml", "--json", out=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["sites"][0]["site"] == "lab-el9"
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_kickbake_and_invoke_list_the_same_tasks() -> None:
    mine = kb("--list").stdout
    invoke = subprocess.run([str(Path(sys.executable).with_name("invoke")), "--list"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert invoke.returncode == 0, invoke.stderr
    names = lambda text: sorted(line.split()[0] for line in text.splitlines() if line.startswith("  "))  # noqa: E731
    assert names(mine) == names(invoke.stdout) and {"demo", "render", "test", "validate"} <= set(names(mine))


def test_generated_inventory_reference_is_current() -> None:
    assert (ROOT / "docs" / "inventory.md").read_text() == inventory_markdown(), "run ./kb schema"
    assert (ROOT / "docs" / "inventory.schema.json").read_text() == inventory_schema(), "run ./kb schema"


def test_every_site_field_is_documented() -> None:
    from kickbake.docs import _models
    from kickbake.model.schema import Site

    for model in _models(Site, {}).values():
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"
