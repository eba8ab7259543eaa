"""Set up the create-order saga's world through the HTTP API, as a user would."""

from tests.customers.factories import customer_payload


def new_customer(api, credit: str = "100.00") -> dict:
    response = api.post("/api/customers", customer_payload(creditLimit=credit), format="json")
    assert response.status_code == 201, response.content
    return response.json()


def new_product(api, stock: int = 9, description: str = "Widget") -> dict:
    body = {"description": description, "amountAvailable": stock}
    response = api.post("/api/inventory", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def place(api, customer: dict, product: dict, *, price: str = "7.50", quantity: int = 3):
    body = {
        "customerId": customer["id"],
        "shippingAddress": customer["shippingAddress"],
        "items": [
            {
                "productId": product["id"],
                "productName": product["description"],
                "productPrice": price,
                "quantity": quantity,
            }
        ],
    }
    response = api.post("/api/orders", body, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "Pending"
    return response


def saga_of(api, order_id: str) -> dict:
    (saga,) = api.get("/api/sagas", {"key": order_id}).json()["results"]
    return saga


def credit_available(api, customer: dict) -> str:
    return api.get(f"/api/customers/{customer['id']}").json()["creditAvailable"]


def stock(api, product: dict) -> int:
    return api.get(f"/api/inventory/{product['id']}").json()["amountAvailable"]
