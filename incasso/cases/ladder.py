"""The reminder ladder: its steps, how each is carried out, and the policy that times them.

A case climbs one step at a time. The default ladder:

================== ========= ===================================================
step               medium    default timing
================== ========= ===================================================
first_reminder     e-mail    within 24 h of the case becoming active
second_reminder    e-mail    15 days after the first, never inside its legal term
third_reminder     e-mail    7 days after the second; the last reminder
sms                SMS       3 days after the third
phone_call         task      2 days after the SMS; staff call the debtor
registered_letter  letter    3 days after the phone task; posted, as a PDF
solvency_check     task      when the letter's legal term has run out
decision           task      when staff have finished the solvency check
================== ========= ===================================================

The decision task ends the ladder: staff close the case at no cost or hand it
over to a lawyer or bailiff. A task step that ``waits`` (solvency check,
decision) holds the ladder until staff complete it; a phone task does not.

A ``LadderPolicy`` says which steps run and after how many days. The agency
default can be overridden per creditor and per case (staff changing a running
case), each as a small JSON object::

    {"steps": {"sms": {"enabled": false}, "second_reminder": {"delay_days": 20}},
     "charges": {"consumer_damages": true, "consumer_interest": false}}

``charges`` says what the creditor's terms let us claim from a consumer after
the first reminder's term: the flat damages (within the legal cap) and
interest (at most the B2B late-payment rate). A business debtor always owes the
statutory interest and flat compensation.

The first reminder cannot be disabled: the law requires it before anything else.
A step that follows a notice with a legal term (the first reminder, the
registered letter) never comes before that term has run out, whatever its delay.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from incasso.i18n import N_, LocalizedError

MAX_DELAY_DAYS = 365
POLICY_FORM = (
    '{"steps": {"<step>": {"delay_days": N, "enabled": true|false}}, '
    '"charges": {"consumer_damages": true|false, "consumer_interest": true|false}}'
)


class LadderStep(StrEnum):
    """Steps of the reminder ladder, in their default order."""

    FIRST_REMINDER = "first_reminder"
    SECOND_REMINDER = "second_reminder"
    THIRD_REMINDER = "third_reminder"
    SMS = "sms"
    PHONE_CALL = "phone_call"
    REGISTERED_LETTER = "registered_letter"
    SOLVENCY_CHECK = "solvency_check"
    DECISION = "decision"


class Medium(StrEnum):
    """How a step reaches the debtor, or ``task`` for work done by staff."""

    EMAIL = "email"
    SMS = "sms"
    LETTER = "letter"
    TASK = "task"


class HoldReason(StrEnum):
    """Why a case's ladder is paused; each is recorded as an event with who set it."""

    DISPUTED = "disputed"  # a reasoned dispute: only staff resume
    PROMISE_TO_PAY = "promise_to_pay"  # resumes by itself when the promised date passes unpaid
    # The debtor says it is paid: staff check the account; resumes by itself if still unpaid.
    PAYMENT_CLAIMED = "payment_claimed"
    PAYMENT_PLAN = "payment_plan"  # an agreed plan: staff resume if it is not kept
    DEBT_MEDIATION = "debt_mediation"  # a debt mediator or collective settlement: staff resume
    BOUNCED = "bounced"  # mail to the only address bounced: staff find another address
    STAFF = "staff"  # paused by hand for another reason


# Holds with an end date, after which the scheduler resumes a case that is still open.
TIMED_HOLDS = frozenset({HoldReason.PROMISE_TO_PAY, HoldReason.PAYMENT_CLAIMED})


class CloseReason(StrEnum):
    """How a case left the ladder."""

    PAID = "paid"
    NO_COST = "no_cost"  # staff closed it without further cost for the creditor
    HANDED_OVER = "handed_over"  # to a lawyer or bailiff for legal collection
    WITHDRAWN = "withdrawn"  # the creditor withdrew the claim
    REJECTED = "rejected"  # staff rejected a draft: no claim to collect on it
    MERGED = "merged"  # a draft whose invoices staff moved into another case


class TaskKind(StrEnum):
    """Work for staff that a ladder step creates."""

    PHONE_CALL = "phone_call"
    SOLVENCY_CHECK = "solvency_check"
    DECISION = "decision"


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"  # the case was paid, closed or moved past the step


@dataclass(frozen=True)
class StepRule:
    """One step of a policy: whether it runs and how many days after the previous step."""

    step: LadderStep
    medium: Medium
    delay_days: int
    enabled: bool = True
    # A task that holds the ladder until staff complete it.
    waits: bool = False


DEFAULT_RULES: tuple[StepRule, ...] = (
    StepRule(LadderStep.FIRST_REMINDER, Medium.EMAIL, 0),
    StepRule(LadderStep.SECOND_REMINDER, Medium.EMAIL, 15),
    StepRule(LadderStep.THIRD_REMINDER, Medium.EMAIL, 7),
    StepRule(LadderStep.SMS, Medium.SMS, 3),
    StepRule(LadderStep.PHONE_CALL, Medium.TASK, 2),
    StepRule(LadderStep.REGISTERED_LETTER, Medium.LETTER, 3),
    StepRule(LadderStep.SOLVENCY_CHECK, Medium.TASK, 0, waits=True),
    StepRule(LadderStep.DECISION, Medium.TASK, 0, waits=True),
)

# Steps whose message is a written notice with a legal payment term.
NOTICE_STEPS = frozenset(
    {
        LadderStep.FIRST_REMINDER,
        LadderStep.SECOND_REMINDER,
        LadderStep.THIRD_REMINDER,
        LadderStep.REGISTERED_LETTER,
    }
)


