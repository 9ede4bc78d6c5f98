"""The client portal shell: menu, modules, theme, language, headers, errors."""

from __future__ import annotations

import io
import re

from generator.build import build
from tests.conftest import ROOT, AuthActions, add_user, login, make_app


def _menu_links(html: str) -> list[str]:
    return re.findall(r'class="portal-nav-link[^"]*" href="([^"]+)"', html)


def test_menu_follows_the_tenant_tree(sqlite_app):
    add_user(sqlite_app)
    client = sqlite_app.test_client()
    AuthActions(client).login()
    html = client.get("/faq").get_data(as_text=True)
    assert _menu_links(html) == ["/", "/notices", "/faq", "https://minimal.example"]
    assert re.search(r'portal-nav-link active" href="/faq"', html)
    assert 'href="https://minimal.example"\n       \n       target="_blank"' in html or \
        'target="_blank" rel="noopener noreferrer"' in html
    assert "Where are my documents?" in html and "<strong>Documents</strong>" in html


def test_a_module_absent_from_the_tenant_has_no_route_and_no_entry(tenant_file, tmp_path):
    text = tenant_file.read_text()
    text = text.replace("  faq:\n    items:\n      - q: Where are my documents?\n"
                        "        a: In **Documents**.\n", "")
    text = text.replace("  - { label: Help, icon: question-circle, module: faq }\n", "")
    tenant_file.write_text(text)
    app = make_app(build(str(tenant_file), tmp_path / "b").instance)
    add_user(app)
    client = app.test_client()
    AuthActions(client).login()
    assert client.get("/faq").status_code == 404
    assert "/faq" not in _menu_links(client.get("/").get_data(as_text=True))


def test_the_demo_tenant_expands_menus_pages_and_overrides(tmp_path):
    app = make_app(build(str(ROOT / "tenants/aurora/tenant.yaml"), tmp_path).instance)
    add_user(app)
    client = login(app, "maria@example.com")  # past the address check the demo asks at login
    html = client.get("/pages/manual").get_data(as_text=True)
    assert "Manual do proprietário" in html and "<h2>Garantias</h2>" in html
    assert "CRECI-SP 12345-J" in html  # the tenant's footer override
    assert 'aria-label="WhatsApp"' in html and "https://wa.me/5511940001234" in html
    assert '<html lang="pt-BR">' in html and "Sair" in html  # pt-BR interface
    home = client.get("/").get_data(as_text=True)
    assert "carousel" in home and 'alt="Entrega de chaves do Residencial Jardins"' in home


def test_a_markdown_page_keeps_its_title_and_its_tables_scroll(tmp_path):
    app = make_app(build(str(ROOT / "tenants/aurora/tenant.yaml"), tmp_path).instance)
    add_user(app)
    client = login(app, "maria@example.com")  # past the address check the demo asks at login
    html = client.get("/pages/manual").get_data(as_text=True)
    # "# Manual do proprietário" is the screen's one h1, not loose text in the card
    assert '<h1 class="portal-title">Manual do proprietário</h1>' in html
    assert html.count("<h1") == 1
    assert '<div class="table-scroll" tabindex="0"><table>' in html
    assert "<th>Item</th>" in html and "</table></div>" in html


def test_a_page_without_a_heading_shows_its_menu_label(tenant_dir, tmp_path):
    from generator.resolve import render_markdown

    assert render_markdown("###### Small\n\n<table>").startswith("<h6>Small</h6>")
    assert "&lt;table&gt;" in render_markdown("<table>")  # raw HTML stays text
    (tenant_dir / "guide.md").write_text("Just text.\n")
    tenant = tenant_dir / "tenant.yaml"
    tenant.write_text(tenant.read_text().replace(
        "  - { label: Help, icon: question-circle, module: faq }\n",
        "  - { label: Help, icon: question-circle, module: faq }\n"
        "  - { label: Owner guide, icon: book, page: guide.md }\n"))
    app = make_app(build(str(tenant), tmp_path / "b").instance)
    add_user(app)
    client = app.test_client()
    AuthActions(client).login()
    html = client.get("/pages/guide").get_data(as_text=True)
    assert '<h1 class="portal-title">Owner guide</h1>' in html and "Just text." in html


def test_division_groups_expand_to_divisions_accessible_to_clients(tmp_path):
    app = make_app(build(str(ROOT / "tenants/aurora/tenant.yaml"), tmp_path).instance)
    with app.test_request_context("/contact/assistencia/infiltracao"):
        from runtime.menu import build_menu

        [group] = [e for e in build_menu() if e.label == "Entrar em contato"]
        assert [(c.label, c.href, c.active) for c in group.children] == [
            ("Assistência Técnica", "/contact/assistencia", True),
            ("Relacionamento", "/contact/relacionamento", False),
        ]  # Financeiro is staff-only
        assert group.open


def test_english_tenant_speaks_english_and_shows_local_dates(sqlite_app):
    client = sqlite_app.test_client()
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in html and "Access your portal" in html


