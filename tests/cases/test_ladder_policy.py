"""The ladder policy: default steps, overrides per creditor and case, and their errors."""

from __future__ import annotations

import pytest

from incasso.cases.ladder import (
    DEFAULT_RULES,
    LadderPolicy,
    LadderStep,
    Medium,
    PolicyError,
    policy_for,
)


def test_default_ladder_order_and_delays() -> None:
    policy = LadderPolicy()

    assert [rule.step for rule in policy.rules] == list(LadderStep)
    assert policy.rule(LadderStep.SECOND_REMINDER).delay_days == 15
    assert policy.rule(LadderStep.THIRD_REMINDER).delay_days == 7
    assert policy.rule(LadderStep.SMS).medium == Medium.SMS
    assert policy.rule(LadderStep.REGISTERED_LETTER).medium == Medium.LETTER
    assert policy.rule(LadderStep.SOLVENCY_CHECK).waits
    assert not policy.rule(LadderStep.PHONE_CALL).waits


def test_step_after_skips_disabled_steps() -> None:
    policy = LadderPolicy().with_overrides({"steps": {"sms": {"enabled": False}}})

    following = policy.step_after(LadderStep.THIRD_REMINDER)

    assert following is not None
    assert following.step == LadderStep.PHONE_CALL
    assert policy.step_after(LadderStep.DECISION) is None


def test_case_overrides_win_over_creditor_overrides() -> None:
    creditor = {"steps": {"second_reminder": {"delay_days": 20}, "sms": {"enabled": False}}}
    case = {"steps": {"second_reminder": {"delay_days": 30}}}

    policy = policy_for(creditor, case)

    assert policy.rule(LadderStep.SECOND_REMINDER).delay_days == 30
    assert not policy.rule(LadderStep.SMS).enabled
    assert policy.rule(LadderStep.THIRD_REMINDER).delay_days == 7


def test_charge_options() -> None:
    policy = policy_for({"charges": {"consumer_interest": True}}, None)

    assert policy.consumer_interest
    assert policy.claim_consumer_damages
    assert policy.as_overrides() == {"charges": {"consumer_interest": True}}


def test_as_overrides_round_trip() -> None:
    overrides = {"steps": {"phone_call": {"delay_days": 4}, "sms": {"enabled": False}}}

    policy = LadderPolicy().with_overrides(overrides)

    assert policy.as_overrides() == overrides
    assert LadderPolicy().as_overrides() == {}
    assert LadderPolicy().rules == DEFAULT_RULES


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"steps": {"first_reminder": {"enabled": False}}}, "cannot be disabled"),
        ({"steps": {"fourth_reminder": {"delay_days": 3}}}, "fourth_reminder is unknown"),
        ({"steps": {"sms": {"delay_days": -1}}}, "Delay -1"),
        ({"steps": {"sms": {"delay_days": 400}}}, "from 0 to 365"),
        ({"steps": {"sms": {"delay_days": True}}}, "Delay true"),
        ({"steps": {"sms": {"enabled": "no"}}}, "must be true or false"),
        ({"steps": {"sms": {"wait": 3}}}, '"delay_days"'),
        ({"steps": {"sms": 3}}, "must be an object"),
        ({"charges": {"consumer_fees": True}}, "consumer_fees is unknown"),
        ({"charges": {"consumer_interest": "yes"}}, "true or false"),
        ({"stairs": {}}, "is not of the form"),
    ],
)
def test_policy_errors_name_the_value(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        LadderPolicy().with_overrides(overrides)
