"""The survey's questions (from the tenant file), its form, answering, and the results."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as day_time

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, literal, select, union_all
from sqlalchemy.exc import IntegrityError
from wtforms import RadioField, SelectMultipleField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ...erp.models import Contract, ContractParty, Unit
from ...extensions import db
from ...i18n import to_utc
from ...inputs import PortalForm
from ...models import User, utcnow
from . import models as m
from .models import LOGIN, MAX_POSTPONE, SurveyAnswer, SurveyInvitation, SurveyResponse

TEXT_MAX = 2000  # characters of a free-text answer
MULTIPLE = ("multiple", "multichoice")  # the name and the first schema's
SCALES = {"nps": range(0, 11), "rating": range(1, 6)}


def settings() -> dict:
    return current_app.extensions["portal"]["modules"]["survey"]


def questions() -> list[dict]:
    return settings()["questions"]


def kind(question: dict) -> str:
    """nps, rating, choice, multiple or text (multichoice read as multiple)."""
    return "multiple" if question["type"] in MULTIPLE else question["type"]


def first_login() -> bool:
    return bool(settings().get("first_login"))


# -- the form ---------------------------------------------------------------------------------

class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _name(question: dict) -> str:
    return "q_" + question["id"].replace("-", "_")


def form_class() -> type[PortalForm]:
    """A form with one field per question, in the tenant file's order."""

    class SurveyForm(PortalForm):
        pass

    for q in questions():
        required = q.get("required", True)
        check = (InputRequired(_l("Please answer this question.")) if required
                 else Optional())
        t = kind(q)
        if t in SCALES:
            f = RadioField(q["text"], choices=[SelectChoice(n, str(n)) for n in SCALES[t]],
                           coerce=int, validators=[check])
        elif t == "choice":
            f = RadioField(q["text"], choices=[SelectChoice(o) for o in q["options"]],
                           validators=[check])
        elif t == "multiple":
            f = MultiCheckboxField(q["text"], choices=[SelectChoice(o) for o in q["options"]],
                                   validators=[InputRequired(_l("Tick at least one option."))
                                               if required else Optional()])
        else:
            f = TextAreaField(q["text"], validators=[
                check, Length(max=TEXT_MAX, message=_l(
                    "Please keep it under %(max)d characters.", max=TEXT_MAX))])
        setattr(SurveyForm, _name(q), f)
    return SurveyForm


def bound_fields(form) -> list[tuple[dict, object]]:
    return [(q, form[_name(q)]) for q in questions()]


# -- what is open for a client ------------------------------------------------------------------

@dataclass
class Open:
    occasion: str
    round: m.SurveyRound | None = None
    postponed: int = 0


@dataclass
class ClientState:
    open: list[Open] = field(default_factory=list)
    answered: set[str] = field(default_factory=set)


def state(user: User) -> ClientState:
    """The client's open surveys and the occasions they answered, in two statements."""
    out = ClientState()
    if user.role != "client":
        return out
    out.answered = set(db.session.scalars(select(SurveyResponse.occasion)
                                          .where(SurveyResponse.user_id == user.id)))
    invitations = db.session.execute(
        select(SurveyInvitation, m.SurveyRound).outerjoin(
            m.SurveyRound, m.SurveyRound.id == SurveyInvitation.round_id)
        .where(SurveyInvitation.user_id == user.id)
        .order_by(SurveyInvitation.created_at.desc(), SurveyInvitation.id.desc())).all()
    login_postponed = 0
    for invitation, round_ in invitations:
        if invitation.occasion == LOGIN:
            login_postponed = invitation.postponed
        elif invitation.occasion not in out.answered and round_ is not None:
            out.open.append(Open(invitation.occasion, round_))
    if first_login() and LOGIN not in out.answered:
        out.open.append(Open(LOGIN, None, login_postponed))
    return out


def gate_due(user: User) -> bool:
    """Whether the first-login survey is still asked at login (one statement)."""
    if not first_login() or user.role != "client":
        return False
    answered = exists().where(SurveyResponse.user_id == user.id,
                              SurveyResponse.occasion == LOGIN)
    row = db.session.execute(select(answered.label("answered"), select(
        SurveyInvitation.postponed).where(SurveyInvitation.user_id == user.id,
                                          SurveyInvitation.occasion == LOGIN)
        .scalar_subquery().label("postponed"))).one()
    return not row.answered and (row.postponed or 0) < MAX_POSTPONE


