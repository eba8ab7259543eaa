"""Every per-service list is generated from config/services.py and the apps' declarations:
the committed files agree with the code, and any drift is reported."""

import dataclasses
import os
import shutil
import subprocess

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings

from edn_core import wiring
from tests.support.processes import wait_for


def test_the_committed_files_agree_with_the_code():
    call_command("edn_wiring", "check")  # raises CommandError listing each differing file


def test_every_generated_file_is_written(tmp_path):
    written = wiring.write(tmp_path)
    assert set(written) == set(wiring.generated_files())
    assert wiring.drift(tmp_path) == []
    assert (tmp_path / "deploy/local/setup").stat().st_mode & 0o111, "scripts stay executable"


@pytest.fixture
def project_copy(tmp_path):
    wiring.write(tmp_path)
    return tmp_path


def test_a_hand_edit_is_drift(project_copy):
    procfile = project_copy / "deploy/local/Procfile"
    procfile.write_text(procfile.read_text().replace("orders-worker", "orders-wrker"))
    (problem,) = wiring.drift(project_copy)
    assert "deploy/local/Procfile" in problem and "-orders-wrker" in problem
    with override_settings(BASE_DIR=project_copy), pytest.raises(CommandError, match="1 gen"):
        call_command("edn_wiring", "check")


def test_a_new_service_needs_its_files_and_nothing_else_by_hand(project_copy):
    apps = (*settings.EDN_SERVICE_APPS, "billing")
    with override_settings(EDN_SERVICE_APPS=apps, EDN_SERVICES=list(apps)):
        problems = "\n".join(wiring.drift(project_copy))
        assert "deploy/local/billing.env (missing)" in problems
        assert "deploy/k8s/services/billing/kustomization.yaml (missing)" in problems
        assert "+  - ../services/billing" in problems  # the k8s base
        assert "+    billing" in problems  # .importlinter: a root package, an independent app
        assert "+billing: deploy/local/service billing gunicorn" in problems  # Procfile
        wiring.write(project_copy)
        assert wiring.drift(project_copy) == []
    # back to the real list: billing's files are stale, and write removes them
    assert "deploy/local/billing.env: generated for a service" in "\n".join(
        wiring.drift(project_copy)
    )
    wiring.write(project_copy)
    assert not (project_copy / "deploy/local/billing.env").exists()
    assert wiring.drift(project_copy) == []


def test_a_file_the_project_keeps_by_hand_can_be_left_out(project_copy):
    (project_copy / "deploy/docker/Dockerfile").write_text("FROM scratch\n")
    assert wiring.drift(project_copy)
    with override_settings(EDN_WIRING_EXCLUDE=("deploy/docker/Dockerfile",)):
        assert wiring.drift(project_copy) == []


def test_the_wiring_needs_every_service_app():
    with override_settings(EDN_SERVICES=["orders"]), pytest.raises(Exception, match="unset EDN"):
        wiring.services()


def test_the_service_list_and_database_urls_come_from_the_registry(capsys):
    call_command("edn_wiring", "services", "--subscribers", "--names")
    assert capsys.readouterr().out.split() == [  # every one: each keeps its token revocations
        "customers",
        "orders",
        "inventory",
        "sagas",
        "schema-registry",
        "analytics",
    ]
    call_command("edn_wiring", "database-urls", "postgres://h/edn_x_")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "export DEFAULT_DATABASE_URL=postgres://h/edn_x_default"
    assert "export SCHEMA_REGISTRY_DATABASE_URL=postgres://h/edn_x_schema_registry" in lines
    assert len(lines) == 1 + len(settings.EDN_SERVICE_APPS)


def test_generated_deploy_parts_render_the_project_package(project_copy):
    web = (project_copy / "deploy/k8s/roles/service/web.yaml").read_text()
    assert "args: [gunicorn, -c, config/gunicorn.py, config.wsgi]" in web
    assert "{{" not in "".join(wiring.generated_files().values())
    shutil.rmtree(project_copy / "deploy/k8s/roles")
    assert any("roles/service/web.yaml (missing)" in p for p in wiring.drift(project_copy))


def test_a_service_that_declares_stream_processors_gets_a_streams_process(
    project_copy, monkeypatch
):
    from edn_core.streams import processors

    assert wiring.drift(project_copy) == []
    like = processors.get("analytics.order-minutes")
    billing = dataclasses.replace(like, name="billing.totals", app_label="billing")
    monkeypatch.setitem(processors._registry, billing.name, billing)
    apps = (*settings.EDN_SERVICE_APPS, "billing")
    with override_settings(EDN_SERVICE_APPS=apps, EDN_SERVICES=list(apps)):
        found = {s.label: s for s in wiring.services()}
        assert found["billing"].processors == {"billing.totals"} and found["billing"].runs_streams
        assert not found["customers"].runs_streams
        files = wiring.generated_files()
    procfile = files["deploy/local/Procfile"].splitlines()
    streams = [line for line in procfile if "edn_streams" in line]
    assert streams == [
        "analytics-streams: deploy/local/service analytics python manage.py edn_streams run --all",
        "billing-streams: deploy/local/service billing python manage.py edn_streams run --all",
    ]
    kustomization = files["deploy/k8s/services/billing/kustomization.yaml"]
    assert "  - ../../roles/subscriber\n  - ../../roles/streams\n" in kustomization
    assert (  # the token revocations, as every service; and its processors
        "# billing: publishes v1.SubjectRevoked; handles v1.SubjectRevoked. Stream processors:\n"
        "# billing.totals.\n"
    ) in kustomization
    assert "../../roles/streams" not in files["deploy/k8s/services/customers/kustomization.yaml"]


def test_the_local_topology_cleans_the_bus_as_the_cronjob_does(tmp_path):
    """One `cleanup` process runs the CronJob's command as every service that moves events,
    round after round; a failed run is reported and the next service still cleaned; SIGTERM
    (honcho stopping) ends it."""
    files = wiring.generated_files()
    command = "args: [python, manage.py, edn_outbox, --cleanup]"
    assert command in files["deploy/k8s/roles/events/cleanup.yaml"]
    (line,) = [p for p in files["deploy/local/Procfile"].splitlines() if p.startswith("cleanup:")]
    movers = sorted(s.name for s in wiring.services() if s.uses_bus)
    assert line.split()[1] == "deploy/local/cleanup" and sorted(line.split()[2:]) == movers
    wiring.write(tmp_path)
    calls = tmp_path / "calls"
    fake = tmp_path / "deploy/local/service"  # records what it is asked to run as which service
    fake.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n[ "$1" != orders ]\n')
    env = {"PATH": os.environ["PATH"], "EDN_CLEANUP_SECONDS": "0.05"}
    cleanup = subprocess.Popen(
        [tmp_path / "deploy/local/cleanup", "orders", "customers"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: calls.exists() and len(calls.read_text().splitlines()) >= 4, 60, "rounds")
    finally:
        cleanup.terminate()
        assert cleanup.wait(timeout=60) == 0
    run = "python manage.py edn_outbox --cleanup"
    assert calls.read_text().splitlines()[:4] == [f"orders {run}", f"customers {run}"] * 2
    assert "cleanup of orders failed (exit 1); next round in 0.05s" in cleanup.stderr.read()
