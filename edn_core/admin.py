"""Admin building blocks shared by the platform's and the apps' admin pages."""

from __future__ import annotations

__all__ = ["ReadOnlyAdminMixin"]


class ReadOnlyAdminMixin:
    """Show rows, never add or edit them here: state changes go through commands (an admin
    action sends one) or arrive with events. Put it before ``admin.ModelAdmin`` or an inline.

    ``deletable = True`` keeps Django's delete permission (bus tables an operator may prune).
    """

    deletable = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.deletable and super().has_delete_permission(request, obj)  # type: ignore[misc]
