"""Shared test helpers.

- `require_tool("drbdadm")`: skip (visibly, with the reason) when a real tool is missing;
  `./kb test` installs them as root, so in CI nothing is skipped.
- `--update-golden`: rewrite golden files instead of comparing (review the diff)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SITES = ROOT / "sites"
BUNDLED = [SITES / f"{name}.yml" for name in ("lab-legacy", "lab-el9", "lab-debian")]
KICKBAKE = Path(sys.executable).with_name("kickbake")  # this venv's installed command


def kb(*args: str, out: Path | None = None, root: Path = ROOT, env: dict[str, str] | None = None,
       timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the kickbake command as a user does, from `root` (KICKBAKE_ROOT); `out` is
    KICKBAKE_OUTPUT when given; `env` adds variables (COLUMNS, SOURCE_DATE_EPOCH, ...)."""
    environment = {**os.environ, "KICKBAKE_ROOT": str(root), **(env or {})}
    if out is not None:
        environment["KICKBAKE_OUTPUT"] = str(out)
    return subprocess.run([str(KICKBAKE), *args], cwd=root, env=environment, capture_output=True, text=True,
                          timeout=timeout)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files from current output")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def require_tool(command: str) -> str:
    path = shutil.which(command)
    if path is None:
        pytest.skip(f"{command} is not installed (./kb test installs it as root on Debian)")
    return path


@pytest.fixture
def out_root(tmp_path: Path) -> Path:
    return tmp_path / "output"
