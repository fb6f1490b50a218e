"""The one subprocess seam: argument lists only, logged, raising with the command and stderr."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from kickbake.errors import ToolFailed

log = logging.getLogger("kickbake.run")


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
    input: str | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a real tool. `env` adds to the current environment; it never replaces it."""
    args = [os.fspath(a) for a in argv]
    full_env = {**os.environ, **env} if env else None
    log.debug("run: %s", shlex.join(args))
    try:
        proc = subprocess.run(
            args,
            env=full_env,
            cwd=cwd,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ToolFailed(f"{args[0]}: not found", hint="run ./kb test once as root to install it") from exc
    except subprocess.TimeoutExpired as exc:
        raise ToolFailed(f"timed out after {timeout}s: {shlex.join(args)}") from exc
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise ToolFailed(f"command failed (exit {proc.returncode}): {shlex.join(args)}\n{detail}")
    return proc
