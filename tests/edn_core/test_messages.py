"""Command dispatch: each domain error becomes one outcome."""

from dataclasses import dataclass

import pytest

from edn_core import domain
from edn_core.cqrs import Command, Outcome, handles, send


@dataclass(frozen=True, kw_only=True)
class Explode(Command):
    error: Exception | None = None


@handles(Explode)
def explode(cmd: Explode):
    if cmd.error is not None:
        raise cmd.error
    return "done"


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (domain.ValidationFailed({"a": ["bad"]}), Outcome.INVALID),
        (domain.NotFound("gone"), Outcome.NOT_FOUND),
        (domain.ConcurrencyConflict("stale", expected=1, actual=2), Outcome.PRECONDITION_FAILED),
        (domain.InvalidState("nope"), Outcome.INVALID_STATE),
        (domain.Conflict("dup"), Outcome.CONFLICT),
        (domain.DomainError("rule"), Outcome.INVALID),
    ],
)
def test_domain_errors_map_to_outcomes(error, outcome):
    result = send(Explode(error=error))
    assert result.outcome is outcome
    assert not result.accepted
    assert result.message == error.message


def test_validation_errors_carry_field_errors():
    result = send(Explode(error=domain.ValidationFailed({"a": ["bad"]})))
    assert result.errors == {"a": ["bad"]}


def test_accepted_result_carries_handler_value():
    result = send(Explode())
    assert result.accepted and result.value == "done"


def test_unexpected_errors_propagate():
    with pytest.raises(ZeroDivisionError):
        send(Explode(error=ZeroDivisionError()))


def test_a_command_has_one_handler():
    with pytest.raises(RuntimeError):
        handles(Explode)(lambda cmd: None)


def test_unregistered_command_is_a_programming_error():
    @dataclass(frozen=True, kw_only=True)
    class Orphan(Command):
        pass

    with pytest.raises(LookupError):
        send(Orphan())


def test_value_or_raise_returns_the_value_of_an_accepted_command():
    assert send(Explode()).value_or_raise() == "done"


def test_value_or_raise_raises_the_error_that_refused_the_command():
    conflict = domain.ConcurrencyConflict("stale", expected=1, actual=2)
    result = send(Explode(error=conflict))
    with pytest.raises(domain.ConcurrencyConflict) as raised:
        result.value_or_raise()
    assert raised.value is conflict  # the consumer's retry-at-once sees a lost race as one


def test_a_refusal_built_by_hand_raises_a_domain_error_with_its_message():
    from edn_core.cqrs import CommandResult

    with pytest.raises(domain.DomainError, match="no such thing"):
        CommandResult(Outcome.NOT_FOUND, message="no such thing").value_or_raise()
