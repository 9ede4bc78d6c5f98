"""Packaging beyond what pyproject.toml can declare: the data folders that ship in the wheel.

schemas/, themes/ and tenants/ stay at the top of the repository (the layout the guide
describes) and are mapped into the wheel as generator/schemas, generator/themes and
generator/tenants, where generator/resources.py finds them with importlib.resources. A
mapped folder is declared as a package with all its files as package data; setuptools'
`packages.find` in pyproject.toml cannot add packages from elsewhere, hence this file.
"""

from __future__ import annotations

from collections.abc import Iterator

from setuptools import find_namespace_packages, setup

# package in the wheel -> folder in the repository
DATA = {"generator.schemas": "schemas", "generator.themes": "themes",
        "generator.tenants": "tenants"}


def data_packages() -> Iterator[str]:
    """Each mapped folder and its subfolders, as the package names they get in the wheel."""
    for package, folder in DATA.items():
        yield package
        yield from (f"{package}.{sub}" for sub in find_namespace_packages(where=folder))


setup(
    packages=[*find_namespace_packages(include=["generator*", "runtime*"]), *data_packages()],
    package_dir=DATA,
    # all package data is declared here: a pyproject.toml table would replace this one
    package_data={"": ["*.json", "*.html", "*.po", "*.ini", "*.mako", "*.txt", "*.j2",  # any
                       "*.css", "*.js"],
                  **{package: ["*"] for package in data_packages()}},
)
