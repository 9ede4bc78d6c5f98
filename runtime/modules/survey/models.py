"""Survey rounds (a sending to a development's clients), invitations, responses, answers.

The questions live in the tenant file (`modules.survey.questions`); the database keeps what
clients answered, by question id. A response belongs to one occasion: "login" (the
first-login survey) or a round staff sent ("r<id>"); a client answers each occasion once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...erp.models import Development
from ...extensions import db
from ...models import User, utcnow

LOGIN = "login"  # the occasion of the first-login survey
MAX_POSTPONE = 3  # the first-login survey is asked at login at most this many times


def occasion_of(round_id: int | None) -> str:
    return LOGIN if round_id is None else f"r{round_id}"


class SurveyRound(db.Model):
    """Staff sent the survey to the clients of a development (e.g. after key delivery)."""

    __tablename__ = "survey_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    development_id: Mapped[int | None] = mapped_column(
        ForeignKey("developments.id", ondelete="SET NULL"), index=True)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    invited: Mapped[int] = mapped_column(default=0)  # clients it went to

    development: Mapped[Development | None] = relationship(lazy="joined")


class SurveyInvitation(db.Model):
    """An open survey of one client: a round sent to them, or the first-login survey they
    postponed (`postponed` counts the times)."""

    __tablename__ = "survey_invitations"
    __table_args__ = (UniqueConstraint("user_id", "occasion"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    occasion: Mapped[str] = mapped_column(String(20))
    round_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_rounds.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    postponed: Mapped[int] = mapped_column(default=0)
    emailed: Mapped[bool] = mapped_column(default=False)


class SurveyResponse(db.Model):
    """A client's answers to one occasion, sent at once."""

    __tablename__ = "survey_responses"
    __table_args__ = (UniqueConstraint("user_id", "occasion"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    occasion: Mapped[str] = mapped_column(String(20))
    round_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_rounds.id", ondelete="SET NULL"), index=True)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    user: Mapped[User] = relationship(lazy="raise")
    round: Mapped[SurveyRound | None] = relationship(lazy="raise")
    answers: Mapped[list[SurveyAnswer]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="SurveyAnswer.id")


class SurveyAnswer(db.Model):
    """One answer: a number (nps, rating) or a text (choice, text); a multiple-choice
    question has one row per option ticked."""

    __tablename__ = "survey_answers"
    __table_args__ = (Index("ix_survey_answers_question", "question", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(String(64))
    number: Mapped[int | None]
    text: Mapped[str | None] = mapped_column(Text)