# Notices whose payment term the following step must wait for.
TERM_BINDING_STEPS = frozenset({LadderStep.FIRST_REMINDER, LadderStep.REGISTERED_LETTER})

CHARGE_OPTIONS = {
    "consumer_damages": "claim_consumer_damages",
    "consumer_interest": "consumer_interest",
}


class PolicyError(LocalizedError):
    """A ladder policy override that cannot be applied; the message names the value and the fix."""


@dataclass(frozen=True)
class LadderPolicy:
    """The steps of one case's ladder in order, with their timing."""

    rules: tuple[StepRule, ...] = DEFAULT_RULES
    claim_consumer_damages: bool = True
    consumer_interest: bool = False

    def rule(self, step: LadderStep) -> StepRule:
        for rule in self.rules:
            if rule.step == step:
                return rule
        raise KeyError(step)

    def first_step(self) -> StepRule:
        return self.rules[0]

    def step_after(self, step: LadderStep) -> StepRule | None:
        """Return the next enabled step after ``step``, or None when the ladder ends there."""
        steps = [rule.step for rule in self.rules]
        for rule in self.rules[steps.index(step) + 1 :]:
            if rule.enabled:
                return rule
        return None

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> LadderPolicy:
        """Return this policy with ``overrides`` (the JSON form in the module doc) applied."""
        if not overrides:
            return self
        steps = overrides.get("steps", {})
        charges = overrides.get("charges", {})
        unknown_keys = sorted(set(overrides) - {"steps", "charges"})
        if unknown_keys or not isinstance(steps, Mapping) or not isinstance(charges, Mapping):
            raise PolicyError(
                N_("Ladder policy {policy} is not of the form {form}."),
                policy=json.dumps(dict(overrides)),
                form=POLICY_FORM,
            )
        rules = list(self.rules)
        for name, change in steps.items():
            position = _position(rules, name)
            rules[position] = _changed(rules[position], change)
        return replace(self, rules=tuple(rules), **_charge_options(charges))

    def as_overrides(self) -> dict[str, Any]:
        """Return the JSON form of what differs from the default policy."""
        changed: dict[str, Any] = {}
        for rule, default in zip(self.rules, DEFAULT_RULES, strict=True):
            difference = {}
            if rule.delay_days != default.delay_days:
                difference["delay_days"] = rule.delay_days
            if rule.enabled != default.enabled:
                difference["enabled"] = rule.enabled
            if difference:
                changed[rule.step.value] = difference
        overrides: dict[str, Any] = {"steps": changed} if changed else {}
        charges = {
            key: getattr(self, attribute)
            for key, attribute in CHARGE_OPTIONS.items()
            if getattr(self, attribute) != getattr(LadderPolicy, attribute)
        }
        if charges:
            overrides["charges"] = charges
        return overrides


def _position(rules: list[StepRule], name: object) -> int:
    for position, rule in enumerate(rules):
        if rule.step.value == name:
            return position
    known = ", ".join(step.value for step in LadderStep)
    raise PolicyError(
        N_("Ladder step {step} is unknown; use one of {known}."), step=name, known=known
    )


def _charge_options(charges: Mapping[str, Any]) -> dict[str, bool]:
    options = {}
    for key, value in charges.items():
        if key not in CHARGE_OPTIONS:
            known = ", ".join(CHARGE_OPTIONS)
            raise PolicyError(
                N_("Charge option {option} is unknown; use one of {known}."),
                option=key,
                known=known,
            )
        if not isinstance(value, bool):
            raise PolicyError(
                N_("Charge option {option} must be true or false, not {value}."),
                option=key,
                value=json.dumps(value),
            )
        options[CHARGE_OPTIONS[key]] = value
    return options


def _changed(rule: StepRule, change: object) -> StepRule:
    if not isinstance(change, Mapping) or set(change) - {"delay_days", "enabled"}:
        raise PolicyError(
            N_(
                'The change {change} of step {step} must be an object with "delay_days" '
                '(whole days) and/or "enabled" (true or false).'
            ),
            change=json.dumps(change, default=str),
            step=rule.step.value,
        )
    delay = change.get("delay_days", rule.delay_days)
    enabled = change.get("enabled", rule.enabled)
    if not isinstance(delay, int) or isinstance(delay, bool) or not 0 <= delay <= MAX_DELAY_DAYS:
        raise PolicyError(
            N_(
                "Delay {delay} of step {step} is invalid; "
                "use a whole number of days from 0 to {most}."
            ),
            delay=json.dumps(delay, default=str),
            step=rule.step.value,
            most=MAX_DELAY_DAYS,
        )
    if not isinstance(enabled, bool):
        raise PolicyError(
            N_('"enabled" of step {step} must be true or false, not {value}.'),
            step=rule.step.value,
            value=json.dumps(enabled, default=str),
        )
    if rule.step == LadderStep.FIRST_REMINDER and not enabled:
        raise PolicyError(
            N_("The first reminder cannot be disabled: the law requires it before any other step.")
        )
    return replace(rule, delay_days=delay, enabled=enabled)


def policy_for(
    creditor_overrides: Mapping[str, Any] | None, case_overrides: Mapping[str, Any] | None
) -> LadderPolicy:
    """Return the default policy with the creditor's and then the case's overrides applied."""
    return LadderPolicy().with_overrides(creditor_overrides).with_overrides(case_overrides)
