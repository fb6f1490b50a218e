"""Errors for people: every problem names the file, line and field, and says what to change."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1
ERROR_SCHEMA_VERSION = 1  # of error_payload's shape, the JSON of every error under --json


def error_payload(message: str, hint: str = "", exit_code: int = EXIT_BAD_INPUT,
                  problems: list[dict[str, object]] | None = None) -> dict[str, object]:
    return {"schema_version": ERROR_SCHEMA_VERSION,
            "error": {"message": message, "hint": hint, "exit_code": exit_code, "problems": problems or []}}


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input file, in the shape `FILE:LINE: field: message (hint: ...)`."""

    file: str
    line: int
    field: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{self.field}: {self.message}" if self.field else self.message
        text = f"{where}: {text}" if where else text  # a problem of no file (a flag) names none
        return f"{text} (hint: {self.hint})" if self.hint else text


class KickbakeError(Exception):
    """Base of every error kickbake reports to a person instead of a traceback."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message

    def as_dict(self) -> dict[str, object]:
        """The error under --json: error_payload, with every problem of a BadInput."""
        found: list[Problem] = getattr(self, "problems", [])
        return error_payload(self.message, self.hint, self.exit_code, [asdict(p) for p in found])


class BadInput(KickbakeError):
    """Input a person wrote is wrong; all problems found are carried together."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, problems: list[Problem] | Problem | str, hint: str = "") -> None:
        if isinstance(problems, str):
            problems = [Problem(file="", line=0, field="", message=problems, hint=hint)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        return self.message


class ToolFailed(KickbakeError):
    """A real tool (drbdadm, corosync, disk-image-create, ...) exited non-zero."""


def relpath(path: Path) -> str:
    """A path as a person would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, RuntimeError, OSError):  # outside the cwd, a symlink loop, a vanished cwd
        return str(path)
