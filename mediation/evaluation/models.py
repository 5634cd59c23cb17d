"""How often the evaluation is used: counted, never kept (issue #20 item 4)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mediation.extensions import db


class EvaluationCount(db.Model):
    """Evaluations worked out per day (Beijing time), dispute category and province ('' when
    none was chosen), for the statistics page. The page is public and asks for no name: the
    amount typed and who typed it are not kept, only that one more evaluation was made. The
    rows are bounded by days x categories x provinces, however often the page is asked."""

    __tablename__ = "evaluation_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    evaluations: Mapped[int] = mapped_column(Integer)
