"""The wheel carries the checkout's top-level kickstarts/, elements/, repos/ (release catalogues),
sites/ (the bundled labs) and tasks.py as kickbake/_data/, where kickbake.paths finds them when
kickbake is installed rather than run from a checkout. Everything else is in pyproject.toml."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
DATA = ("kickstarts", "elements", "repos", "sites", "tasks.py")
NOT_DATA = shutil.ignore_patterns("__pycache__", "*.pyc", "*.lock")  # a lock belongs to a site project


class BuildWithData(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "kickbake" / "_data"
        for name in DATA:
            source, dest = ROOT / name, target / name
            if source.is_dir():
                shutil.copytree(source, dest, ignore=NOT_DATA, dirs_exist_ok=True)
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest)


setup(cmdclass={"build_py": BuildWithData})
