from collections.abc import Sequence

from edn_core.bus.batch import deliver_batch
from edn_core.bus.transports import Transport


class LocalTransport(Transport):
    """Deliver to this process's subscribers right away, a relay batch at a time (one
    transaction per subscriber alias, see edn_core.bus.batch); a delivery is confirmed once
    every handler committed or its failure was recorded for retry."""

    name = "local"

    def publish(self, messages: Sequence) -> int:
        deliver_batch([message.envelope for message in messages])
        return len(messages)
