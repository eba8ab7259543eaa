"""A user deactivated, renamed or deleted revokes the tokens issued to it until then.

The event is written before the change is saved, in its transaction when one is open (the
admin's, a ``transaction.atomic`` block): both commit or neither. A bare ``save()`` in
autocommit writes the event in its own transaction first, so a failure leaves at worst a
revocation of a user that stays active (its next token works), never the reverse. Changes
that send no signals (``QuerySet.update``) revoke nothing: run ``edn_revoke``.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import post_delete, pre_save

from edn_core.revocations import APP
from edn_core.routers import alias_for

__all__ = ["connect"]


def connect() -> None:
    user = get_user_model()
    pre_save.connect(_revoke_on_change, sender=user, dispatch_uid="edn-revocations-change")
    post_delete.connect(_revoke_on_delete, sender=user, dispatch_uid="edn-revocations-delete")


def _revoke_on_change(sender, instance, raw=False, using=None, update_fields=None, **kwargs):
    watched = [f for f in ("is_active", sender.USERNAME_FIELD) if _is_field(sender, f)]
    if update_fields is not None and not set(watched) & set(update_fields):
        return  # last_login and the like
    if raw or instance.pk is None:
        return
    stored = sender._default_manager.using(using).filter(pk=instance.pk).values(*watched).first()
    if stored is None:  # being created
        return
    revoked = []  # (subject, reason)
    if stored.get("is_active") and not instance.is_active:
        revoked.append((instance.get_username(), "deactivated"))
    if stored[sender.USERNAME_FIELD] != instance.get_username():
        revoked.append((stored[sender.USERNAME_FIELD], "renamed"))  # tokens name the old one
    _publish(revoked)


def _revoke_on_delete(sender, instance, **kwargs):
    _publish([(instance.get_username(), "deleted")])


def _publish(revocations: list[tuple[str, str]]) -> None:
    from edn_core.revocations.events import revoke

    if revocations:
        with transaction.atomic(using=alias_for(APP), savepoint=False):
            for subject, reason in revocations:
                revoke(subject, reason=reason)


def _is_field(model, name: str) -> bool:
    return any(field.name == name for field in model._meta.concrete_fields)
