"""The outbox-backed event bus.

- :mod:`~edn_core.bus.models` -- abstract tables every service app makes concrete in its alias.
- :mod:`~edn_core.bus.outbox` -- writes integration events in the aggregate's transaction.
- :mod:`~edn_core.bus.relay` -- publishes outbox rows in order, marks them sent when confirmed.
- :mod:`~edn_core.bus.subscriptions` -- ``@subscribe(topic)`` handlers per app.
- :mod:`~edn_core.bus.dispatch` -- runs handlers once per event (inbox), retries, dead letters.
- :mod:`~edn_core.bus.transports` -- local (in process); celery and dapr follow the same port.
"""
