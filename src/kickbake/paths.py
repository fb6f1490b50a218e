"""Where kickbake finds its templates, elements, repos and sites: the project checkout it runs from."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = Path(os.environ.get("KICKBAKE_ROOT", PACKAGE_DIR.parents[1]))
RELEASES_DIR = PACKAGE_DIR / "releases"
REPOS_DIR = PROJECT_ROOT / "repos"
KICKSTARTS_DIR = PROJECT_ROOT / "kickstarts"
ELEMENTS_DIR = PROJECT_ROOT / "elements"
SITES_DIR = PROJECT_ROOT / "sites"
OUTPUT_DIR = Path(os.environ.get("KICKBAKE_OUTPUT", PROJECT_ROOT / "output"))
BUNDLED_SITES = ("lab-legacy", "lab-el9", "lab-debian")
