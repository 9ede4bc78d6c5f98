"""`portal preview INSTANCE --out DIR`: screenshots of the main screens, for approval.

The instance is never touched: its current release and data are copied to a temporary
folder (the SQLite database through SQLite's own backup, so a running portal is read
safely), without its settings.py, so the copy has its own SQLite database, no Redis and
no real e-mail. A copy without content gets the sample (runtime/sample.py); a copy with
content gets the sample password on one client and one staff account, in the copy only.
A child process serves the copy on a free local port; Playwright drives Chromium through
the screens at each width and writes full-page PNGs, thumbnails and an index.html.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

SCREENS = ("login", "home", "menu", "request", "ticket", "staff")
CHROMIUM = "/usr/bin/chromium"
THUMB_WIDTH = 240
# the contact sheet's own words, in the tenant's language: (lang, title, intro)
SHEET = {"pt-BR": ("pt-BR", "prévia", "{n} capturas de tela; selecione uma para abri-la em "
                                      "tamanho real."),
         "en": ("en", "preview", "{n} screenshots; select one to open it at full size."),
         "es": ("es", "vista previa", "{n} capturas de pantalla; seleccione una para abrirla "
                                      "a tamaño real.")}


class PreviewError(Exception):
    """A problem the consultant can act on (printed without a traceback)."""


@dataclass
class Shot:
    name: str
    width: int
    file: str
    thumb: str
    status: int | None = None


def copy_instance(instance: Path, target: Path) -> Path:
    """The instance's current release and data, copied to `target` (never its settings)."""
    release = (instance / "release").resolve()
    if not (release / "config.json").is_file():
        raise PreviewError(f"{instance}: not a built instance (no release); run portal build")
    copy = target / instance.name
    shutil.copytree(release, copy / ".releases" / release.name, symlinks=True,
                    ignore=shutil.ignore_patterns("*.lock", ".lease*"))
    (copy / "release").symlink_to(Path(".releases") / release.name)
    data = instance / "data"
    (copy / "data").mkdir()
    if data.is_dir():
        for item in data.iterdir():
            if item.name.startswith("portal.db"):
                continue  # below, through SQLite's backup (consistent even while served)
            if item.is_dir():
                shutil.copytree(item, copy / "data" / item.name, symlinks=True)
            elif item.is_file():
                shutil.copy2(item, copy / "data" / item.name)
        database = data / "portal.db"
        if database.is_file():
            source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
            dest = sqlite3.connect(copy / "data" / "portal.db")
            try:
                source.backup(dest)
            finally:
                source.close()
                dest.close()
    return copy


