"""The quick start as a new user runs it: the README's commands, as written, on a fresh copy.

"Fresh clone" here is a copy of the working tree as git sees it (tracked and untracked files,
nothing git ignores: no ``data/``, no ``.env``, no ``.venv``) in a temporary folder. Its
``.venv`` is this test run's virtualenv, linked in, and marked installed for the copy's
``pyproject.toml``: ``scripts/run`` must not install anything (the test checks it says so
nowhere), so no test ever reinstalls the shared environment from the copy.

The README's blocks marked ``<!-- readme-test: NAME -->`` then run in order, in one
"terminal" (shell variables carry over), from the copy's folder: ``serve`` is
``./scripts/run`` itself, served on a free port in the background (the README's
``127.0.0.1:8000`` is replaced by that address in every block); each other block's output is
checked by ``CHECKS[NAME]``, re-run while it shows a state the README says comes "a moment
later" (the saga's work). The sagas' step timeout is an hour: a slow machine must not turn an
order Rejected. The other tests use the same server afterwards.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.support.processes import free_port, wait_for
from tests.support.readme import Terminal, answer, assigned_names, runnable_blocks

ROOT = Path(__file__).resolve().parent.parent
GRACE = "/api/customers/2b7c1c64-3f43-4c55-9a0f-1f6d3b2a9c02"
DEMO_ORDER = "/api/orders/4f1d2e3c-5b6a-4789-8abc-0d1e2f3a4b01"


@dataclass
class Served:
    base: str
    token: str
    copy: Path
    env: dict
    log: Path


def fresh_copy(target: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a file deleted in the working tree is still listed
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    venv = Path(sys.prefix)
    (target / ".venv").mkdir()
    for part in ("bin", "lib", "lib64", "include"):
        if (venv / part).exists():
            (target / ".venv" / part).symlink_to(venv / part)
    shutil.copy2(venv / "pyvenv.cfg", target / ".venv" / "pyvenv.cfg")
    installed = hashlib.sha256((target / "pyproject.toml").read_bytes()).hexdigest()[:16]
    (target / ".venv" / ".edn-installed").write_text(f"{installed}-\n")
    return target


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if sys.prefix == sys.base_prefix:
        pytest.skip("the quick start runs in a virtualenv (scripts/_setup.sh makes .venv)")
    copy = fresh_copy(tmp_path_factory.mktemp("clone"))
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_DATABASE_URL") and not k.startswith(("DJANGO_", "EDN_"))
    }
    env.update(EDN_BIND=f"127.0.0.1:{port}", EDN_SAGA_STEP_TIMEOUT_SECONDS="3600")
    (_, serve), *_ = runnable_blocks(copy / "README.md")
    log = copy / "scripts-run.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", serve],
            cwd=copy,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # runserver's reloader and its child: stopped as a group
        )
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert server.poll() is None, f"scripts/run exited:\n{log.read_text()[-3000:]}"
        try:
            return httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        except httpx.TransportError:
            return False

    try:
        try:  # a loaded machine sets up slowly: the deadline only fails a server that never came
            wait_for(answers, 300, "scripts/run to serve")
        except TimeoutError as error:
            raise AssertionError(
                f"{error}; scripts/run wrote:\n{log.read_text()[-5000:]}"
            ) from None
        token = (copy / "data" / "token").read_text().strip()
        yield Served(base, token, copy, env, log)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def api(served: Served, token: str | None = None) -> httpx.Client:
    auth = {"Authorization": f"Bearer {token or served.token}"}
    return httpx.Client(base_url=served.base, headers=auth, timeout=10)


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def listed(out, _):
    names = {c["lastName"] for c in json.loads(out)["results"]}
    assert {"Lovelace", "Hopper", "Turing"} <= names, out


def new_token(out, values):
    assert claims(values["TOKEN"])["username"] == "alice", values


def created(last_name=None, amount=None):
    def check(out, _):
        got = answer(out)
        assert got.status == 201 and got.headers["etag"] == '"1"', out
        assert got.headers["location"].endswith(got.body["id"])
        assert got.body.get("lastName", last_name) == last_name
        assert got.body.get("amountAvailable", amount) == amount

    return check


def placed(variable):
    def check(out, values):
        assert is_uuid(values[variable]) and out.strip() == values[variable], (out, values)

    return check


def order(state, tag, street=None):
    def check(out, _):
        got = answer(out)
        assert (got.status, got.body["state"], got.headers["etag"]) == (200, state, tag), out
        assert street is None or got.body["shippingAddress"]["street"] == street, out

    return check


def saga(state):
    def check(out, _):
        (found,) = json.loads(out)["results"]
        assert found["state"] == state, out
        steps = [s["name"] for s in found["steps"]]
        assert "ReserveCustomerCredit" in steps and "ReserveProductInventory" in steps

    return check


def moved(out, _):
    got = answer(out)
    assert got.status == 200 and got.headers["etag"] == '"3"', out
    assert got.body["shippingAddress"] == {
        "street": "200 Pentagon Drive",  # the change; the other parts are kept
        "city": "Arlington",
        "state": "VA",
        "country": "USA",
        "postalCode": "22202",
    }


def problem(status, words):
    def check(out, _):
        got = answer(out)
        assert got.status == status, out
        assert got.headers["content-type"] == "application/problem+json", out
        assert words in got.body["detail"], out

    return check


# name -> (check of what the block printed, whether to re-run it until the check passes)
CHECKS = {
    "token": (listed, False),
    "new-token": (new_token, False),
    "create-customer": (created(last_name="Johnson"), False),
    "create-product": (created(amount=40), False),
    "place-order": (placed("ORDER"), False),
    "see-order": (order("Created", '"2"'), True),
    "see-saga": (saga("Executed"), True),
    "ship": (order("Shipped", '"3"'), False),
    "change-address": (moved, False),
    "order-follows": (order("Created", '"3"', street="200 Pentagon Drive"), True),
    "cancel": (order("Cancelled", '"4"'), False),
    "refused-order": (placed("REFUSED"), False),
    "see-refusal": (saga("Compensated"), True),
    "unquoted-etag": (problem(412, 'send If-Match: "3"'), False),
    "unknown-route": (problem(404, "did you mean /api/customers?"), False),
}


def test_the_readme_runs_as_written(served):
    blocks = runnable_blocks(served.copy / "README.md")
    assert [name for name, _ in blocks] == ["serve", *CHECKS], "a block without a check"
    log = served.log.read_text()
    assert "installing dependencies" not in log, "scripts/run installed again"
    assert f"export TOKEN={served.token}" in log  # the line to copy
    terminal = Terminal(served.copy, served.env, assigned_names(blocks))
    port = served.base.rsplit(":", 1)[1]
    for name, code in blocks[1:]:
        code = code.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        if name == "change-address":  # the README's "once her order's saga reserved"
            with api(served) as client:
                wait_for(lambda: client.get(GRACE).headers["ETag"] == '"2"', 120, "the saga")
        check, again = CHECKS[name]
        run_checked(terminal, name, code, check, again)
    with api(served) as client:  # what the README says of the cancellation and the refusal
        credit = lambda: client.get(GRACE).json()["creditAvailable"]  # noqa: E731
        wait_for(lambda: credit() == "250.00", 120, "the credit to come back")
        refused = client.get(f"/api/orders/{terminal.values['REFUSED']}").json()
        assert (
            refused["state"] == "Rejected"
            and "ReserveProductInventory" in (refused["rejectionReason"])
        )


def run_checked(terminal: Terminal, name: str, code: str, check, again: bool) -> None:
    deadline = time.monotonic() + 120
    while True:
        out = terminal.run(code)
        try:
            check(out, terminal.values)
            return
        except (AssertionError, KeyError, ValueError, TypeError) as error:
            if not again or time.monotonic() > deadline:
                raise AssertionError(f"README block {name!r} answered:\n{out}") from error
        time.sleep(0.5)


def test_new_user_can_run_and_use_the_customers_api(served):
    with httpx.Client(base_url=served.base, timeout=10) as anonymous:
        assert anonymous.get("/api/customers").status_code == 401
        assert anonymous.get("/readyz").status_code == 200
        assert anonymous.get("/api/docs/").status_code == 200
    with api(served) as client:
        body = {
            "firstName": "Ada",
            "lastName": "Byron",
            "creditLimit": "100.00",
            "shippingAddress": {
                "street": "1 A St",
                "city": "London",
                "state": "LDN",
                "country": "UK",
                "postalCode": "N1",
            },
        }
        made = client.post("/api/customers", json=body)
        assert made.status_code == 201
        url, tag = made.headers["Location"], made.headers["ETag"]
        assert client.get(url).json()["lastName"] == "Byron"
        body["lastName"] = "King"
        assert client.put(url, json=body).status_code == 428
        updated = client.put(url, json=body, headers={"If-Match": tag})
        assert updated.status_code == 200 and updated.headers["ETag"] != tag
        assert client.put(url, json=body, headers={"If-Match": tag}).status_code == 412
        assert client.delete(url, headers={"If-Match": updated.headers["ETag"]}).status_code == 204
        assert client.get(url).status_code == 404


def test_events_flow_inside_the_one_process_server(served):
    """The in-process relay runs the create-order saga, delivers the address change and feeds
    the analytics service's statistics without any other process. Its own product, so the
    figures are this test's alone."""
    with api(served) as client:
        customer = client.get("/api/customers", params={"name": "Lovelace"}).json()["results"][0]
        flange = {"description": "Flange", "amountAvailable": 9}
        product = client.post("/api/inventory", json=flange)
        item = {"productId": product.json()["id"], "productName": "Flange", "quantity": 3}
        placed_order = client.post(
            "/api/orders",
            json={
                "customerId": customer["id"],
                "shippingAddress": customer["shippingAddress"],
                "items": [{**item, "productPrice": "7.50"}],
            },
        )
        assert placed_order.status_code == 202 and placed_order.json()["state"] == "Pending"
        # the create-order saga runs in the same process: credit 100 -> 77.50, stock 9 -> 6
        location = placed_order.headers["Location"]
        wait_for(lambda: client.get(location).json()["state"] != "Pending", 120, "the saga")
        assert client.get(location).json()["state"] == "Created"

        def saga_state() -> str:
            key = placed_order.json()["id"]
            (found,) = client.get("/api/sagas", params={"key": key}).json()["results"]
            ended = found["state"] in ("Executed", "Compensated", "NeedsAttention")
            return ended and found["state"]

        # the saga records the order's reply a moment after the order changed
        assert wait_for(saga_state, 120, "the saga's end") == "Executed"
        url = f"/api/customers/{customer['id']}"
        assert client.get(url).json()["creditAvailable"] == "77.50"
        assert client.get(product.headers["Location"]).json()["amountAvailable"] == 6
        current = client.get(url)
        street = {**customer["shippingAddress"], "street": "1 Moved Street"}
        body = {k: customer[k] for k in ("firstName", "lastName", "creditLimit")}
        tag = {"If-Match": current.headers["ETag"]}
        response = client.put(url, json={**body, "shippingAddress": street}, headers=tag)
        assert response.status_code == 200

        def shipping_street() -> str:
            return client.get(location).json()["shippingAddress"]["street"]

        wait_for(lambda: shipping_street() == "1 Moved Street", 120, "the order to follow")

        # the order reached the analytics service's statistics (stream, processor) in-process
        now = datetime.now(UTC)
        hour = {
            "window": "PT1H",
            "from": (now - timedelta(hours=2)).isoformat(),
            "to": (now + timedelta(hours=2)).isoformat(),
        }

        def counted() -> list:
            stats = f"/api/stats/products/{item['productId']}"
            found = client.get(stats, params=hour).json()["results"]
            return [(w["orders"], w["units"], w["revenue"]) for w in found if w["orders"]]

        assert wait_for(counted, 120, "the order in the statistics") == [(1, 3, "22.50")]
