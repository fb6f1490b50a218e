"""The `kickbake` command: Invoke's Program over the task collection in the project's tasks.py,
so `kickbake --list`, `./kb --list` and `invoke --list` show the same tasks."""

from __future__ import annotations

import importlib.util
import sys

from invoke import Collection, Program

from kickbake import __version__
from kickbake.paths import PROJECT_ROOT


def _tasks_collection() -> Collection:
    path = PROJECT_ROOT / "tasks.py"
    spec = importlib.util.spec_from_file_location("tasks", path)
    if spec is None or spec.loader is None:
        sys.exit(f"kickbake: no tasks.py in {PROJECT_ROOT}; run from a kickbake checkout or set KICKBAKE_ROOT")
    module = importlib.util.module_from_spec(spec)
    sys.modules["tasks"] = module
    spec.loader.exec_module(module)
    return Collection.from_module(module)


def main() -> None:
    program = Program(namespace=_tasks_collection(), name="kickbake", binary="kickbake", version=__version__)
    program.run()
