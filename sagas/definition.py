"""The saga definition API: ordered steps, each an action and a compensating action.

A definition names only topics (contracts), never another app's code::

    create_order = SagaDefinition(
        "CreateOrder",
        started_by="v1.OrderPlaced",
        key=lambda data: data["orderId"],
        steps=[
            Step("ReserveCustomerCredit",
                 action=Request("v1.CustomerCreditReserveRequested", build_reserve,
                                success="v1.CustomerCreditReserved",
                                failure="v1.CustomerCreditReserveFailed"),
                 compensation=Request("v1.CustomerCreditReleaseRequested", build_release,
                                      success="v1.CustomerCreditReleased"),
                 timeout=timedelta(seconds=30)),
            ...
        ],
    )

A step's ``action`` sends a message and waits for its ``success`` or ``failure`` reply (a
step without action succeeds at once: the work was done before the saga started). Replies
are matched to the saga by the CloudEvents ``correlationid``, which is the saga id. When a
step fails or times out the saga compensates, newest step first, the failed step included
(it may have acted before its answer was lost). ``build`` functions receive the saga's
facts: the data it started with plus ``sagaId`` and ``reason`` (why it compensates).

A definition has a ``version`` (1 unless given). Several versions of one name may be registered
side by side: new sagas start on the highest, and a saga in flight keeps the version it
started with until it ends (docs/sagas-replay.md, decision 0079).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

__all__ = ["Request", "SagaDefinition", "Step", "definition", "definitions", "register"]

Facts = Mapping[str, Any]


@dataclass(frozen=True)
class Request:
    """A message to send, and the reply topics that settle it."""

    topic: str
    build: Callable[[Facts], dict[str, Any]]
    success: str
    failure: str | None = None

    @property
    def replies(self) -> tuple[str, ...]:
        return (self.success,) + ((self.failure,) if self.failure else ())


@dataclass(frozen=True)
class Step:
    name: str
    action: Request | None = None
    compensation: Request | None = None
    timeout: timedelta | None = None


@dataclass(frozen=True)
class SagaDefinition:
    name: str
    started_by: str
    key: Callable[[Facts], str]
    steps: tuple[Step, ...] = field(default_factory=tuple)
    reverse_on_failure: bool = True
    default_timeout: timedelta = timedelta(seconds=30)
    version: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps))
        if self.version < 1:
            raise ValueError(f"saga {self.name} needs a version of 1 or more")
        if not self.steps:
            raise ValueError(f"saga {self.name} needs at least one step")
        names = [step.name for step in self.steps]
        if len(set(names)) != len(names):
            raise ValueError(f"saga {self.name} repeats a step name: {names}")

    def timeout_of(self, step: Step) -> timedelta:
        return step.timeout or self.default_timeout

    @property
    def reply_topics(self) -> tuple[str, ...]:
        requests = [r for s in self.steps for r in (s.action, s.compensation) if r]
        return tuple(sorted({topic for r in requests for topic in r.replies}))

    @property
    def sent_topics(self) -> tuple[str, ...]:
        requests = [r for s in self.steps for r in (s.action, s.compensation) if r]
        return tuple(sorted({r.topic for r in requests}))


_DEFINITIONS: dict[tuple[str, int], SagaDefinition] = {}


def register(saga: SagaDefinition) -> SagaDefinition:
    """Make ``saga`` known to the orchestrator (start topic and replies subscribed), beside
    the other versions of its name; registering one (name, version) again replaces it."""
    _DEFINITIONS[saga.name, saga.version] = saga
    return saga


def definition(name: str, version: int | None = None) -> SagaDefinition:
    """The definition ``name`` at ``version``; the highest registered one when None."""
    if version is None:
        versions = [v for n, v in _DEFINITIONS if n == name]
        version = max(versions, default=0)
    try:
        return _DEFINITIONS[name, version]
    except KeyError:
        at = f" version {version}" if version else ""
        raise LookupError(f"no saga definition named {name!r}{at} is registered") from None


def definitions(*, every_version: bool = False) -> list[SagaDefinition]:
    """The newest version of each registered name (those new sagas start on), or every
    registered version (the replies in-flight sagas still await)."""
    ordered = sorted(_DEFINITIONS.values(), key=lambda d: (d.name, d.version))
    if every_version:
        return ordered
    return list({d.name: d for d in ordered}.values())
