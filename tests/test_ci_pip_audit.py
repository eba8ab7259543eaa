"""The CI's vulnerability audit (.ci/pip_audit.py) fails on a known vulnerability that is not
waived, passes a waived one, and says plainly when it could not run, against a fake OSV
service on this machine (the real one, api.osv.dev, does not resolve here)."""

import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WRAPPER = ROOT / ".ci" / "pip_audit.py"
VULN = "GHSA-edn0-test-0001"
DJANGO = version("django")


def wrapper_module():
    spec = importlib.util.spec_from_file_location("ci_pip_audit", WRAPPER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeOsv(BaseHTTPRequestHandler):
    """OSV's /v1/query: one vulnerability for the installed Django, none for anything else;
    ``status`` other than 200 answers every query with that error."""

    status = 200
    queried: list[str] = []

    def do_POST(self):
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        name = query["package"]["name"]
        self.queried.append(name)
        if self.status != 200:
            self.send_error(self.status)
            return
        body = {}
        if name == "django" and query["version"] == DJANGO:
            affected = {
                "package": {"name": "django", "ecosystem": "PyPI"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "99"}]}],
            }
            body = {
                "vulns": [
                    {
                        "id": VULN,
                        "aliases": ["CVE-2099-0001"],
                        "summary": "a test vulnerability",
                        "affected": [affected],
                    }
                ]
            }
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def osv():
    FakeOsv.status, FakeOsv.queried = 200, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOsv)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/v1/query"
    server.shutdown()
    server.server_close()


def audit(tmp_path, osv_url: str, waivers: str = "", **env) -> subprocess.CompletedProcess:
    (tmp_path / "waivers.txt").write_text(waivers)
    return subprocess.run(
        [sys.executable, str(WRAPPER), "--cache-dir", str(tmp_path / "cache")],
        cwd=ROOT,
        env={
            **os.environ,
            "EDN_AUDIT_OSV_URL": osv_url,
            "EDN_AUDIT_WAIVERS": str(tmp_path / "waivers.txt"),
            "EDN_AUDIT_TIMEOUT": "5",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_known_vulnerability_fails_the_audit(tmp_path, osv):
    done = audit(tmp_path, osv)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"django {DJANGO}: CVE-2099-0001 ({VULN}) (fixed in: 99)" in done.stderr
    assert "1 known vulnerabilities not waived" in done.stderr
    assert {"django", "djangorestframework", "pip-audit"} <= set(FakeOsv.queried)


def test_a_waived_vulnerability_passes_with_its_reason(tmp_path, osv):
    waivers = f"# accepted\n{VULN}  only the test's fake service knows it\n"  # an alias
    done = audit(tmp_path, osv, waivers)
    assert done.returncode == 0, done.stdout + done.stderr
    waived = (
        f"waived django {DJANGO}: CVE-2099-0001 ({VULN}) (only the test's fake service knows it)"
    )
    assert waived in done.stdout
    assert "no known vulnerabilities (other than waived ones)" in done.stdout


def test_a_waiver_without_a_reason_is_refused(tmp_path, osv):
    done = audit(tmp_path, osv, f"{VULN}\n")
    assert done.returncode == 2 and f"{VULN} has no reason" in done.stderr


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("how", ["unreachable", "http-error"])
def test_an_unusable_service_is_a_warning_unless_the_audit_is_required(tmp_path, osv, how):
    url = f"http://127.0.0.1:{closed_port()}/v1/query" if how == "unreachable" else osv
    FakeOsv.status = 503
    done = audit(tmp_path, url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the vulnerability audit could NOT run: its service is unreachable" in done.stderr
    assert audit(tmp_path, url, EDN_AUDIT_REQUIRED="1").returncode == 1


def test_a_service_that_knows_no_package_did_not_audit_anything():
    """PyPI's service answering 404 for every package: pip-audit says "No known
    vulnerabilities found" and exits 0; the wrapper says the audit did not run."""
    report = {
        "dependencies": [
            {
                "name": "django",
                "skip_reason": "Dependency not found on PyPI and could not be audited",
            },
            {
                "name": "celery",
                "skip_reason": "Dependency not found on PyPI and could not be audited",
            },
        ]
    }
    verdict = wrapper_module().verdict
    status, lines = verdict(0, report, "", {}, required=False)
    assert status == 0 and "could NOT run" in lines[0] and "none of the 2 packages" in lines[0]
    assert verdict(0, report, "", {}, required=True)[0] == 1
    partly = {
        "dependencies": [*report["dependencies"][:1], {"name": "x", "version": "1", "vulns": []}]
    }
    status, lines = verdict(0, partly, "", {}, required=True)
    assert status == 0 and lines[0] == "audited 1 packages; 1 not found by the service"


def test_another_pip_audit_failure_fails_the_audit():
    status, lines = wrapper_module().verdict(2, None, "error: unrecognized arguments", {}, False)
    assert status == 1 and lines[-1] == "error: unrecognized arguments"
