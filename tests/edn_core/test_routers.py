from django.test import override_settings

from edn_core.routers import AppAliasRouter, alias_for

ROUTES = {"customers": "customers", "orders": "orders"}


@override_settings(EDN_DATABASE_ROUTES=ROUTES)
def test_service_apps_use_their_own_alias_and_the_rest_default():
    assert alias_for("customers") == "customers"
    assert alias_for("auth") == "default"


@override_settings(EDN_DATABASE_ROUTES=ROUTES)
def test_migrations_run_only_on_the_owning_alias():
    router = AppAliasRouter()
    assert router.allow_migrate("customers", "customers")
    assert not router.allow_migrate("default", "customers")
    assert router.allow_migrate("default", "auth")
    assert not router.allow_migrate("customers", "auth")
    assert not router.allow_migrate("orders", "customers")
