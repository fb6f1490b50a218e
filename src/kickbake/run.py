"""The one subprocess seam: argument lists only, logged, raising with the command and stderr."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
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


def stream(
    argv: Sequence[str | os.PathLike[str]],
    *,
    log_path: Path,
    on_line: Callable[[str], None],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
) -> None:
    """Run a long tool, appending its merged output to `log_path` and handing each line to
    `on_line` (progress); raise ToolFailed with the log's tail when it fails."""
    args = [os.fspath(a) for a in argv]
    full_env = {**os.environ, **env} if env else None
    log.debug("stream: %s", shlex.join(args))
    deadline = None if timeout is None else time.monotonic() + timeout
    with log_path.open("a") as log_file:
        try:
            proc = subprocess.Popen(args, env=full_env, cwd=cwd, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, errors="replace")
        except FileNotFoundError as exc:
            raise ToolFailed(f"{args[0]}: not found", hint="run ./kb test once as root to install it") from exc
        assert proc.stdout is not None
        for line in proc.stdout:
            log_file.write(line)
            on_line(line.rstrip("\n"))
            if deadline is not None and time.monotonic() > deadline:
                proc.kill()
                raise ToolFailed(f"timed out after {timeout}s: {shlex.join(args)} (log: {log_path})")
        code = proc.wait()
    if code != 0:
        tail = "".join(log_path.read_text(errors="replace").splitlines(keepends=True)[-25:])
        raise ToolFailed(f"command failed (exit {code}): {shlex.join(args)}\n{tail}", hint=f"full log: {log_path}")
