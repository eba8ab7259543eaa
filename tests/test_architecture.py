"""The layout that makes the architecture visible stays as documented."""

from pathlib import Path

import pytest

from config.services import SAGA_APPS, SERVICE_APPS

ROOT = Path(__file__).resolve().parent.parent
APP_SHAPE = [
    "domain.py",
    "commands.py",
    "queries.py",
    "events.py",
    "models.py",
    "api.py",
    "admin.py",
    "urls.py",
    "schemas",
    "migrations",
]
MAX_MODULE_LINES = 200


AGGREGATE_APPS = [app for app in SERVICE_APPS if app != "schema_registry"]
# The saga engine publishes only what the definitions in SAGA_APPS send: their schemas live there.
NO_OWN_TOPICS = {"sagas": {"schemas"}}


@pytest.mark.parametrize("app", AGGREGATE_APPS)
def test_every_service_app_has_the_same_shape(app):
    shape = [name for name in APP_SHAPE if name not in NO_OWN_TOPICS.get(app, set())]
    missing = [name for name in shape if not (ROOT / app / name).exists()]
    assert not missing, f"{app} lacks {missing}"


@pytest.mark.parametrize("app", SAGA_APPS)
def test_every_saga_app_holds_its_definitions_and_the_schemas_they_send(app):
    assert (ROOT / app / "sagas.py").is_file() and (ROOT / app / "schemas").is_dir()


def test_modules_stay_small():
    sources = [
        *ROOT.glob("edn_core/**/*.py"),
        *(p for a in (*SERVICE_APPS, *SAGA_APPS) for p in (ROOT / a).glob("*.py")),
    ]
    large = {
        str(p.relative_to(ROOT)): n
        for p in sources
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not large, f"split these modules: {large}"


def test_domain_modules_import_no_framework():
    for path in [ROOT / "edn_core" / "domain.py", *(ROOT / a / "domain.py" for a in SERVICE_APPS)]:
        text = path.read_text()
        assert "import django" not in text and "from django" not in text, path
        assert "rest_framework" not in text, path
