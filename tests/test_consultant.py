"""The consultant's commands: `portal new` (starter, --from), per-locale bases with the
language warning, and `portal diff` (files, --git, json, exit codes)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli import main
from generator.build import build
from generator.loader import parse
from generator.validate import validate_file
from tests.conftest import ROOT


def _new(runner, tmp_path, *args):
    return runner.invoke(main, ["new", *args, "--dir", str(tmp_path / "tenants")])


@pytest.mark.parametrize("locale,words", [
    ("pt-BR", ["Entrar em contato", "Assistência Técnica", "Meus atendimentos"]),
    ("en", ["Contact us", "Technical assistance", "My requests"]),
    ("es", ["Contáctenos", "Asistencia técnica", "Mis solicitudes"]),
])
def test_starter_shows_the_whole_product_in_its_language_and_builds(runner, tmp_path, locale,
                                                                     words):
    result = _new(runner, tmp_path, "vila-nova", "--locale", locale)
    assert result.exit_code == 0, result.output
    path = tmp_path / "tenants" / "vila-nova" / "tenant.yaml"
    assert f"wrote {path}" in result.output
    assert f"portal validate --strict {path}" in result.output  # the next steps
    strict = runner.invoke(main, ["validate", "--strict", str(path)])
    assert strict.exit_code == 0, strict.output
    assert "warning" not in strict.output
    doc = validate_file(str(path)).document
    assert doc.data["tenant"]["locale"] == locale
    text = path.read_text(encoding="utf-8")
    for word in words:
        assert word in text
    # the service tree: groups > divisions > request types > fields
    group = doc.data["divisions"][0]
    assert [d["id"] for d in group["divisions"]] == ["assistencia", "relacionamento",
                                                      "financeiro"]
    assert any(r.get("fields") for d in group["divisions"] for r in d["requests"])
    # every module this release implements, each in the menu
    modules = set(doc.data["modules"])
    assert {"notices", "faq", "tickets", "finance", "profile", "unit", "contracts",
            "construction", "documents", "vouchers"} <= modules
    menu = json.dumps(doc.data["menu"])
    for module in modules - {"profile"}:
        assert f'"module": "{module}"' in menu
    # a placeholder logo: the initials on the tenant's primary colour
    logo = (path.parent / "assets" / "logo.svg").read_text()
    assert doc.data["branding"]["logo"] == "assets/logo.svg"
    assert f'fill="{doc.data["branding"]["colors"]["primary"]}"' in logo
    assert ">VN</text>" in logo and 'aria-label="Vila Nova"' in logo
    built = build(str(path), tmp_path / "build")
    config = json.loads((built.instance / "release" / "config.json").read_text())
    assert config["tenant"]["id"] == "vila-nova" and config["tenant"]["locale"] == locale


def test_new_refuses_to_overwrite_and_bad_input(runner, tmp_path):
    assert _new(runner, tmp_path, "obra-nova").exit_code == 0
    again = _new(runner, tmp_path, "obra-nova", "--locale", "en")
    assert again.exit_code == 1 and "exists already" in again.output
    assert _new(runner, tmp_path, "Obra_Nova").exit_code == 1
    wrong = _new(runner, tmp_path, "outra", "--locale", "fr")
    assert wrong.exit_code == 2 and "fr" in wrong.output
    missing = _new(runner, tmp_path, "outra", "--from", "tenants/nenhum/tenant.yaml")
    assert missing.exit_code == 1 and "no tenant or base file" in missing.output
    assert "Traceback" not in missing.output


def test_from_a_tenant_copies_its_folder_and_renames_it(runner, tmp_path):
    result = _new(runner, tmp_path, "boa-vista", "--from", str(ROOT / "tenants" / "aurora"))
    assert result.exit_code == 0, result.output
    path = tmp_path / "tenants" / "boa-vista" / "tenant.yaml"
    text = path.read_text(encoding="utf-8")
    assert "id: boa-vista" in text and 'name: "Boa Vista"' in text
    assert "id: aurora" not in text and "portal.aurora.com.br" not in text  # its domains stay
    assert (path.parent / "assets" / "logo.svg").is_file()  # assets, pages, overrides copied
    assert (path.parent / "overrides" / "footer.html").is_file()
    assert (path.parent / "pages" / "manual.md").is_file()
    check = runner.invoke(main, ["validate", str(path)])
    assert check.exit_code == 0, check.output  # its base is found from the new place
    data = validate_file(str(path)).document.data
    assert data["tenant"]["id"] == "boa-vista" and "domains" not in data["tenant"]
    assert data["modules"] == validate_file(
        str(ROOT / "tenants" / "aurora" / "tenant.yaml")).document.data["modules"]


def test_a_copy_keeps_its_language(runner, tmp_path):
    result = _new(runner, tmp_path, "boa-vista", "--from", str(ROOT / "tenants" / "aurora"),
                  "--locale", "en")
    assert result.exit_code == 1 and "a copy keeps the language" in result.output
    assert not (tmp_path / "tenants" / "boa-vista").exists()


def test_from_a_base_extends_it_in_the_base_language(runner, tmp_path):
    base = ROOT / "tenants" / "_base" / "construtora.es.yaml"
    result = _new(runner, tmp_path, "casa-sur", "--from", str(base))
    assert result.exit_code == 0, result.output
    path = tmp_path / "tenants" / "casa-sur" / "tenant.yaml"
    doc = validate_file(str(path)).document
    assert doc.data["tenant"]["locale"] == "es"
    assert (path.parent / parse(str(path)).data["extends"]).resolve() == base.resolve()
    assert doc.data["divisions"][0]["label"] == "Contáctenos"
    strict = runner.invoke(main, ["validate", "--strict", str(path)])
    assert strict.exit_code == 0, strict.output


def test_bases_exist_per_locale_with_the_same_ids():
    def ids(name):
        data = validate_file(str(ROOT / "tenants" / "_base" / name)).document.data
        return [(d["id"], [r["id"] for r in d["requests"]])
                for g in data["divisions"] for d in g["divisions"]]

    assert ids("construtora.yaml") == ids("construtora.en.yaml") == ids("construtora.es.yaml")


def _tenant(folder: Path, locale: str, base: str, label: str = "Novedades") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tenant.yaml"
    rel = Path("..") / "_base" / base
    path.write_text(
        "schema_version: 1\n"
        f"extends: {rel.as_posix()}\n"
        "tenant:\n  id: hola\n  name: Hola\n"
        f"  locale: {locale}\n  timezone: America/Argentina/Buenos_Aires\n"
        "  support_email: hola@example.com\n"
        'branding:\n  colors: { primary: "#0B4F8A", secondary: "#F2A900" }\n'
        "modules:\n  notices: {}\n"
        f"menu:\n  - {{ label: {label}, icon: megaphone, module: notices }}\n",
        encoding="utf-8")
    return path


def test_language_warning_names_the_base_file(runner, tmp_path):
    shutil.copytree(ROOT / "tenants" / "_base", tmp_path / "tenants" / "_base")
    path = _tenant(tmp_path / "tenants" / "hola", "es", "construtora.yaml")
    result = runner.invoke(main, ["validate", str(path)])
    assert result.exit_code == 0, result.output  # a warning, not an error
    lines = [line for line in result.output.splitlines() if "look Portuguese" in line]
    assert len(lines) == 1, result.output
    base = tmp_path / "tenants" / "_base" / "construtora.yaml"
    line = next(i for i, text in enumerate(base.read_text().splitlines(), 1)
                if "label: Entrar em contato" in text)
    where, rest = lines[0].split(": ", 1)
    assert os.path.normpath(where) == f"{base}:{line}:12"
    assert rest.startswith("divisions[0].label: warning: texts in the base ")
    assert "tenant.locale is es (Spanish)" in lines[0]
    assert f"extend {tmp_path / 'tenants' / '_base' / 'construtora.es.yaml'} instead" in lines[0]
    assert runner.invoke(main, ["validate", "--strict", str(path)]).exit_code == 1
    # on the Spanish base: no warning
    path = _tenant(tmp_path / "tenants" / "hola", "es", "construtora.es.yaml")
    clean = runner.invoke(main, ["validate", "--strict", str(path)])
    assert clean.exit_code == 0, clean.output


def test_language_warning_on_the_tenant_own_texts(runner, tmp_path):
    shutil.copytree(ROOT / "tenants" / "_base", tmp_path / "tenants" / "_base")
    path = _tenant(tmp_path / "tenants" / "hola", "en", "construtora.en.yaml",
                   label="Avisos da obra")
    faq = ('  faq:\n    items:\n      - { q: "Como falo com a construtora?", '
           'a: "Pelo e-mail, de segunda a sexta." }\n')
    path.write_text(path.read_text().replace("modules:\n  notices: {}\n",
                                             "modules:\n  notices: {}\n" + faq))
    result = runner.invoke(main, ["validate", str(path)])
    assert "look Portuguese" in result.output and "tenant.locale is en (English)" in result.output
    assert f"{path}:" in result.output
    # the shipped tenants are written in their own language
    for tenant in ("aurora", "northwind"):
        shipped = runner.invoke(main, ["validate", str(ROOT / "tenants" / tenant / "tenant.yaml")])
        assert "look " not in shipped.output, shipped.output


@pytest.fixture
def pair(tmp_path):
    """Two copies of aurora (and its base) side by side: old/ and new/."""
    for side in ("old", "new"):
        shutil.copytree(ROOT / "tenants" / "aurora", tmp_path / side / "aurora",
                        ignore=shutil.ignore_patterns("erp"))
        shutil.copytree(ROOT / "tenants" / "_base", tmp_path / side / "_base")
    return tmp_path / "old" / "aurora" / "tenant.yaml", tmp_path / "new" / "aurora" / "tenant.yaml"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_diff_names_paths_and_values(runner, pair):
    old, new = pair
    same = runner.invoke(main, ["diff", str(old), str(new)])
    assert same.exit_code == 0 and same.stdout == "", same.output
    _edit(new.parent.parent / "_base" / "construtora.yaml", "sla_hours: 72", "sla_hours: 96")
    _edit(new, "  - { label: Pesquisa de satisfação, icon: clipboard-check, module: survey }\n", "")
    _edit(new, "{ label: Avisos, icon: megaphone, module: notices }",
          "{ label: Novidades, icon: megaphone, module: notices }")
    _edit(new, "  - { label: Site da Aurora", "  - { label: Blog, icon: rss, url: "
          '"https://blog.aurora.com.br" }\n  - { label: Site da Aurora')
    (new.parent / "assets" / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    _edit(new, "  notices:\n    timeline: true\n", "  notices:\n    timeline: false\n")
    result = runner.invoke(main, ["diff", str(old), str(new)])
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert "divisions[group=contato].divisions[id=assistencia].sla_hours: 72 -> 96" in lines
    assert "modules.notices.timeline: true -> false" in lines
    assert 'menu[module=notices].label: "Avisos" -> "Novidades"' in lines
    assert 'menu[module=survey]: removed (was "Pesquisa de satisfação (module survey)")' in lines
    assert 'menu[url=https://blog.aurora.com.br]: added "Blog (url https://blog.aurora.com.br)"' \
        in lines
    assert any(line.startswith("branding.logo: file content changed (sha256 ")
               for line in lines), lines
    assert "5 change(s)" not in result.stdout  # the summary goes to stderr
    data = json.loads(runner.invoke(main, ["diff", "--format", "json", str(old),
                                           str(new)]).stdout)
    assert data["identical"] is False
    sla = next(c for c in data["changes"] if c["path"].endswith("sla_hours"))
    assert sla == {"path": "divisions[group=contato].divisions[id=assistencia].sla_hours",
                   "change": "changed", "old": 72, "new": 96}


def test_diff_matches_by_id_not_position(runner, pair):
    old, new = pair
    # the finance items swapped: no change of values, only of order
    _edit(new, "      - id: boleto\n        label: 2ª via de boleto\n        url: "
               "https://erp.aurora.com.br/portal/boleto?cpf={customer.document}\n", "")
    _edit(new, "      - id: renegotiation\n", "      - id: boleto\n        label: 2ª via de "
          "boleto\n        url: https://erp.aurora.com.br/portal/boleto?cpf={customer.document}"
          "\n      - id: renegotiation\n")
    lines = runner.invoke(main, ["diff", str(old), str(new)]).stdout.splitlines()
    assert lines == ['modules.finance.items (order of ids): ["boleto", "statement", '
                     '"renegotiation"] -> ["statement", "boleto", "renegotiation"]']


def test_diff_exit_2_on_an_invalid_file(runner, pair):
    old, new = pair
    _edit(new, "locale: pt-BR", "locale: pt")
    result = runner.invoke(main, ["diff", str(old), str(new)])
    assert result.exit_code == 2
    assert f"{new}:" in result.output and "tenant.locale" in result.output
    assert "Traceback" not in result.output


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.email=c@example.com", "-c",
                    "user.name=Consultant", *args], check=True, capture_output=True)


def test_diff_against_git(runner, tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "tenants" / "aurora", repo / "tenants" / "aurora",
                    ignore=shutil.ignore_patterns("erp"))
    shutil.copytree(ROOT / "tenants" / "_base", repo / "tenants" / "_base")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "aurora")
    monkeypatch.chdir(repo / "tenants")  # --git from inside the repository, any folder
    tenant = "aurora/tenant.yaml"
    same = runner.invoke(main, ["diff", tenant, "--git", "HEAD"])
    assert same.exit_code == 0, same.output
    _edit(repo / "tenants" / "_base" / "construtora.yaml", "sla_hours: 48", "sla_hours: 24")
    _edit(repo / "tenants" / tenant, "primary: \"#0B4F8A\"", "primary: \"#0A3D6B\"")
    result = runner.invoke(main, ["diff", tenant, "--git", "HEAD"])
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [  # in the order of a tenant file
        'branding.colors.primary: "#0B4F8A" -> "#0A3D6B"',
        "divisions[group=contato].divisions[id=relacionamento].sla_hours: 48 -> 24",
    ]
    bad = runner.invoke(main, ["diff", tenant, "--git", "no-such-branch"])
    assert bad.exit_code == 2 and '"no-such-branch" is not a revision' in bad.output
    elsewhere = tmp_path / "loose.yaml"
    shutil.copy(repo / "tenants" / tenant, elsewhere)
    outside = runner.invoke(main, ["diff", str(elsewhere), "--git", "HEAD"])
    assert outside.exit_code == 2 and "Traceback" not in outside.output
    # an invalid version in git: its diagnostics name it REV:path
    broken = (repo / "tenants" / tenant).read_text().replace("locale: pt-BR", "locale: pt")
    good = (repo / "tenants" / tenant).read_text()
    (repo / "tenants" / tenant).write_text(broken)
    _git(repo, "commit", "-q", "-am", "broken")
    (repo / "tenants" / tenant).write_text(good)
    invalid = runner.invoke(main, ["diff", tenant, "--git", "HEAD"])
    assert invalid.exit_code == 2
    assert "HEAD:tenants/aurora/tenant.yaml:9:11: tenant.locale: " in invalid.output
    usage = runner.invoke(main, ["diff", tenant])
    assert usage.exit_code == 2 and "--git REV" in usage.output


def test_new_and_diff_do_not_import_flask(tmp_path):
    folder = str(tmp_path / "tenants")
    code = ("import sys, cli; from click.testing import CliRunner; "
            f"r = CliRunner().invoke(cli.main, ['new', 'sem-flask', '--dir', {folder!r}]); "
            "assert r.exit_code == 0, r.output; "
            "a = 'tenants/aurora/tenant.yaml'; "
            "r = CliRunner().invoke(cli.main, ['diff', a, a]); "
            "assert r.exit_code == 0, r.output; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('flask', 'runtime', 'sqlalchemy', 'werkzeug')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "[]"
