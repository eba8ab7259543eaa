"""Services as separate OS processes, each with its own PostgreSQL databases, events over a
real broker (RabbitMQ, then Redis): the admin styled (its static files served with DEBUG off),
the address-changed flow across processes, then a token revoked on one service and refused by
the other.

registry: gunicorn hosting schema_registry
customers: gunicorn + edn_relay (publishes v1.CustomerAddressUpdated through the broker)
orders: gunicorn + Celery worker (consumes its queue and its revocations' queue) + edn_relay
"""

import sys
import uuid

import httpx

from tests.support.deployment import Deployment, postgres_or_skip, wait_for, worker_command

SERVICES = {"registry": ["schema_registry"], "customers": ["customers"], "orders": ["orders"]}
# minted once the clock is past the second of the revocation (iat counts whole seconds)
TOKEN_AFTER = "import time\ntime.sleep(1 - time.time() % 1)\ncall_command('edn_token', 'e2e')\n"


def test_address_change_crosses_process_and_database_boundaries(broker_url, tmp_path):
    postgres_or_skip()
    # revocation lists read on every request: a handled revocation counts at the next one
    with Deployment(
        SERVICES, broker_url, tmp_path, EDN_REVOCATION_REFRESH_SECONDS="0"
    ) as deployment:
        deployment.manage_each({service: [("migrate_all",)] for service in SERVICES})
        deployment.serve("registry")
        deployment.manage_each(
            {
                "customers": [("edn_schemas", "register")],
                "orders": [("edn_schemas", "register"), ("edn_broker",)],
            }
        )
        deployment.serve_all("customers", "orders")
        deployment.start("customers", "relay", sys.executable, "manage.py", "edn_relay")
        deployment.start("orders", "relay", sys.executable, "manage.py", "edn_relay")
        deployment.start("orders", "worker", *worker_command("orders-worker"))
        token = deployment.manage("customers", "edn_token", "e2e").strip().splitlines()[-1]
        auth = {"Authorization": f"Bearer {token}"}
        customers = httpx.Client(base_url=deployment.url("customers"), headers=auth, timeout=10)
        orders = httpx.Client(base_url=deployment.url("orders"), headers=auth, timeout=10)

        # the admin is styled: the stylesheet its login page links, served by WhiteNoise
        login = httpx.get(f"{deployment.url('customers')}/admin/login/", timeout=10)
        assert login.status_code == 200 and '"/static/admin/css/base.css"' in login.text
        css = customers.get("/static/admin/css/base.css")
        assert css.status_code == 200, css.text
        assert css.headers["content-type"].startswith("text/css") and "body" in css.text

        address = {
            "street": "1 Old Road",
            "city": "Leeds",
            "state": "WY",
            "country": "UK",
            "postalCode": "LS1",
        }
        created = customers.post(
            "/api/customers",
            json={
                "firstName": "Ada",
                "lastName": "Lovelace",
                "creditLimit": "100.00",
                "shippingAddress": address,
            },
        )
        assert created.status_code == 201, created.text
        customer = created.json()
        order = orders.post(
            "/api/orders",
            json={
                "customerId": customer["id"],
                "shippingAddress": address,
                "items": [
                    {
                        "productId": str(uuid.uuid4()),
                        "productName": "Widget",
                        "productPrice": "7.50",
                        "quantity": 3,
                    }
                ],
            },
        )
        assert order.status_code == 202, order.text

        moved = {**address, "street": "2 New Road"}
        update = customers.put(
            created.headers["Location"],
            headers={"If-Match": created.headers["ETag"]},
            json={
                "firstName": "Ada",
                "lastName": "Lovelace",
                "creditLimit": "100.00",
                "shippingAddress": moved,
            },
        )
        assert update.status_code == 200, update.text

        def order_moved():
            body = orders.get(order.headers["Location"]).json()
            return body["shippingAddress"]["street"] == "2 New Road" and body

        body = wait_for(order_moved, 180, f"the order to follow the customer; logs in {tmp_path}")
        assert body["shippingAddress"] == moved
        assert orders.get("/api/customers").status_code == 404  # not hosted by orders

        # revoked on customers; orders keeps its own copy of the revocation in its default
        # database, and refuses the earlier token from its next request on
        revoked = deployment.manage_many("customers", ("edn_revoke", "e2e"), then=TOKEN_AFTER)
        assert "revoked the tokens of 'e2e'" in revoked
        fresh = {"Authorization": f"Bearer {revoked.strip().splitlines()[-1]}"}

        def revocation_handled():
            with deployment.database("orders", "default") as db:
                query = "SELECT 1 FROM edn_revocations_revocation WHERE subject = 'e2e'"
                return db.execute(query).fetchone()

        wait_for(revocation_handled, 120, f"orders to handle the revocation; logs in {tmp_path}")
        refused = orders.get(order.headers["Location"])
        assert refused.status_code == 401, refused.text
        assert refused.json()["detail"] == "This token was revoked."
        assert orders.get(order.headers["Location"], headers=fresh).status_code == 200
