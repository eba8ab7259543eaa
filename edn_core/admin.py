"""Admin building blocks shared by the platform's and the apps' admin pages.

Every custom admin view and action checks the Django model permission of what it changes;
being staff only opens the admin. Actions that send a command on a read-only table (replay,
publish again, retry, cancel) declare ``permissions=["operate"]``: the user must hold the
model's *change* permission, though the rows themselves stay read-only in the forms.
"""

from __future__ import annotations

from django.contrib.auth import get_permission_codename

__all__ = ["ReadOnlyAdminMixin", "holds_permission"]


def holds_permission(request, action: str, model) -> bool:
    """Whether the request's user holds Django's ``action`` permission (``view``, ``add``,
    ``change`` or ``delete``) on ``model``, whatever an admin class says of the model."""
    opts = model._meta
    return request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")


class ReadOnlyAdminMixin:
    """Show rows, never add or edit them here: state changes go through commands (an admin
    action sends one) or arrive with events. Put it before ``admin.ModelAdmin`` or an inline.

    ``deletable = True`` keeps Django's delete permission (bus tables an operator may prune).
    An action declared with ``permissions=["operate"]`` is offered to, and run for, users
    with the model's change permission only.
    """

    deletable = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.deletable and super().has_delete_permission(request, obj)  # type: ignore[misc]

    def has_operate_permission(self, request, obj=None) -> bool:
        return holds_permission(request, "change", self.model)  # type: ignore[attr-defined]
