"""portal seed INSTANCE --sample (any tenant's sample content) and portal preview (screenshots
of a copy, never of the instance itself)."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest
from conftest import CHROMIUM, ROOT, submit

from cli import main

SAMPLE_PASSWORD = "demo-portal-2026"


def _built(tmp_path: Path, runner, which: str) -> Path:
    """tenants/northwind, or a `portal new` starter (pt-BR, every module), built."""
    from generator.build import build

    tenants = tmp_path / "tenants"
    if which == "northwind":
        shutil.copytree(ROOT / "tenants" / "northwind", tenants / "northwind")
        tenant = tenants / "northwind" / "tenant.yaml"
    else:
        result = runner.invoke(main, ["new", "vila-nova", "--dir", str(tenants),
                                      "--locale", which])
        assert result.exit_code == 0, result.output
        tenant = tenants / "vila-nova" / "tenant.yaml"
    return build(str(tenant), tmp_path / "build").instance


def _on(db_url: str, instance: Path, monkeypatch) -> None:
    """Point the CLI at db_url, on a clean schema for PostgreSQL."""
    if db_url.startswith("postgresql"):
        import sqlalchemy

        engine = sqlalchemy.create_engine(db_url)
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    else:
        db_url = f"sqlite:///{instance / 'data' / 'portal.db'}"
    monkeypatch.setenv("PORTAL_DATABASE_URL", db_url)


def _logins(output: str) -> list[tuple[str, str, str]]:
    """(role, e-mail, CPF) of each login line the command printed."""
    found = re.findall(r"^\s+(client|syndic|staff|admin)\s+(\S+@\S+?)(?:, CPF ([\d.-]+))?"
                       r"(?: or phone .*)?$", output, re.M)
    return [(role, email, cpf) for role, email, cpf in found]


def _client_of(instance: Path, db_url: str):
    from runtime import create_app

    return create_app(instance, {"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url})


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
@pytest.mark.parametrize("which, expected", [
    ("northwind", ["Homeowners' association meeting", "Unit inspections"]),
    ("pt-BR", ["Assembleia de instalação do condomínio", "Residencial Bela Vista"]),
])
def test_sample_seed_gives_clients_who_log_in_and_see_content(
        tmp_path, runner, monkeypatch, request, db, which, expected):
    from runtime.brdocs import is_cpf

    instance = _built(tmp_path, runner, which)
    db_url = (request.getfixturevalue("postgres_url") if db == "postgresql"
              else f"sqlite:///{instance / 'data' / 'portal.db'}")
    _on(db_url, instance, monkeypatch)
    result = runner.invoke(main, ["seed", str(instance), "--sample"])
    assert result.exit_code == 0, result.output
    logins = _logins(result.output)
    clients = [(email, cpf) for role, email, cpf in logins if role == "client"]
    assert len(clients) >= 3 and {"staff", "admin"} <= {role for role, _, _ in logins}
    assert all(is_cpf(cpf) for _, cpf in clients), clients
    assert SAMPLE_PASSWORD in result.output

    app = _client_of(instance, db_url)
    browser = app.test_client()
    email, cpf = clients[0]
    # a client logs in with the printed CPF, as on the login page
    answer = submit(browser, "/login", {"identifier": cpf, "password": SAMPLE_PASSWORD,
                                        "kind": "client"})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    with browser.session_transaction() as session:  # past the after-login screens
        session.pop("portal.gates", None)
        session.pop("portal.pending", None)
    home = browser.get("/").get_data(as_text=True)
    for text in expected:
        assert text.replace("'", "&#39;") in home
    if which == "pt-BR":  # requests of the starter's own request types, with their answers
        tickets = browser.get("/tickets").get_data(as_text=True)
        assert "Infiltração" in tickets
        assert "Planta" in browser.get("/documents").get_data(as_text=True)
    # a second run never mixes the sample with what is there
    again = runner.invoke(main, ["seed", str(instance), "--sample"])
    assert again.exit_code == 1
    assert "already has content" in again.output
    from runtime.extensions import db as database

    with app.app_context():
        database.engine.dispose()


def test_sample_seed_in_spanish(tmp_path, runner, monkeypatch):
    instance = _built(tmp_path, runner, "es")
    _on("sqlite", instance, monkeypatch)
    result = runner.invoke(main, ["seed", str(instance), "--sample"])
    assert result.exit_code == 0, result.output
    assert "lucia.fernandez@example.com" in result.output
    app = _client_of(instance, f"sqlite:///{instance / 'data' / 'portal.db'}")
    browser = app.test_client()
    assert submit(browser, "/login", {"identifier": "lucia.fernandez@example.com",
                                      "password": SAMPLE_PASSWORD,
                                      "kind": "client"}).status_code == 302
    with browser.session_transaction() as session:
        session.pop("portal.gates", None)
        session.pop("portal.pending", None)
    home = browser.get("/").get_data(as_text=True)
    assert "Asamblea de constitución de la comunidad" in home
    from sqlalchemy import select

    from runtime.extensions import db
    from runtime.modules.scheduling.models import Appointment
    from runtime.modules.survey.models import SurveyAnswer

    with app.app_context():  # the modules' demo seeds' words follow the language too
        texts = [*db.session.scalars(select(Appointment.note)),
                 *db.session.scalars(select(SurveyAnswer.text))]
        db.engine.dispose()
    assert "Me gustaría ver la zona de ocio." in texts
    assert not [t for t in texts if t and ("Gostaria" in t or "Atendimento" in t)]


def test_preview_renders_a_copy_and_leaves_the_instance_alone(tmp_path, runner, monkeypatch):
    if not CHROMIUM:
        pytest.skip("chromium is not installed")
    from PIL import Image, ImageStat

    monkeypatch.setenv("PORTAL_CHROMIUM", CHROMIUM)
    instance = _built(tmp_path, runner, "northwind")
    _on("sqlite", instance, monkeypatch)
    assert runner.invoke(main, ["db", "upgrade", str(instance)]).exit_code == 0
    database = instance / "data" / "portal.db"
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    out = tmp_path / "shots"
    result = runner.invoke(main, ["preview", str(instance), "--out", str(out),
                                  "--widths", "390", "--screens", "login,home"])
    assert result.exit_code == 0, result.output
    assert "sample content" in result.output  # the empty instance is previewed filled
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before
    pngs = sorted(out.glob("*.png"))
    assert [p.name for p in pngs] == ["01-log-in-390.png", "02-home-390.png"]
    for png in pngs:
        with Image.open(png) as img:
            assert img.width == 390
            assert max(ImageStat.Stat(img.convert("L")).stddev) > 10, f"{png.name} is blank"
    index = (out / "index.html").read_text()
    assert "Northwind Homes" in index
    for png in pngs:
        assert f'href="{png.name}"' in index and (out / "thumbs" / png.name).is_file()
    assert "Home · 390 px" in index


def test_preview_refuses_bad_options_clearly(tmp_path, runner):
    result = runner.invoke(main, ["preview", str(tmp_path), "--out", str(tmp_path / "o"),
                                  "--widths", "wide"])
    assert result.exit_code == 2 and "--widths" in result.output
    result = runner.invoke(main, ["preview", str(tmp_path), "--out", str(tmp_path / "o"),
                                  "--screens", "login,everything"])
    assert result.exit_code == 2 and "everything" in result.output
    result = runner.invoke(main, ["preview", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "not a built instance" in result.output
