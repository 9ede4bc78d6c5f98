"""Tenant YAML -> validated, resolved configuration -> instance folder. Never imports Flask."""

from __future__ import annotations

__version__ = "0.1.0"