def test_security_headers(sqlite_app):
    response = sqlite_app.test_client().get("/login")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_hashed_static_files_are_cached_long(sqlite_app, built_instance):
    import json

    config = json.loads((built_instance / "release/config.json").read_text())
    response = sqlite_app.test_client().get(f"/static/{config['static']['theme_css']}")
    assert response.status_code == 200 and "max-age=31536000" in response.headers["Cache-Control"]
    response.close()


def test_errors_are_pages_not_tracebacks(sqlite_app):
    client = sqlite_app.test_client()
    add_user(sqlite_app)
    AuthActions(client).login()
    missing = client.get("/notices/999999")
    assert missing.status_code == 404
    assert "This page does not exist" in missing.get_data(as_text=True)
    sqlite_app.config["MAX_CONTENT_LENGTH"] = 1024
    big = client.post("/login", data={"f": (io.BytesIO(b"x" * 4096), "big.bin")},
                      content_type="multipart/form-data")
    assert big.status_code == 413 and "too large" in big.get_data(as_text=True)


def test_healthz(sqlite_app):
    assert sqlite_app.test_client().get("/healthz").get_json() == {"status": "ok",
                                                                  "tenant": "minimal"}


def test_translations_are_complete_and_current(tmp_path):
    from babel.messages.frontend import CommandLineInterface
    from babel.messages.pofile import read_po

    pot = tmp_path / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"),
                                "-k", "_l", "-k", "lazy_gettext", "-o", str(pot), str(ROOT)])
    with pot.open("rb") as fh:
        wanted = {m.id for m in read_po(fh) if m.id}
    assert len(wanted) > 150 and "Log in" in wanted
    for lang in ("pt_BR", "es"):
        path = ROOT / "runtime/translations" / lang / "LC_MESSAGES/messages.po"
        with path.open("rb") as fh:
            catalog = read_po(fh)
        have = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
        assert wanted - have == set(), f"{lang} lacks translations"


def _override(tenant_dir, files: dict[str, str]):
    """The minimal tenant built with these template overrides."""
    folder = tenant_dir / "overrides"
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    tenant = tenant_dir / "tenant.yaml"
    tenant.write_text(tenant.read_text().replace("branding:\n",
                                                 "branding:\n  templates: overrides/\n"))
    return make_app(build(str(tenant), tenant_dir.parent / "build").instance)


def test_an_override_extends_the_theme_footer_and_changes_one_block(tenant_dir):
    app = _override(tenant_dir, {"footer.html": (
        '{% extends "theme/footer.html" %}\n'
        '{% block extra %}<div class="legal">Reg. 12.345</div>{% endblock %}\n')})
    add_user(app)
    client = login(app, "maria@example.com")
    html = client.get("/faq").get_data(as_text=True)
    footer = html[html.index('<footer class="portal-footer">'):]
    # the theme's footer as it is (name, then contacts), with the one line added under the name
    assert re.search(r'<strong>Minimal Homes</strong>\s*<div class="legal">Reg\. 12\.345</div>'
                     r'\s*<div class="small">\s*<a href="mailto:help@minimal\.example">', footer)
    assert footer.count("<footer") == 1 and "</footer>" in footer


def test_one_layout_override_reaches_client_and_staff_screens(tenant_dir):
    app = _override(tenant_dir, {
        "layout.html": ('{% extends "theme/layout.html" %}\n'
                        '{% block head %}<meta name="tenant-extra" content="1">{% endblock %}\n'
                        '{% block brand_badge %}<span class="badge">Beta</span>{% endblock %}\n'),
        "auth_layout.html": ('{% extends "theme/auth_layout.html" %}\n'
                             '{% block below_form %}<p class="app-links">Get the app</p>'
                             '{% endblock %}\n')})
    login_page = app.test_client().get("/login").get_data(as_text=True)
    assert '<p class="app-links">Get the app</p>' in login_page
    assert login_page.index('name="password"') < login_page.index("Get the app") \
        < login_page.index("Need help?")  # below the form, above the support footer
    add_user(app)
    add_user(app, email="staff@example.com", role="staff", name="Sam Staff")
    client_page = login(app, "maria@example.com").get("/faq").get_data(as_text=True)
    staff_page = login(app, "staff@example.com").get("/staff/").get_data(as_text=True)
    for html in (client_page, staff_page):  # the head block is shared ...
        assert '<meta name="tenant-extra" content="1">' in html
    # ... and the staff console keeps its own badge, menu and user menu, and no footer
    assert '<span class="badge">Beta</span>' in client_page and "Beta" not in staff_page
    assert 'staff-badge' in staff_page and 'aria-label="Staff menu"' in staff_page
    assert "Open the client portal" in staff_page and "portal-footer" not in staff_page
    assert 'aria-label="Main menu"' in client_page and "portal-footer" in client_page
    assert "staff-badge" not in client_page and "Open the client portal" not in client_page