def _child_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of the serving copy: no PORTAL_* setting of the real instance."""
    env = {k: v for k, v in environ.items() if not k.startswith("PORTAL_")}
    env["PORTAL_MAIL"] = "outbox"
    return env


def _browser(playwright, chromium: str | None):
    executable = chromium or (CHROMIUM if Path(CHROMIUM).exists()
                                                       else None)
    try:
        return playwright.chromium.launch(executable_path=executable,
                                          args=["--no-sandbox", "--disable-gpu"])
    except Exception as exc:  # noqa: BLE001 - Playwright says what is missing
        raise PreviewError("cannot start Chromium: install Debian's chromium (apt-get install "
                           "chromium) or run `playwright install chromium`; "
                           f"{str(exc).splitlines()[0]}") from None


def _slug(text: str) -> str:
    import unicodedata

    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-") or "screen"


def run(instance: Path, out: Path, widths: list[int], screens: tuple[str, ...] = SCREENS,
        echo=print, environ: Mapping[str, str] | None = None) -> list[Shot]:
    """Render the screens of INSTANCE into OUT; return what was written.

    `environ` is the caller's environment (the CLI passes os.environ): the serving copy gets
    it without PORTAL_* settings, and PORTAL_CHROMIUM names the browser.
    """
    environ = dict(environ or {})
    try:
        from playwright.sync_api import Error as BrowserError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise PreviewError("portal preview needs Playwright: pip install -e '.[preview]' "
                           "(and Chromium: apt-get install chromium)") from None
    instance = instance.resolve()
    out.mkdir(parents=True, exist_ok=True)
    (out / "thumbs").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="portal-preview-") as tmp:
        copy = copy_instance(instance, Path(tmp))
        log = Path(tmp) / "server.log"  # a file: a pipe nobody reads would fill and block
        with log.open("w") as errors:
            child = subprocess.Popen([sys.executable, "-m", "runtime.preview", str(copy)],
                                     stdout=subprocess.PIPE, stderr=errors, text=True,
                                     env=_child_env(environ), cwd=tmp)
        try:
            line = child.stdout.readline()
            if not line:
                error = log.read_text().strip().splitlines()
                raise PreviewError("the copy of the instance did not start: "
                                   + (error[-1] if error else f"exit {child.wait()}"))
            plan = json.loads(line)
            if plan.get("seeded"):
                echo("the instance has no content: the preview shows sample content")
            base = f"http://127.0.0.1:{plan['port']}"
            with sync_playwright() as playwright:
                browser = _browser(playwright, environ.get("PORTAL_CHROMIUM"))
                try:
                    shots = [shot for width in widths
                             for shot in _width(browser, base, plan, width, screens, out, echo)]
                except BrowserError as exc:
                    raise PreviewError(f"the browser stopped: {str(exc).splitlines()[0]}") \
                        from None
                finally:
                    browser.close()
        finally:
            child.stdout.close()
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    _index(out, plan["tenant"], shots, plan["locale"])
    return shots


def _width(browser, base: str, plan: dict, width: int, screens, out: Path, echo) -> list[Shot]:
    shots: list[Shot] = []
    viewport = {"width": width, "height": 844 if width < 600 else 768}

    def shoot(page, name: str, status: int | None) -> None:
        page.wait_for_timeout(300)  # fades and the carousel's first slide
        file = f"{len(shots) + 1:02d}-{_slug(name)}-{width}.png"
        page.screenshot(path=str(out / file), full_page=True)
        thumb = f"thumbs/{file}"
        _thumbnail(out / file, out / thumb)
        shots.append(Shot(name, width, file, thumb, status))
        if status and status >= 400:
            echo(f"warning: {name} ({page.url}) answered {status}")
        echo(f"{out / file}")

    def visit(page, name: str, path: str) -> None:
        response = page.goto(base + path)
        shoot(page, name, response.status if response else None)

    context = browser.new_context(viewport=viewport, locale=plan["locale"],
                                      reduced_motion="reduce")
    try:
        page = context.new_page()
        if "login" in screens:
            visit(page, plan["labels"]["login"], "/login")
        if any(s in screens for s in ("home", "menu", "request", "ticket")):
            _login(page, base, plan["client"], plan["password"])
            if "home" in screens:
                visit(page, plan["labels"]["home"], "/")
            if "menu" in screens:
                for name, path in _menu(page, base):
                    visit(page, name, path)
            if "request" in screens and plan.get("request"):
                visit(page, plan["labels"]["request"], plan["request"])
            if "ticket" in screens and plan.get("ticket"):
                visit(page, plan["labels"]["ticket"], plan["ticket"])
    finally:
        context.close()
    if "staff" in screens and plan.get("staff"):
        context = browser.new_context(viewport=viewport, locale=plan["locale"],
                                      reduced_motion="reduce")
        try:
            page = context.new_page()
            _login(page, base, plan["staff"], plan["password"])
            visit(page, plan["labels"]["staff"], plan["staff_queue"])
        finally:
            context.close()
    return shots


def _login(page, base: str, identifier: str, password: str) -> None:
    """Log in as a person would: the screens before the portal are put off or answered
    with their first button, the pop-up of pending actions is closed."""
    page.goto(base + "/login")
    page.fill("#identifier", identifier)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url, timeout=15000)
    for _ in range(5):
        if "next=" not in urlsplit(page.url).query:
            break
        later = page.locator("main form button[type=submit][formnovalidate]")
        with page.expect_navigation():
            (later if later.count() else page.locator("main form button[type=submit]")) \
                .first.click()
    popup = page.locator(".modal[data-show-on-load]")
    if popup.count():
        page.wait_for_selector(".modal[data-show-on-load].show")
        page.wait_for_timeout(350)  # its fade-in: Escape is taken once it is shown
        page.keyboard.press("Escape")
        page.wait_for_selector(".modal[data-show-on-load]", state="hidden")


def _menu(page, base: str) -> list[tuple[str, str]]:
    """The side menu's own screens (each module, division group, page), in menu order."""
    page.goto(base + "/")
    found = page.eval_on_selector_all(
        "#portal-menu a[href]",
        "els => els.filter(a => a.target !== '_blank')"
        ".map(a => [a.textContent.trim().replace(/\\s+/g, ' '), a.getAttribute('href')])")
    seen, entries = {"/", ""}, []
    for name, href in found:
        parts = urlsplit(href)
        if parts.netloc and f"{parts.scheme}://{parts.netloc}" != base:
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if path in seen or parts.path.startswith(("/logout", "/static")):
            continue
        seen.add(path)
        entries.append((name or path, path))
    return entries


def _thumbnail(png: Path, target: Path) -> None:
    from PIL import Image

    with Image.open(png) as img:
        ratio = THUMB_WIDTH / img.width
        height = min(int(img.height * ratio), int(THUMB_WIDTH * 1.6))
        small = img.convert("RGB").resize((THUMB_WIDTH, max(1, int(img.height * ratio))),
                                          Image.LANCZOS).crop((0, 0, THUMB_WIDTH, height))
        small.save(target, "PNG", optimize=True)


