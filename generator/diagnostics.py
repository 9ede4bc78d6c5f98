"""One form for every problem found in a tenant file."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass


@dataclass(frozen=True, order=True)
class Diagnostic:
    """A problem at a place in a file: `file:line:col: path: message`."""

    file: str
    line: int
    column: int
    path: str
    message: str
    severity: str = "error"

    def format(self) -> str:
        """Render the one-line text form a consultant reads."""
        where = f"{display_path(self.file)}:{self.line}:{self.column}:"
        what = f"warning: {self.message}" if self.severity == "warning" else self.message
        return f"{where} {self.path}: {what}" if self.path else f"{where} {what}"

    def as_json(self) -> dict:
        data = asdict(self)
        data["file"] = display_path(self.file)
        return data


class TenantError(Exception):
    """Raised when a tenant file cannot be used; carries every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__("\n".join(d.format() for d in diagnostics))
        self.diagnostics = diagnostics


def display_path(path: str) -> str:
    """Show a path relative to the working directory when it lies below it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def sort_diagnostics(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    unique = {(d.file, d.line, d.column, d.path, d.message, d.severity): d for d in diagnostics}
    return sorted(unique.values(), key=lambda d: (d.file, d.line, d.column, d.path, d.message))


def to_json(diagnostics: list[Diagnostic]) -> str:
    return json.dumps([d.as_json() for d in diagnostics], ensure_ascii=False, indent=2)
