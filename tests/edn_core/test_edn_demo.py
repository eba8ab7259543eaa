"""``manage.py edn_demo``: a hosted app without a demo module is skipped, one with it loads
its records, a module missing inside a demo fails the command; with DEBUG on, the
development admin user is created once."""

import io
import sys
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from inventory.models import ProductRecord

pytestmark = pytest.mark.django_db(databases="__all__")


def demo(settings, *services: str) -> str:
    """Run the command hosting ``services``; what it printed."""
    settings.EDN_SERVICES = list(services)
    out = io.StringIO()
    call_command("edn_demo", stdout=out)
    return out.getvalue()


@pytest.fixture
def app_with_broken_demo(tmp_path, monkeypatch):
    """An importable app whose demo module imports a package that is not installed."""
    name = f"shop_{uuid.uuid4().hex[:8]}"
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "demo.py").write_text("import edn_not_installed_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for module in (name, f"{name}.demo"):
        sys.modules.pop(module, None)


def test_an_app_without_a_demo_module_is_skipped(settings):
    """analytics has no demo.py: no line for it; inventory's demo products load once."""
    settings.DEBUG = False
    out = demo(settings, "analytics", "inventory")
    assert out.splitlines() == ["inventory: 3 demo record(s) created"]
    assert ProductRecord.objects.count() == 3
    assert demo(settings, "analytics", "inventory").splitlines() == [
        "inventory: 0 demo record(s) created"
    ]


def test_a_module_missing_inside_a_demo_module_fails_the_command(settings, app_with_broken_demo):
    """Only the demo module itself may be missing: a missing import inside it is raised."""
    with pytest.raises(ModuleNotFoundError) as raised:
        demo(settings, "inventory", app_with_broken_demo)
    assert raised.value.name == "edn_not_installed_anywhere"


def test_the_development_admin_is_created_once_and_only_with_debug(settings):
    """DEBUG on: 'admin'/'admin', a superuser, is created the first time only; DEBUG off:
    no admin user."""
    users = get_user_model().objects
    settings.DEBUG = False
    assert "admin" not in demo(settings)
    assert not users.filter(username="admin").exists()
    settings.DEBUG = True
    assert demo(settings) == "created admin user 'admin' with password 'admin' (DEBUG only)\n"
    admin = users.get(username="admin")
    assert admin.is_superuser and admin.check_password("admin")
    assert demo(settings) == ""
    assert users.filter(username="admin").count() == 1