def _index(out: Path, tenant: str, shots: list[Shot], locale: str = "en") -> None:
    """The contact sheet: one figure per screenshot, grouped by width."""
    widths = sorted({s.width for s in shots})
    sections = []
    for width in widths:
        figures = "\n".join(
            f'<figure><a href="{html.escape(s.file)}"><img src="{html.escape(s.thumb)}" '
            f'alt="{html.escape(s.name)}, {width} px" width="{THUMB_WIDTH}" loading="lazy">'
            f'</a><figcaption>{html.escape(s.name)} · {width} px</figcaption></figure>'
            for s in shots if s.width == width)
        sections.append(f"<section><h2>{width} px</h2>\n<div class=\"sheet\">\n{figures}\n"
                        "</div></section>")
    lang, word, intro = SHEET.get(locale, SHEET["en"])
    title = html.escape(f"{tenant} — {word}")
    (out / "index.html").write_text(f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: #1f2937; }}
.sheet {{ display: flex; flex-wrap: wrap; gap: 1.25rem; }}
figure {{ margin: 0; width: {THUMB_WIDTH}px; }}
figure img {{ display: block; border: 1px solid #9ca3af; max-width: 100%; height: auto; }}
figcaption {{ font-size: .875rem; margin-top: .35rem; }}
a:focus-visible {{ outline: 3px solid #1d4ed8; outline-offset: 2px; }}
</style></head>
<body><h1>{title}</h1>
<p>{html.escape(intro.format(n=len(shots)))}</p>
{''.join(sections)}
</body></html>
""", encoding="utf-8")


def _serve(copy: str) -> None:
    """In the child process: migrate the copy, fill it if empty, print the plan, serve."""
    from flask import url_for
    from flask_babel import gettext as _
    from flask_migrate import upgrade
    from sqlalchemy import select
    from werkzeug.serving import make_server

    from . import create_app, sample
    from .extensions import db
    from .models import User

    app = create_app(copy)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
        seeded = sample.has_content() is None
        if seeded:
            sample.seed()
        portal = app.extensions["portal"]
        plan = {"tenant": portal["tenant"]["name"], "locale": portal["tenant"]["locale"],
                "password": sample.PASSWORD, "seeded": seeded}
        client, staff = _accounts(db, select, User)
        with app.test_request_context():
            plan["labels"] = {"login": _("Log in"), "home": _("Home"),
                              "request": _("New request"), "ticket": _("Request"),
                              "staff": _("Tickets")}
            plan["client"] = client.email if client else None
            plan["staff"] = staff.email if staff else None
            if staff is not None and "service.staff_queue" in app.view_functions:
                plan["staff_queue"] = url_for("service.staff_queue")
            else:
                plan["staff"] = None
            plan["request"], plan["ticket"] = _request_and_ticket(app, portal, client)
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    plan["port"] = server.port
    print(json.dumps(plan), flush=True)
    server.serve_forever()


def _accounts(db, select, User):
    """A client who has a unit (the richest home) and a staff member; in the copy only, they
    get the sample password so the browser can log in."""
    from .erp.models import ContractParty
    from .sample import PASSWORD

    client = db.session.scalar(
        select(User).join(ContractParty, ContractParty.user_id == User.id)
        .where(User.role == "client", User.active.is_(True)).order_by(User.id).limit(1)) or \
        db.session.scalar(select(User).where(User.role == "client", User.active.is_(True))
                          .order_by(User.id).limit(1))
    staff = db.session.scalar(select(User).where(User.role.in_(("staff", "admin")),
                                                 User.active.is_(True))
                              .order_by(User.role.desc(), User.id).limit(1))
    for user in (client, staff):
        if user is not None:
            user.set_password(PASSWORD)
            if hasattr(user, "portal_access"):
                user.portal_access = True
    return client, staff


def _request_and_ticket(app, portal, client) -> tuple[str | None, str | None]:
    from flask import url_for

    request_url = ticket_url = None
    for group in portal["divisions"]:
        for division in group["divisions"]:
            if division.get("requests") and "service.new_request" in app.view_functions:
                request_url = url_for("service.new_request", division_id=division["id"],
                                      request_id=division["requests"][0]["id"])
                break
        if request_url:
            break
    if client is not None and "tickets.show" in app.view_functions:
        from sqlalchemy import select

        from .extensions import db

        tickets = db.metadata.tables["tickets"]  # the desk's table, named, not imported
        protocol = db.session.scalar(select(tickets.c.protocol).where(
            tickets.c.client_id == client.id).order_by(tickets.c.id.desc()).limit(1))
        if protocol:
            ticket_url = url_for("tickets.show", protocol=protocol)
    return request_url, ticket_url


if __name__ == "__main__":
    _serve(sys.argv[1])
