"""Event Driven Django: the platform library.

Modules (each with its own ``__all__``):

- :mod:`edn_core.domain` -- Entity, AggregateRoot, ValueObject, DomainEvent, domain errors.
- :mod:`edn_core.cqrs` -- commands and ``send`` (the one way to run one), outcomes, answers,
  CommandViewSet / QueryViewSet, routes, OpenAPI helpers.
- :mod:`edn_core.persistence` -- Repository with optimistic concurrency on the aggregate version.
- :mod:`edn_core.reservations` -- the ledger a saga participant keeps its reservations in.
- :mod:`edn_core.admin` -- ReadOnlyAdminMixin for admin pages that only show rows.
- :mod:`edn_core.routers` -- database router: one alias per service app.

This package never imports a service app; apps import only this package.
"""