def postpone(user: User) -> int:
    """Count one more postponement of the first-login survey; return the count."""
    invitation = db.session.scalar(select(SurveyInvitation).where(
        SurveyInvitation.user_id == user.id, SurveyInvitation.occasion == LOGIN))
    if invitation is None:
        invitation = SurveyInvitation(user_id=user.id, occasion=LOGIN, postponed=0)
        db.session.add(invitation)
    invitation.postponed = (invitation.postponed or 0) + 1
    try:
        db.session.commit()
    except IntegrityError:  # another tab postponed at the same moment: one is enough
        db.session.rollback()
        return MAX_POSTPONE
    return invitation.postponed


class AlreadyAnswered(Exception):
    pass


def save(user: User, round_id: int | None, form) -> SurveyResponse:
    """Store the client's answers once per occasion (a second post raises AlreadyAnswered)."""
    response = SurveyResponse(user_id=user.id, occasion=m.occasion_of(round_id),
                              round_id=round_id, submitted_at=utcnow())
    for q, f in bound_fields(form):
        t = kind(q)
        if t in SCALES and f.data is not None:
            response.answers.append(SurveyAnswer(question=q["id"], number=f.data))
        elif t == "choice" and f.data:
            response.answers.append(SurveyAnswer(question=q["id"], text=f.data))
        elif t == "multiple":
            response.answers.extend(SurveyAnswer(question=q["id"], text=o)
                                    for o in q["options"] if o in (f.data or ()))
        elif t == "text" and (f.data or "").strip():
            response.answers.append(SurveyAnswer(question=q["id"], text=f.data.strip()))
    db.session.add(response)
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise AlreadyAnswered from exc
    return response


def answers_of(user: User) -> list[SurveyResponse]:
    """The client's responses with their answers and rounds (two statements)."""
    from sqlalchemy.orm import selectinload

    return db.session.scalars(
        select(SurveyResponse).where(SurveyResponse.user_id == user.id)
        .options(selectinload(SurveyResponse.answers),
                 selectinload(SurveyResponse.round).raiseload("*"))
        .order_by(SurveyResponse.submitted_at.desc(), SurveyResponse.id.desc())).all()


def grouped(response: SurveyResponse) -> list[tuple[dict, list[str]]]:
    """(question, answers as text) of a response, in the questions' order."""
    by_q: dict[str, list[str]] = {}
    for a in response.answers:
        by_q.setdefault(a.question, []).append(str(a.number) if a.number is not None
                                               else a.text or "")
    return [(q, by_q.get(q["id"], [])) for q in questions()]


# -- sending to a development's clients ----------------------------------------------------------

def clients_of(development_id: int):
    """SQL: the active clients with a (not cancelled) contract in the development."""
    party = (select(ContractParty.user_id).join(Contract, Contract.id == ContractParty.contract_id)
             .join(Unit, Unit.id == Contract.unit_id)
             .where(Unit.development_id == development_id, Contract.status != "cancelled"))
    return select(User).where(User.id.in_(party), User.role == "client", User.active.is_(True),
                              User.portal_access.is_(True)).order_by(User.id)


# -- results ---------------------------------------------------------------------------------------

@dataclass
class Filters:
    development_id: int | None = None
    start: date | None = None
    end: date | None = None
    occasion: str | None = None  # "login", "r<id>", or None for all


def _in_development(development_id: int):
    return exists().where(ContractParty.user_id == SurveyResponse.user_id,
                          ContractParty.contract_id == Contract.id,
                          Contract.unit_id == Unit.id, Unit.development_id == development_id)


def filtered(filters: Filters):
    """The WHERE clause of the responses the staff filters select."""
    clauses = []
    if filters.development_id:
        clauses.append(_in_development(filters.development_id))
    if filters.start:
        clauses.append(SurveyResponse.submitted_at >= to_utc(datetime.combine(filters.start,
                                                                               day_time())))
    if filters.end:
        clauses.append(SurveyResponse.submitted_at < to_utc(
            datetime.combine(filters.end + timedelta(days=1), day_time())))
    if filters.occasion:
        clauses.append(SurveyResponse.occasion == filters.occasion)
    return and_(True, *clauses)


@dataclass
class Bar:
    label: str
    count: int
    share: float  # 0..1 of the question's respondents
    tone: str = "primary"  # primary, detractor, passive, promoter


