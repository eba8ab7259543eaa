"""Integration events customers publishes and the subscriptions it handles.

The domain events in :mod:`customers.domain` become integration events once the event bus
lands; until then they stay on the aggregate (see docs/decisions/0004-domain-events-first.md).
"""
