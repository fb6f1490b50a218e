"""Progress for long work: one line per step on stderr, with its duration."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console


class Progress:
    def __init__(self, console: Console | None) -> None:
        self.console = console

    @classmethod
    def quiet(cls) -> Progress:
        return cls(None)

    @classmethod
    def to_stderr(cls) -> Progress:
        return cls(Console(file=sys.stderr, highlight=False))

    def note(self, message: str) -> None:
        if self.console:
            self.console.print(f"  {message}", markup=False)

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        start = time.monotonic()
        if self.console:
            self.console.print(f"[bold]>[/bold] {label} ...", highlight=False)
        try:
            yield
        except BaseException:
            if self.console:
                self.console.print(f"[red]x[/red] {label} failed after {time.monotonic() - start:.1f}s")
            raise
        if self.console:
            self.console.print(f"[green]ok[/green] {label} ({time.monotonic() - start:.1f}s)")
