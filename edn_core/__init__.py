"""Event Driven Django: the platform library.

Modules (each with its own ``__all__``):

- :mod:`edn_core.domain` -- Entity, AggregateRoot, ValueObject, DomainEvent, domain errors.
- :mod:`edn_core.cqrs` -- commands, queries, outcomes, CommandViewSet / QueryViewSet, routes.
- :mod:`edn_core.persistence` -- Repository with optimistic concurrency on the aggregate version.
- :mod:`edn_core.routers` -- database router: one alias per service app.

This package never imports a service app; apps import only this package.
"""
