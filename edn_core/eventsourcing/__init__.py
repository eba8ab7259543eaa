"""Event sourcing (in progress, issue #14): aggregates whose state comes only from their own
events, the codec that stores those events as JSON, and upcasters that read old shapes.

Pure Python: the store, snapshots, projections and time travel build on these.
"""

from edn_core.eventsourcing.aggregate import EventSourcedAggregate, applies
from edn_core.eventsourcing.codec import EventCodec, StoredEvent
from edn_core.eventsourcing.upcasting import Upcasters

__all__ = ["EventCodec", "EventSourcedAggregate", "StoredEvent", "Upcasters", "applies"]
