"""The satisfaction survey (modules.survey): first-login gate, answering, results, sending."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import event

from tests.conftest import (
    PASSWORD,
    add_user,
    import_estate,
    is_session_lookup,
    login,
    make_app,
    outbox,
    submit,
)

SURVEY = """\
  survey:
    first_login: true
    questions:
      - { id: nps, type: nps, text: "How likely are you to recommend us?" }
      - { id: service, type: rating, text: "How was our service?", required: false }
      - { id: channel, type: choice, text: "How did you find us?", options: [Site, Friend, Stand] }
      - { id: topics, type: multiple, text: "What news do you want?", required: false,
          options: [Works, Finance] }
      - { id: comment, type: text, text: "Anything else?", required: false }
"""


@pytest.fixture
def survey_instance(tenant_dir, tmp_path):
    from generator.build import build

    tenant = tenant_dir / "tenant.yaml"
    text = tenant.read_text(encoding="utf-8")
    text = text.replace("modules:\n", "modules:\n" + SURVEY)
    text = text.replace("menu:\n", "menu:\n  - { label: Survey, icon: clipboard-check, "
                                   "module: survey }\n")
    tenant.write_text(text, encoding="utf-8")
    return build(str(tenant), tmp_path / "build").instance


@pytest.fixture(params=["sqlite", "postgresql"])
def survey_url(request, survey_instance) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{survey_instance / 'data' / 'portal.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def app(survey_instance, survey_url):
    application = make_app(survey_instance, survey_url)
    add_user(application, "maria@example.com", name="Maria Souza")
    add_user(application, "staff@example.com", role="staff", name="Sam Staff")
    yield application
    from runtime.extensions import db

    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def estate(survey_instance, survey_url):
    """The ERP sample (two developments, their clients) on the survey tenant."""
    application = import_estate(survey_instance, survey_url)
    add_user(application, "staff@example.com", role="staff", name="Sam Staff")
    yield application
    from runtime.extensions import db

    with application.app_context():
        db.engine.dispose()


def _login(client, email="maria@example.com"):
    return submit(client, "/login", {"identifier": email, "password": PASSWORD,
                                     "kind": "client"})


ANSWERS = {"q_nps": "9", "q_service": "4", "q_channel": "Friend", "q_topics": ["Works"],
           "q_comment": "Great team", "action": "send"}


def _answer(client, url="/survey/answer", data=None, **kwargs):
    return submit(client, url, data or ANSWERS, page=url, **kwargs)


# -- the first-login gate ------------------------------------------------------------------

def test_first_login_asks_the_survey_before_anything_else_and_later_at_most_3_times(app):
    for _attempt in range(3):
        client = app.test_client()
        assert _login(client).status_code == 302
        page = client.get("/faq")
        assert page.status_code == 302
        assert page.headers["Location"] == "/survey/answer?next=/faq"
        html = client.get(page.headers["Location"]).get_data(as_text=True)
        assert "How likely are you to recommend us?" in html and "Answer later" in html
        later = submit(client, "/survey/answer?next=/faq", {"action": "later"},
                       page="/survey/answer?next=/faq")
        assert later.status_code == 303 and later.headers["Location"] == "/faq"
        assert client.get("/faq").status_code == 200  # not asked again in this session
    client = app.test_client()
    _login(client)
    assert client.get("/faq").status_code == 200  # a fourth login: not forced any more
    listing = client.get("/survey").get_data(as_text=True)
    assert "Welcome survey" in listing and 'href="/survey/answer"' in listing


def test_answering_at_the_gate_stores_it_once_and_goes_on(app):
    client = app.test_client()
    _login(client)
    done = _answer(client, "/survey/answer?next=/faq")
    assert done.status_code == 303 and done.headers["Location"] == "/faq"
    assert client.get("/faq").status_code == 200
    again = _answer(client, "/survey/answer", follow_redirects=True)
    assert "You had already answered this survey" in again.get_data(as_text=True)
    assert "You already answered this survey" in client.get("/survey/answer").get_data(as_text=True)
    mine = client.get("/survey").get_data(as_text=True)
    assert "No survey is waiting for you" in mine
    for text in ("How did you find us?", "Friend", "Works", "Great team", "9"):
        assert text in mine
    other = app.test_client()
    _login(other)
    assert other.get("/faq").status_code == 200  # answered: the gate never comes back
    from runtime.extensions import db
    from runtime.modules.survey.models import SurveyAnswer, SurveyResponse

    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(SurveyResponse.id))) == 1
        assert sorted(db.session.scalars(db.select(SurveyAnswer.question))) == \
            ["channel", "comment", "nps", "service", "topics"]


def test_required_questions_and_bad_values_are_errors_next_to_their_field(app):
    client = login(app, "maria@example.com")
    response = _answer(client, data={"q_nps": "11", "q_comment": "x" * 2001, "action": "send"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert html.count("Please answer this question.") >= 1  # channel (its own id)
    assert 'id="q_channel-error"' in html and 'aria-describedby="q_channel-error"' in html
    assert 'id="q_nps-error"' in html and 'href="#q_nps"' in html  # 11 is not on the scale
    assert "Please keep it under 2000 characters." in html
    assert 'value="Friend"' in html  # the form is shown again
    from runtime.extensions import db
    from runtime.modules.survey.models import SurveyResponse

    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(SurveyResponse.id))) == 0
    # optional questions may stay empty
    ok = _answer(client, data={"q_nps": "0", "q_channel": "Site", "action": "send"})
    assert ok.status_code == 303


def test_staff_and_forged_posts(app):
    staff = login(app, "staff@example.com")
    assert staff.get("/survey").status_code == 404
    assert staff.get("/survey/answer").status_code == 404
    client = login(app, "maria@example.com")
    assert client.post("/survey/answer", data=ANSWERS).status_code == 400  # no CSRF token
    assert client.post("/survey/answer", data={"action": "later"}).status_code == 400
    _answer(client)
    assert client.get("/staff/survey").status_code == 403
    assert client.get("/staff/survey/send").status_code == 403
    assert client.get("/survey/999").status_code == 404


# -- staff: results, filters, export ---------------------------------------------------------

def _responses(app, rows):
    """rows: (user email, nps, channel, comment, days ago)."""
    from runtime.extensions import db
    from runtime.models import User, utcnow
    from runtime.modules.survey.models import SurveyAnswer, SurveyResponse

    with app.app_context():
        for email, nps, channel, comment, days in rows:
            user = db.session.scalar(db.select(User).where(User.email == email))
            if user is None:
                user = User(email=email, name=email.split("@")[0].title(), role="client")
                db.session.add(user)
                db.session.flush()
            r = SurveyResponse(user_id=user.id, occasion="login",
                               submitted_at=utcnow() - timedelta(days=days))
            r.answers.append(SurveyAnswer(question="nps", number=nps))
            r.answers.append(SurveyAnswer(question="channel", text=channel))
            if comment:
                r.answers.append(SurveyAnswer(question="comment", text=comment))
            db.session.add(r)
        db.session.commit()


def test_results_show_nps_charts_with_a_table_and_comments(app):
    _responses(app, [("a@x.com", 10, "Site", "Lovely", 1), ("b@x.com", 9, "Site", None, 2),
                     ("c@x.com", 8, "Friend", None, 3), ("d@x.com", 3, "Stand", "Slow", 4),
                     ("e@x.com", 6, "Site", None, 40)])
    staff = login(app, "staff@example.com")
    html = staff.get("/staff/survey").get_data(as_text=True)
    assert "5 clients answered" in html
    # (2 promoters - 2 detractors) / 5 = 0
    score = re.search(r'nps-score">(-?\d+)<', html).group(1)
    assert score == "0"
    assert "Promoters (9–10)" in html and "Detractors (0–6)" in html
    charts = re.findall(r'<svg class="survey-chart"[^>]*role="img"[^>]*>', html)
    assert len(charts) == 2  # nps and channel; nobody rated the service nor ticked topics
    assert html.count("No answers in this selection.") == 2
    assert "Site: 3 (60%)" in html  # the chart's description reads every value
    assert '<th scope="row" class="fw-normal text-break">Site</th><td class="text-end">3</td>' \
        in html
    assert "Lovely" in html and "Slow" in html
    from runtime.modules.survey import service

    service.COMMENTS = 1  # the card then shows the latest one and links to them all
    try:
        html = staff.get("/staff/survey").get_data(as_text=True)
    finally:
        service.COMMENTS = 10
    assert "Lovely" in html and "Slow" not in html
    assert 'href="/staff/survey/comments/comment">Read them all</a>' in html
    every = staff.get("/staff/survey/comments/comment").get_data(as_text=True)
    assert "2 answers" in every and "Lovely" in every and "Slow" in every
    assert "Slow" not in staff.get("/staff/survey/comments/comment?start="
                                     f"{(date.today() - timedelta(days=3)).isoformat()}"
                                     ).get_data(as_text=True)
    assert staff.get("/staff/survey/comments/nps").status_code == 404
    recent = staff.get(f"/staff/survey?start={(date.today() - timedelta(days=10)).isoformat()}")
    assert "4 clients answered" in recent.get_data(as_text=True)
    bad = staff.get("/staff/survey?start=2026-05-01&end=2026-04-01").get_data(as_text=True)
    assert "Must not be before the start." in bad


def test_csv_export_is_formula_safe_and_follows_the_filters(app):
    _responses(app, [("a@x.com", 10, "Site", "=HYPERLINK(\"http://evil\")", 1),
                     ("b@x.com", 2, "Stand", None, 30)])
    staff = login(app, "staff@example.com")
    response = staff.get("/staff/survey/answers.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Answered at", "Occasion", "Client"]
    assert "How likely are you to recommend us?" in rows[0]
    assert len(rows) == 3
    assert rows[2][rows[0].index("Anything else?")].startswith("'=HYPERLINK")
    since = (date.today() - timedelta(days=5)).isoformat()
    rows = list(csv.reader(io.StringIO(staff.get(f"/staff/survey/answers.csv?start={since}")
                                       .get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 2


# -- sending to a development --------------------------------------------------------------

def test_staff_send_the_survey_to_a_developments_clients(estate):
    from runtime.erp.models import Development
    from runtime.extensions import db

    with estate.app_context():
        jardins = db.session.scalar(db.select(Development.id)
                                    .where(Development.external_id == "JAR"))
        vista = db.session.scalar(db.select(Development.id)
                                  .where(Development.external_id == "VV"))
    staff = login(estate, "staff@example.com")
    assert f'<option selected value="{jardins}">' in staff.get(
        f"/staff/survey/send?development={jardins}").get_data(as_text=True)
    empty = submit(staff, "/staff/survey/send", {"development": "", "title": ""})
    assert empty.status_code == 400
    assert "Choose the development whose clients get the survey." in empty.get_data(as_text=True)
    sent = submit(staff, "/staff/survey/send", {"development": str(jardins),
                                                "title": "After key delivery"},
                  follow_redirects=True)
    html = sent.get_data(as_text=True)
    assert "Survey sent to" in html and "After key delivery" in html
    mails = [m for m in outbox(estate) if "After key delivery" in m["Subject"]]
    assert mails and "maria.souza@example.com" in {m["To"] for m in mails}
    body = next(m for m in mails if m["To"] == "maria.souza@example.com") \
        .get_body(("plain",)).get_content()
    link = re.search(r"https?://\S+(/survey/\d+)", body).group(1)
    maria = estate.test_client()
    _login(maria, "maria.souza@example.com")
    _answer(maria, "/survey/answer")  # the first-login survey out of the way
    assert "After key delivery" in maria.get("/survey").get_data(as_text=True)
    assert maria.get(link).status_code == 200
    assert _answer(maria, link).status_code == 303
    # Pedro's unit is in Vista Verde only: the sending is not his
    pedro = estate.test_client()
    _login(pedro, "pedro.alves@example.com")
    assert pedro.get(link).status_code == 404
    assert "After key delivery" not in pedro.get("/survey").get_data(as_text=True)
    assert vista != jardins
    listing = staff.get("/staff/survey/send").get_data(as_text=True)
    assert "After key delivery" in listing
    results = staff.get(f"/staff/survey?development={jardins}").get_data(as_text=True)
    assert "1 client answered" in results or "2 clients answered" in results


# -- the pop-up and the statement budget --------------------------------------------------

def test_an_open_survey_is_a_pending_action(app):
    client = app.test_client()
    _login(client)
    for _ in range(3):  # postponed at the gate
        submit(client, "/survey/answer?next=/", {"action": "later"}, page="/survey/answer?next=/")
        client = app.test_client()
        _login(client)
    assert 'data-pending-url="/pending"' in client.get("/").get_data(as_text=True)
    popup = client.get("/pending").get_data(as_text=True)
    assert "A survey waits for your answers" in popup and 'href="/survey/answer"' in popup


def test_pages_stay_within_8_statements_at_10000_answers(app):
    from runtime.extensions import db
    from runtime.models import User, utcnow
    from runtime.modules.survey.models import SurveyAnswer, SurveyResponse

    with app.app_context():
        db.session.execute(db.insert(User), [
            {"email": f"c{i}@x.com", "name": f"C {i}", "role": "client", "active": True}
            for i in range(2000)])
        ids = db.session.scalars(db.select(User.id).where(User.email.like("c%@x.com"))).all()
        now = utcnow()
        db.session.execute(db.insert(SurveyResponse), [
            {"user_id": u, "occasion": "login", "submitted_at": now - timedelta(hours=i)}
            for i, u in enumerate(ids)])
        responses = db.session.scalars(db.select(SurveyResponse.id)).all()
        db.session.execute(db.insert(SurveyAnswer), [
            {"response_id": r, "question": q, "number": n, "text": t}
            for i, r in enumerate(responses)
            for q, n, t in (("nps", i % 11, None), ("service", i % 5 + 1, None),
                            ("channel", None, ("Site", "Friend", "Stand")[i % 3]),
                            ("topics", None, "Works"), ("comment", None, f"Comment {i}"))])
        db.session.commit()
        assert db.session.scalar(db.select(db.func.count(SurveyAnswer.id))) == 10_000
        engine = db.engine
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if not is_session_lookup(statement):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        for who, pages in (("maria@example.com", ["/survey/answer", "/", "/survey"]),
                           ("staff@example.com", ["/staff/survey", "/staff/survey/send",
                                                  "/staff/survey/comments/comment?page=3",
                                                  "/staff/survey?occasion=login&start=2026-01-01",
                                                  ])):
            client = login(app, who)
            for page in pages:
                statements.clear()
                response = client.get(page)
                assert response.status_code == 200, page
                assert len(statements) <= 8, (page, len(statements), statements)
                if page == "/survey/answer":  # answered: the gate lets the rest through
                    _answer(client)
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_two_tabs_sending_at_once_store_one_answer_sheet(app):
    """The same client sends the survey from two tabs at the same moment: one sheet is
    kept, the other post is told so (a unique row per client and occasion; PostgreSQL runs
    the two requests truly in parallel)."""
    import threading

    from runtime.extensions import db
    from runtime.modules.survey.models import SurveyAnswer, SurveyResponse

    client = login(app, "maria@example.com")
    html = client.get("/survey/answer").get_data(as_text=True)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)
    start = threading.Barrier(2)
    statuses = []

    def send(data):
        other = app.test_client()
        with client.session_transaction() as mine, other.session_transaction() as theirs:
            theirs.update(dict(mine))
        start.wait()
        statuses.append(other.post("/survey/answer", data={**data, "csrf_token": token}))

    threads = [threading.Thread(target=send, args=({**ANSWERS, "q_nps": str(n)},))
               for n in (3, 10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in statuses) == [303, 303]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(SurveyResponse.id))) == 1
        assert db.session.scalar(db.select(db.func.count(SurveyAnswer.id))
                                 .where(SurveyAnswer.question == "nps")) == 1


def test_the_gate_waits_for_the_buyers_portal(estate):
    """João also manages a building: in that portal (the Síndico tab, or the switch) he is
    not sent to the survey, whose screens are the buyer's; the buyer's portal asks it."""
    from runtime.erp.models import Development, SyndicDevelopment
    from runtime.extensions import db
    from runtime.models import User

    with estate.app_context():
        joao = db.session.scalar(db.select(User.id).where(User.email == "joao.lima@example.com"))
        vista = db.session.scalar(db.select(Development.id)
                                  .where(Development.external_id == "VV"))
        db.session.add(SyndicDevelopment(user_id=joao, development_id=vista))
        db.session.commit()
    syndic = estate.test_client()
    _login(syndic, "joao.lima@example.com")
    with syndic.session_transaction() as session:  # as the Síndico tab or the switch does
        session["portal_view"] = "syndic"
    home = syndic.get("/")
    assert home.status_code == 200, home.headers.get("Location")
    buyer = estate.test_client()
    _login(buyer, "joao.lima@example.com")
    assert buyer.get("/").headers["Location"].startswith("/survey/answer")
