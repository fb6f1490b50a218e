"""The one Jinja2 environment: strict, whitespace-tidy, deterministic. Templates hold layout only.

Values are typed at load (model/types.py) for the line formats they land in; XML templates
(`*.xml.j2`: cluster.conf, the CIB) also escape every value (& < > " ') instead of pasting it."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from kickbake.paths import KICKSTARTS_DIR, PACKAGE_DIR

TEMPLATE_DIRS = (KICKSTARTS_DIR, PACKAGE_DIR / "render" / "templates")
XML_SUFFIX = ".xml.j2"


def escapes(name: str | None) -> bool:
    """Whether the template escapes its values: XML ones do."""
    return name is not None and name.endswith(XML_SUFFIX)


def xml_comment(value: object) -> Markup:
    """Text for inside <!-- -->: no '--', which XML forbids there ('a--b' reads 'a- -b'); '<' and
    '&' are literal in a comment, so nothing else changes."""
    return Markup(re.sub(r"-(?=-)", "- ", str(value)))


@cache
def environment(directory: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=escapes,
    )
    env.filters["xml_comment"] = xml_comment
    return env


def render_template(directory: Path, name: str, **context: object) -> str:
    return environment(directory).get_template(name).render(**context)
