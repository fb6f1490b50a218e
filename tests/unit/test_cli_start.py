"""Fast start (issue 17 item 3): a command loads only the libraries it needs. Each case runs the
real `kickbake` main in a fresh interpreter and lists what it imported, so a module-level import
of an SBOM library (or of the whole pipeline into tasks.py) fails here, not in a stopwatch.
bench/cli_start.py prints the seconds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

# what writing a record needs (cyclonedx pulls jsonschema's format checker: 1.3 s on its own)
SBOM_LIBRARIES = ("cyclonedx", "spdx_tools", "jsonschema", "license_expression", "packageurl", "beartype",
                  "rfc3987_syntax")
# what only commands that load a site need (yaml is not here: invoke itself reads YAML config)
SITE_LIBRARIES = ("pykickstart", "pydantic", "jinja2", "requests", "rich", "kickbake.model",
                  "kickbake.pipeline", "kickbake.build", "kickbake.record")

PROBE = """
import json, sys
from kickbake import cli
sys.argv = ["kickbake", *json.loads(sys.argv[1])]
try:
    cli.main()
except SystemExit as exit:
    code = exit.code
else:
    code = 0
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def imported_by(tmp_path: Path, *args: str) -> tuple[int, set[str]]:
    env = {**os.environ, "KICKBAKE_ROOT": str(ROOT), "KICKBAKE_OUTPUT": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    return report["code"] or 0, set(report["modules"])


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(name for name in names if any(m == name or m.startswith(name + ".") for m in modules))


@pytest.mark.parametrize("args", [("--list",), ("--help",), ("render", "--help"), ("--version",)])
def test_listing_and_help_load_no_site_or_sbom_library(tmp_path: Path, args: tuple[str, ...]) -> None:
    code, modules = imported_by(tmp_path, *args)
    assert code == 0
    assert "tasks" in modules  # the probe really ran the task collection
    assert loaded(modules, SBOM_LIBRARIES + SITE_LIBRARIES) == []


def test_validate_loads_the_model_and_pykickstart_but_no_sbom_library(tmp_path: Path) -> None:
    code, modules = imported_by(tmp_path, "validate", "--site", "sites/lab-el9.yml")
    assert code == 0
    assert loaded(modules, ("pykickstart", "pydantic", "jinja2")) == ["jinja2", "pydantic", "pykickstart"]
    assert loaded(modules, SBOM_LIBRARIES) == []
