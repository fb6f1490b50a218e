"""Validate kickstarts with pykickstart, the way ksvalidator does: the release's handler, parse
warnings treated as errors. A failure names the kickstart line and the template it came from.

Building a version handler costs far more than parsing a kickstart, and a handler reused as is
keeps the previous file's commands. So each release's handler is built once and deep-copied for
every file, sharing the stateless option parsers instead of copying them."""

from __future__ import annotations

import copy
import multiprocessing
import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import Any

from pykickstart.errors import KickstartError, KickstartParseError, KickstartParseWarning
from pykickstart.parser import KickstartParser
from pykickstart.version import makeVersion

from kickbake.render.kickstart import template_of_line


@dataclass(frozen=True)
class KickstartFinding:
    line: int
    template: str
    message: str
    text: str

    def __str__(self) -> str:
        return f"line {self.line} (from {self.template}): {self.message}: {self.text.strip()!r}"


class _LineTrackingParser(KickstartParser):  # type: ignore[misc]  # pykickstart ships no types
    """Records each parse warning with the line of the command that raised it (pykickstart's
    warnings carry no line number)."""

    current_line = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line_warnings: list[tuple[int, str]] = []

    def handleCommand(self, lineno: int, args: list[str]) -> Any:  # noqa: N802 (pykickstart's name)
        self.current_line = lineno
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", KickstartParseWarning)
            result = super().handleCommand(lineno, args)
        for warning in caught:
            if issubclass(warning.category, KickstartParseWarning):
                self.line_warnings.append((lineno, str(warning.message)))
            else:
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        return result


@cache
def _pristine_handler(version: str) -> Any:
    return makeVersion(version)


def fresh_handler(version: str) -> Any:
    """A handler with no state, as if from makeVersion(version), at a fraction of the cost."""
    pristine = _pristine_handler(version)
    memo: dict[int, Any] = {}
    for command in pristine.commands.values():
        parser = getattr(command, "op", None)
        if parser is not None:
            memo[id(parser)] = parser
    return copy.deepcopy(pristine, memo)


def _message(error: BaseException) -> str:
    text = getattr(error, "value", None) or str(error)
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    # pykickstart prefixes "The following problem occurred on line N of the kickstart file:"
    return lines[-1] if lines else type(error).__name__


def validate_kickstart(text: str, version: str) -> list[KickstartFinding]:
    """Parse `text` with the `version` handler; return every finding (empty when valid)."""
    lines = text.splitlines()
    parser = _LineTrackingParser(fresh_handler(version), errorsAreFatal=True)
    findings: list[KickstartFinding] = []

    def finding(lineno: int, message: str) -> KickstartFinding:
        source = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
        return KickstartFinding(lineno, template_of_line(text, lineno), message, source)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", KickstartParseWarning)
        try:
            parser.readKickstartFromString(text)
        except KickstartParseError as exc:
            findings.append(finding(getattr(exc, "lineno", None) or parser.current_line, _message(exc)))
        except KickstartError as exc:
            findings.append(finding(parser.current_line, _message(exc)))
    for lineno, message in parser.line_warnings:
        findings.append(finding(lineno, f"warning treated as error: {message}"))
    for warning in caught:  # warnings outside commands (sections) carry their line in the text
        if issubclass(warning.category, KickstartParseWarning):
            findings.append(finding(parser.current_line, f"warning treated as error: {warning.message}"))
    return sorted(findings, key=lambda f: f.line)


PARALLEL_FROM = 64  # below this, starting worker processes costs more than it saves


def _validate_pair(pair: tuple[str, str]) -> list[KickstartFinding]:
    return validate_kickstart(*pair)


def validate_kickstarts(pairs: Sequence[tuple[str, str]]) -> list[list[KickstartFinding]]:
    """Validate many (text, version) pairs, over all cores for a large site; results in order."""
    workers = min(os.cpu_count() or 1, 8)
    if len(pairs) < PARALLEL_FROM or workers < 2:
        return [validate_kickstart(text, version) for text, version in pairs]
    context = multiprocessing.get_context("fork")  # workers inherit the imported pykickstart
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(_validate_pair, pairs, chunksize=max(1, len(pairs) // (workers * 4))))
