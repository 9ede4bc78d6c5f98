"""The core never names a module: no import of a module package, no link to its screens.

A module is one folder under runtime/modules/ plus one REGISTRY line; these tests keep
the rest of the portal from growing a dependency on any one of them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import ROOT

RUNTIME = ROOT / "runtime"
MODULES = RUNTIME / "modules"


def _dotted(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """Every module a file imports, as absolute dotted names (relative ones resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    dotted = _dotted(path, root)
    package = dotted if path.name == "__init__.py" else dotted.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from .modules import notices` imports a package as much as `import` does
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def _module_packages() -> set[str]:
    return {p.name for p in MODULES.iterdir() if (p / "__init__.py").is_file()}


def test_no_core_file_imports_a_module_package():
    modules = _module_packages()
    offending = []
    for path in sorted(RUNTIME.rglob("*.py")):
        if MODULES in path.parents or "migrations" in path.parts:
            continue
        for line, name in _imports(path):
            parts = name.split(".")
            if parts[:2] == ["runtime", "modules"] and len(parts) > 2 and parts[2] in modules:
                offending.append(f"{path.relative_to(ROOT)}:{line}: {name}")
    assert offending == []


def _module_endpoints() -> set[str]:
    """The blueprint names of every registered module (what url_for('<name>.…') names)."""
    from runtime.modules import manifests

    return {m.blueprint.name for m in manifests().values()}


LINK = re.compile(r"""url_for\(\s*['"]([a-z_]+)\.""")


def test_no_theme_or_core_template_links_a_module_endpoint():
    blueprints = _module_endpoints()
    assert {"notices", "tickets", "service", "property"} <= blueprints  # the scan sees them
    templates = [*(ROOT / "themes").rglob("*.html"),
                 *(p for p in RUNTIME.rglob("*.html") if MODULES not in p.parents)]
    offending = [f"{p.relative_to(ROOT)}: url_for('{m.group(1)}.…')" for p in templates
                 for m in LINK.finditer(p.read_text(encoding="utf-8"))
                 if m.group(1) in blueprints]
    assert offending == []


def test_the_scan_finds_what_it_forbids(tmp_path):
    """The import scan resolves relative imports, so a `from ..modules.x import y` is seen."""
    folder = tmp_path / "runtime" / "staff"
    folder.mkdir(parents=True)
    probe = folder / "probe.py"
    probe.write_text("from ..modules.tickets import service\nfrom ..modules import parts\n"
                     "import runtime.modules.notices.models\n")
    names = [name for _, name in _imports(probe, tmp_path)]
    assert names == ["runtime.modules.tickets.service", "runtime.modules.parts",
                     "runtime.modules.notices.models"]
    assert LINK.search("{{ url_for('notices.index') }}").group(1) == "notices"