@dataclass
class QuestionResult:
    question: dict
    kind: str
    answered: int = 0
    bars: list[Bar] = field(default_factory=list)
    comments: list[tuple[datetime, str]] = field(default_factory=list)
    average: float | None = None
    nps: dict | None = None


COMMENTS = 10  # latest free-text answers shown per question


def results(filters: Filters) -> tuple[int, list[QuestionResult]]:
    """Responses counted and each question's distribution, in three statements."""
    where = filtered(filters)
    qs = questions()
    text_ids = [q["id"] for q in qs if kind(q) == "text"]
    counted = [q["id"] for q in qs if kind(q) != "text"]
    joined = select(SurveyAnswer.question).join(
        SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id).where(where)
    # respondents per question, and (question "") every response of the selection
    per_question = union_all(
        joined.add_columns(func.count(func.distinct(SurveyAnswer.response_id)))
        .group_by(SurveyAnswer.question),
        select(literal(""), func.count(SurveyResponse.id)).where(where))
    answered = {q: n for q, n in db.session.execute(per_question)}
    total = answered.pop("", 0)
    counts: dict[str, dict] = {}
    if counted:
        for qid, number, text, n in db.session.execute(
                select(SurveyAnswer.question, SurveyAnswer.number, SurveyAnswer.text,
                       func.count()).join(SurveyResponse,
                                          SurveyResponse.id == SurveyAnswer.response_id)
                .where(where, SurveyAnswer.question.in_(counted))
                .group_by(SurveyAnswer.question, SurveyAnswer.number, SurveyAnswer.text)):
            counts.setdefault(qid, {})[number if number is not None else text] = n
    comments: dict[str, list] = {}
    if text_ids:
        rank = func.row_number().over(partition_by=SurveyAnswer.question,
                                      order_by=(SurveyResponse.submitted_at.desc(),
                                                SurveyAnswer.id.desc())).label("rank")
        inner = (select(SurveyAnswer.question, SurveyAnswer.text, SurveyResponse.submitted_at,
                        rank).join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
                 .where(where, SurveyAnswer.question.in_(text_ids)).subquery())
        for qid, text, at, _rank in db.session.execute(
                select(inner).where(inner.c.rank <= COMMENTS)
                .order_by(inner.c.question, inner.c.rank)):
            comments.setdefault(qid, []).append((at, text))
    out = []
    for q in qs:
        t = kind(q)
        r = QuestionResult(q, t, answered.get(q["id"], 0))
        got = counts.get(q["id"], {})
        base = r.answered or 1
        if t in SCALES:
            r.bars = [Bar(str(n), got.get(n, 0), got.get(n, 0) / base, _tone(t, n))
                      for n in SCALES[t]]
            if r.answered:
                r.average = sum(n * c for n, c in got.items() if isinstance(n, int)) / r.answered
            if t == "nps":
                r.nps = nps(got, r.answered)
        elif t in ("choice", "multiple"):
            options = list(q["options"])
            options += sorted(k for k in got if isinstance(k, str) and k not in options)
            r.bars = [Bar(o, got.get(o, 0), got.get(o, 0) / base) for o in options]
        else:
            r.comments = comments.get(q["id"], [])
        out.append(r)
    return total, out


def _tone(t: str, n: int) -> str:
    if t != "nps":
        return "primary"
    return "detractor" if n <= 6 else "passive" if n <= 8 else "promoter"


def nps(counts: dict, answered: int) -> dict:
    """Net Promoter Score: % promoters (9-10) minus % detractors (0-6), -100..100."""
    promoters = sum(c for n, c in counts.items() if isinstance(n, int) and n >= 9)
    detractors = sum(c for n, c in counts.items() if isinstance(n, int) and n <= 6)
    passives = answered - promoters - detractors
    score = round((promoters - detractors) * 100 / answered) if answered else None
    return {"score": score, "promoters": promoters, "passives": passives,
            "detractors": detractors, "answered": answered}


def export_rows(filters: Filters):
    """Every response of the selection with its client and answers (for the CSV)."""
    from sqlalchemy.orm import contains_eager, selectinload

    return db.session.scalars(
        select(SurveyResponse).join(SurveyResponse.user).where(filtered(filters))
        .options(contains_eager(SurveyResponse.user), selectinload(SurveyResponse.answers),
                 selectinload(SurveyResponse.round).raiseload("*"))
        .order_by(SurveyResponse.submitted_at, SurveyResponse.id)).all()
