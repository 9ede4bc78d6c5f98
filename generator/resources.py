"""Where the files the generator reads lie, installed from a wheel or run from a checkout.

The repository keeps schemas/, themes/ and tenants/ at its top (the layout the guide
describes); setup.py maps them into the wheel as generator/schemas, generator/themes and
generator/tenants (package data). An editable install cannot map a folder without an
__init__.py as a package (its import finder needs one), so a checkout finds them beside
the package instead: `data_folder` looks inside the package first, then beside it.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path


@functools.cache
def _package() -> Path:
    # a regular package on disk (wheel or checkout): this file's folder; importlib.resources
    # would say the same after importing tempfile, zipfile and bz2 (15 ms of `portal validate`)
    return Path(__file__).parent


@functools.cache
def data_folder(name: str) -> Path:
    """The folder `schemas`, `themes` or `tenants`: inside the installed package, or beside it."""
    inside = _package() / name
    return inside if inside.is_dir() else _package().parent / name


def generator_folder() -> Path:
    """The generator's own code (for the build fingerprint)."""
    return _package()


@functools.cache
def runtime_folder(*parts: str) -> Path:
    """A folder of the runtime package, found without importing it (it imports Flask)."""
    spec = importlib.util.find_spec("runtime")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the runtime package is not installed")
    return Path(list(spec.submodule_search_locations)[0]).joinpath(*parts)
