"""Where kickbake finds its own tree and the site project it runs on.

The tool's tree (PROJECT_ROOT: templates, elements, release repos, the bundled labs, tasks.py) is
the checkout it runs from, or the copy the wheel carries as kickbake/_data (setup.py maps the
checkout's top-level directories in). The site project (SITE_PROJECT: the user's sites/ and
output/) is `kickbake --project DIR` (KICKBAKE_PROJECT), else the current directory when it holds
sites/, else the checkout (an installed kickbake: the current directory)."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
WHEEL_DATA = PACKAGE_DIR / "_data"
_CHECKOUT = PACKAGE_DIR.parents[1]
IN_CHECKOUT = (_CHECKOUT / "tasks.py").is_file() and (_CHECKOUT / "kickstarts").is_dir()


PROJECT_ROOT = Path(os.environ.get("KICKBAKE_ROOT") or (_CHECKOUT if IN_CHECKOUT else WHEEL_DATA))


def _site_project() -> Path:
    if os.environ.get("KICKBAKE_PROJECT"):
        return Path(os.environ["KICKBAKE_PROJECT"]).absolute()
    if (Path.cwd() / "sites").is_dir() or PROJECT_ROOT == WHEEL_DATA:
        return Path.cwd()
    return PROJECT_ROOT


RELEASES_DIR = PACKAGE_DIR / "releases"
REPOS_DIR = PROJECT_ROOT / "repos"
KICKSTARTS_DIR = PROJECT_ROOT / "kickstarts"
ELEMENTS_DIR = PROJECT_ROOT / "elements"
SITES_DIR = PROJECT_ROOT / "sites"  # the bundled labs
SITE_PROJECT = _site_project()
OUTPUT_DIR = Path(os.environ.get("KICKBAKE_OUTPUT") or SITE_PROJECT / "output")
# <site>.lock files: the project's repos/ (kickbake's own repos/ for the bundled labs)
LOCKS_DIR = REPOS_DIR if SITE_PROJECT.resolve() == PROJECT_ROOT.resolve() else SITE_PROJECT / "repos"
BUNDLED_SITES = ("lab-legacy", "lab-el9", "lab-debian")
