"""The one Jinja2 environment: strict, whitespace-tidy, deterministic. Templates hold layout only."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

from kickbake.paths import KICKSTARTS_DIR, PACKAGE_DIR

TEMPLATE_DIRS = (KICKSTARTS_DIR, PACKAGE_DIR / "render" / "templates")


@cache
def environment(directory: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render_template(directory: Path, name: str, **context: object) -> str:
    return environment(directory).get_template(name).render(**context)
