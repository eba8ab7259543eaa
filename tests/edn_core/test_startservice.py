"""``manage.py edn_startservice``: in a copy of this repository, two new services (the second
handling the first one's event) are wired with no hand edit, pass every check of the project
and their own tests, and one's event reaches the other in one process. Then the refusals, and
the parts: names, the ast edit of the service list, undoing a failed start."""

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from edn_core.scaffold import names, service
from edn_core.scaffold.names import check_name, check_topics, handler_name
from edn_core.scaffold.service_list import add_service

ROOT = Path(__file__).resolve().parents[2]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
PYTHON = str(VENV_PYTHON if VENV_PYTHON.exists() else sys.executable)
NEW = ["shipping", "billing", "tests/shipping", "tests/billing"]

FLOW_TEST = '''
"""shipping's event reaches billing in one process (the in-process bus, driven by hand)."""
import pytest

from edn_core.testing import EventBus


@pytest.mark.django_db(databases="__all__")
def test_an_event_shipping_publishes_is_handled_by_billing(api):
    bus = EventBus()
    created = api.post("/api/shipping", {"name": "Parcel 7"}, format="json")
    assert created.status_code == 201
    assert api.get("/api/billing/activity").json()["count"] == 0
    assert bus.run_until_quiet() >= 1
    (event,) = bus.published("v1.ShippingCreated")
    listed = api.get("/api/billing/activity").json()["results"]
    assert [(row["topic"], row["eventId"], row["subject"]) for row in listed] == [
        ("v1.ShippingCreated", event.id, created.json()["id"])
    ]
    assert bus.dead_letters() == []
'''


def run(root: Path, *command: str, ok: bool = True) -> subprocess.CompletedProcess:
    """Run in the copy with its own SQLite files: no database URL, no bus setting of ours."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("EDN_", "PYTEST_")) and not k.endswith("_DATABASE_URL")
    }
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    if ok:
        assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done


def manage(root: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    return run(root, PYTHON, "manage.py", *args, ok=ok)


def service_apps(root: Path) -> tuple:
    tree = ast.parse((root / "config" / "services.py").read_text())
    assigned = {n.targets[0].id: n.value for n in tree.body if isinstance(n, ast.Assign)}
    return ast.literal_eval(assigned["SERVICE_APPS"])


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A copy of the repository's files, then ``shipping`` and ``billing`` started in it."""
    root = tmp_path_factory.mktemp("project")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    for name in filter(None, listed.stdout.decode().split("\0")):
        if (ROOT / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, root / name)
    before = service_apps(root)
    manage(root, "edn_startservice", "shipping")
    manage(root, "edn_startservice", "billing", "--handles", "v1.ShippingCreated")
    assert service_apps(root) == (*before, "shipping", "billing")
    return root


def test_every_generated_file_agrees_with_the_new_list(project):
    manage(project, "edn_wiring", "check")
    contracts = (project / ".importlinter").read_text()
    assert "    shipping\n    billing\n" in contracts and "    billing.domain\n" in contracts
    for name in ("shipping", "billing"):
        assert (project / f"deploy/local/{name}.env").is_file()
        assert (project / f"deploy/k8s/services/{name}/kustomization.yaml").is_file()
    scopes = (project / "deploy/dapr/scopes/kustomization.yaml").read_text()
    assert "shipping-relay=v1.ShippingCreated" in scopes
    assert "billing=v1.ShippingCreated" in scopes.replace("\n", "").replace(" ", "")


def test_import_contracts_lint_and_migrations_are_clean(project):
    bin_dir = Path(PYTHON).parent
    run(project, str(bin_dir / "lint-imports"))
    run(project, PYTHON, "-m", "ruff", "check", *NEW, "config/services.py")
    run(project, PYTHON, "-m", "ruff", "format", "--check", *NEW, "config/services.py")
    manage(project, "makemigrations", "--check", "--dry-run")
    schemas = project / "shipping" / "schemas"
    released = schemas / "released" / "v1.ShippingCreated" / "1.json"
    assert released.read_text() == (schemas / "v1.ShippingCreated.json").read_text()


def test_the_generated_tests_pass_and_shipping_events_reach_billing(project):
    (project / "tests" / "test_new_services_flow.py").write_text(FLOW_TEST.lstrip())
    done = run(
        project,
        *(PYTHON, "-m", "pytest", "-v", "-p", "no:cacheprovider", "tests/shipping"),
        *("tests/billing", "tests/test_new_services_flow.py", "tests/test_architecture.py"),
    )
    assert "test_an_event_shipping_publishes_is_handled_by_billing PASSED" in done.stdout
    for passed in (
        "test_a_handled_event_is_recorded_once_as_activity[v1.ShippingCreated]",
        "test_the_api_needs_a_token",
        "test_the_read_only_tables_are_listed_and_cannot_be_added_to[billingactivity]",
    ):
        assert f"{passed} PASSED" in done.stdout


