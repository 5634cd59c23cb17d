"""What the court is told of a withdrawn application: which party withdrew it, or whose
agent, and when (SPC judicial confirmation provisions art 5 para 2: one or both parties
may withdraw; the court permits it, CPL interpretation art 357)."""

from __future__ import annotations

from mediation.core.i18n import format_when
from mediation.court import application as applying
from mediation.court import withdrawal
from mediation.extensions import db

from .conftest import apply_jointly, in_force
from .test_application import respondent_with_agent

TAIL = "撤回司法确认申请，法院已不能再查阅其材料和调解录像。"


def test_the_court_is_told_which_party_or_whose_agent_withdrew(app):
    with app.test_request_context():
        world = in_force()
        by_party = apply_jointly(world)
        applicant = world.case.party_users()[0]
        applying.withdraw(by_party, by=applicant)
        db.session.flush()
        when = format_when(by_party.withdrawn_at)
        assert withdrawal.words(by_party) == f"{applicant.real_name}已于{when}{TAIL}"

        again = apply_jointly(world)
        _, respondent, agent = respondent_with_agent(world, confirmed=True)
        applying.withdraw(again, by=agent)
        db.session.flush()
        when = format_when(again.withdrawn_at)
        # The journal's entry of this application, not the earlier one's.
        assert withdrawal.words(again) == (
            f"{respondent.real_name}的委托代理人{agent.real_name}已于{when}{TAIL}"
        )
        assert withdrawal.words(by_party).startswith(applicant.real_name)
