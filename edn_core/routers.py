"""Database router: each service app reads and writes only its own alias."""

from django.conf import settings

__all__ = ["AppAliasRouter", "alias_for"]


def alias_for(app_label: str) -> str:
    """Return the database alias that owns ``app_label`` (``default`` for shared apps)."""
    return settings.EDN_DATABASE_ROUTES.get(app_label, "default")


class AppAliasRouter:
    """Route by app label using ``settings.EDN_DATABASE_ROUTES`` (app label -> alias)."""

    def db_for_read(self, model, **hints):
        return alias_for(model._meta.app_label)

    def db_for_write(self, model, **hints):
        return alias_for(model._meta.app_label)

    def allow_relation(self, obj1, obj2, **hints):
        return alias_for(obj1._meta.app_label) == alias_for(obj2._meta.app_label)

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == alias_for(app_label)