@pytest.mark.parametrize(
    ("name", "reason"), [("Bad-Name", "is not a service name"), ("customers", "already an app")]
)
def test_a_refused_name_changes_nothing(project, name, reason):
    before = sorted(p.name for p in project.iterdir()), service_apps(project)
    refused = manage(project, "edn_startservice", name, ok=False)
    assert refused.returncode != 0 and reason in refused.stderr
    assert (sorted(p.name for p in project.iterdir()), service_apps(project)) == before


@pytest.mark.parametrize(
    "name",
    [
        *("Shipping", "2fast", "ship-it", "ship__it", "_ship", "ship_", "a" * 16, "customers"),
        *("sagas", "admin", "json", "celery", "class", "list", "default", "tests", "config"),
        "sites",
    ],
)
def test_names_that_cannot_be_a_new_service(name):
    with pytest.raises(CommandError):
        check_name(name)


def test_a_free_name_passes_unless_another_app_publishes_its_topic(monkeypatch):
    check_name("shipping")
    monkeypatch.setattr(names, "published_topics", lambda: ["v1.ShippingCreated"])
    with pytest.raises(CommandError, match=r"another app publishes v1\.ShippingCreated"):
        check_name("shipping")


def test_topics_and_their_handlers():
    assert check_topics(["v1.OrderPlaced", "v2.HTTPCallMade", "v1.OrderPlaced"]) == [
        "v1.OrderPlaced",
        "v2.HTTPCallMade",
    ]
    assert handler_name("v1.OrderPlaced") == "record_order_placed"
    assert handler_name("v2.HTTPCallMade") == "record_http_call_made_v2"
    for wrong in ("OrderPlaced", "v1.orderPlaced", "v0.OrderPlaced"):
        with pytest.raises(CommandError):
            check_topics([wrong])


NINE = [f'"app_{n:02}"' for n in range(9)]  # with "new", too long for one line
LIST_CASES = [
    ('SERVICE_APPS = ("a", "b")  # ours\n', 'SERVICE_APPS = ("a", "b", "new")  # ours\n'),
    ("SERVICE_APPS: tuple = ()\n", 'SERVICE_APPS: tuple = ("new",)\n'),
    (
        'SERVICE_APPS = ["a",\n "b"]\nOTHER = 1\n',
        'SERVICE_APPS = [\n    "a",\n    "b",\n    "new",\n]\nOTHER = 1\n',
    ),
    (
        "SERVICE_APPS = (" + ", ".join(NINE) + ")\n",
        "SERVICE_APPS = (\n" + "".join(f"    {app},\n" for app in NINE) + '    "new",\n)\n',
    ),
]


@pytest.mark.parametrize(("text", "wanted"), LIST_CASES)
def test_the_service_list_gains_the_name_and_nothing_else_changes(tmp_path, text, wanted):
    path = tmp_path / "services.py"
    path.write_text(f'"""Doc."""\n\n{text}SAGA_APPS = ()\n')
    assert add_service(path, "new") == f'"""Doc."""\n\n{text}SAGA_APPS = ()\n'
    assert path.read_text() == f'"""Doc."""\n\n{wanted}SAGA_APPS = ()\n'


@pytest.mark.parametrize(
    "text", ['SERVICE_APPS = ("new",)\n', "SERVICE_APPS = tuple(x)\n", "OTHER = ()\n"]
)
def test_a_service_list_it_cannot_edit_is_refused_untouched(tmp_path, text):
    path = tmp_path / "services.py"
    path.write_text(text)
    with pytest.raises(CommandError):
        add_service(path, "new")
    assert path.read_text() == text


def test_a_failed_step_removes_what_the_earlier_ones_added(tmp_path, settings, monkeypatch):
    """A project with no tests/ yet; its migrations cannot be made: nothing is left over."""
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    listed = 'SERVICE_APPS = ("sagas",)\nSAGA_APPS = ()\n'
    (tmp_path / "proj" / "services.py").write_text(listed)
    monkeypatch.syspath_prepend(str(tmp_path))
    settings.BASE_DIR, settings.EDN_PROJECT = tmp_path, "proj"

    def fail(root, *args):
        assert (root / "parcel" / "models.py").is_file() and (root / "tests" / "parcel").is_dir()
        assert '"parcel"' in (root / "proj" / "services.py").read_text()
        raise CommandError(f"{args[0]} failed")

    monkeypatch.setattr(service, "_manage", fail)
    with pytest.raises(CommandError, match="makemigrations failed"):
        service.start_service("parcel", ["v1.OrderPlaced"], say=lambda line: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]
    assert (tmp_path / "proj" / "services.py").read_text() == listed
