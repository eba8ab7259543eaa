"""The statistics service's tables: its read models (``read_models``: orders per minute, per
product per minute, customer sessions), its bus tables, the database log of its streams and
its stream processors' state."""

from analytics.read_models import *  # noqa: F403 (the read models, written by processors)
from edn_core.bus import models as bus
from edn_core.streams import models as streams


class OutboxMessage(bus.OutboxMessageBase):
    pass


class InboxEntry(bus.InboxEntryBase):
    pass


class FailedDelivery(bus.FailedDeliveryBase):
    pass


class AggregateCheckpoint(bus.AggregateCheckpointBase):
    pass


class StreamDefinition(streams.StreamDefinitionBase):
    pass


class StreamEntry(streams.StreamEntryBase):
    pass


class StreamGroupOffset(streams.StreamGroupOffsetBase):
    pass


class ProcessorPosition(streams.ProcessorPositionBase):
    pass


class ProcessorWindow(streams.ProcessorWindowBase):
    pass


class WindowResult(streams.WindowResultBase):
    pass


class ProcessorLateRecord(streams.ProcessorLateRecordBase):
    pass


class ProcessorDeadLetter(streams.ProcessorDeadLetterBase):
    pass
