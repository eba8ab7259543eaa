from collections.abc import Sequence

from edn_core.bus.dispatch import deliver
from edn_core.bus.transports import Transport


class LocalTransport(Transport):
    """Deliver to this process's subscribers right away; a delivery is confirmed once every
    handler committed or its failure was recorded for retry."""

    name = "local"

    def publish(self, messages: Sequence) -> int:
        for message in messages:
            deliver(message.envelope)
        return len(messages)
