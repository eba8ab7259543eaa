"""Revocation of tokens across services without a shared database (docs/security.md,
"Revocation").

Deactivating, renaming or deleting a user, or ``manage.py edn_revoke SUBJECT``, publishes
``v1.SubjectRevoked`` (subject, not-before time) through this app's outbox in the transaction
of the change. The app is installed in every service, its tables in the service's ``default``
database: each service consumes its own copy of the event into its revocation list, which
:class:`edn_core.authentication.TokenAuthentication` checks on each request.
"""

APP = "edn_revocations"
TOPIC = "v1.SubjectRevoked"

__all__ = ["APP", "TOPIC"]
