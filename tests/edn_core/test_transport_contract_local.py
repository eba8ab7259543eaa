"""The transport contract (tests/edn_core/transport_contract.py) for the local transport: the
relay calls the subscribers in its own process, so what it publishes is delivered when the
publish returns."""

from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from django.db import OperationalError

from edn_core.bus.transports import local
from tests.edn_core.transport_contract import Backend, TransportContract, fails_first


class LocalBackend(Backend):
    """The in-process delivery, seen through a spy on the batches the transport hands over."""

    def __init__(self, monkeypatch) -> None:
        self.batches: list[int] = []
        self.real = self.deliver = local.deliver_batch

        def spy(envelopes, **options):
            envelopes = list(envelopes)
            self.batches.append(len(envelopes))
            return self.deliver(envelopes, **options)

        monkeypatch.setattr(local, "deliver_batch", spy)

    def transport(self):
        return local.LocalTransport()

    def consume(self) -> None:
        """Nothing waits on a wire: the publish delivered."""

    def units(self) -> list[int]:
        return self.batches

    def send_raw(self, topic: str, body: str) -> None:
        local.LocalTransport().publish([SimpleNamespace(topic=topic, envelope=body)])

    def stale_subscription(self, topic: str) -> None:
        """Nothing routes in process: every subscription of the process is asked."""

    @contextmanager
    def delivering(self, deliver):
        self.deliver = deliver
        try:
            yield
        finally:
            self.deliver = self.real

    @contextmanager
    def down(self):
        # In process the "transport" is the subscribers' own transactions: it is down when
        # they cannot be recorded at all.
        with self.delivering(fails_first(10**6, self.real)):
            yield "^OperationalError: the subscribers' database is unreachable"

    @contextmanager
    def refusing_from(self, number: int):
        def interrupted(envelopes, **options):  # delivered up to there, then the database went
            self.real(envelopes[: number - 1], **options)
            raise OperationalError("the subscribers' database went away")

        with self.delivering(interrupted):
            yield

    def consumer_database_down(self, times: int):
        return self.delivering(fails_first(times, self.real))


class TestLocalTransport(TransportContract):
    # One call delivers the whole relay batch: it confirms every row, or raises and confirms
    # none (the deliveries that committed before the error are dropped by the inbox later).
    confirms_prefix = False
    # Decision 0028: in process no receiving app is named, so an event nobody takes is
    # delivered to no one and recorded nowhere, as before.
    dead_letters_unrouted = False
    # Nothing stands between relay and consumer to deliver again: the publish fails and the
    # rows stay unsent until the relay's next round.
    redelivers_itself = False
    run_of_six = [6]  # the relay's batch, in one call

    @pytest.fixture
    def backend(self, monkeypatch):
        return LocalBackend(monkeypatch)
