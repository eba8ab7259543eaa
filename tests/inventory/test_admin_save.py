"""The product admin saves through the command handlers: a product added or changed in the
admin form is created or updated by CreateProduct / UpdateProduct (version checked, its
event published); a command refused shows the error and saves nothing."""

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory

from edn_core.cqrs import send
from edn_core.testing import EventBus
from inventory import commands
from inventory.admin import ProductAdmin
from inventory.events import TOPIC
from inventory.models import ProductRecord
from tests.inventory.factories import CreateProductFactory
from tests.support.staff import staff_client

pytestmark = pytest.mark.django_db(databases="__all__")
PRODUCTS = "/admin/inventory/productrecord/"


def stock_changes(bus: EventBus) -> list[tuple[str, int]]:
    return [(e.data["productId"], e.data["amountAvailable"]) for e in bus.published(TOPIC)]


def saving(obj: ProductRecord, change: bool) -> list[str]:
    """Call the admin's save_model as its views do; the messages it left."""
    request = RequestFactory().post(PRODUCTS)
    request.session = {}
    request._messages = FallbackStorage(request)
    ProductAdmin(ProductRecord, admin.site).save_model(request, obj, None, change)
    return [str(message) for message in get_messages(request)]


def test_adding_a_product_in_the_admin_sends_create_product():
    """The new row is the aggregate's (version 1) and its stock change is published."""
    client, bus = (
        staff_client("inventory.add_productrecord", "inventory.view_productrecord"),
        EventBus(),
    )
    form = {"description": "Teapot", "amount_available": "4"}
    response = client.post(f"{PRODUCTS}add/", form)
    assert response.status_code == 302, response.content
    product = ProductRecord.objects.get()
    assert (product.description, product.amount_available, product.version) == ("Teapot", 4, 1)
    assert stock_changes(bus) == [(str(product.id), 4)]


def test_changing_a_product_in_the_admin_sends_update_product():
    """The row's version moves on and the new stock is published."""
    product = CreateProductFactory.create(description="Kettle", amount_available=2)
    client = staff_client("inventory.change_productrecord")
    bus = EventBus()
    form = {"description": "Kettle XL", "amount_available": "7"}
    response = client.post(f"{PRODUCTS}{product.id}/change/", form)
    assert response.status_code == 302, response.content
    row = ProductRecord.objects.get(pk=product.id)
    assert (row.description, row.amount_available, row.version) == ("Kettle XL", 7, 2)
    assert stock_changes(bus) == [(str(product.id), 7)]


def test_a_change_over_someone_else_s_is_refused_and_saves_nothing():
    """The form was loaded at version 1, someone saved version 2 meanwhile: UpdateProduct
    refuses the stale version, the admin shows why, and version 2 stays."""
    product = CreateProductFactory.create(description="Kettle", amount_available=2)
    loaded = ProductRecord.objects.get(pk=product.id)
    update = commands.UpdateProduct(
        product_id=product.id, expected_version=1, description="Kettle", amount_available=5
    )
    assert send(update).accepted
    bus = EventBus()
    loaded.amount_available = 9
    (message,) = saving(loaded, change=True)
    assert message.startswith("Not saved: ") and "is at version 2, not 1" in message
    row = ProductRecord.objects.get(pk=product.id)
    assert (row.amount_available, row.version) == (5, 2) and stock_changes(bus) == []


def test_a_product_create_product_refuses_is_not_saved():
    """A blank description (the form refuses it before; save_model must too): the error
    names the field, no row and no event."""
    bus = EventBus()
    new = ProductRecord(description="  ", amount_available=3)
    (message,) = saving(new, change=False)
    assert message.startswith("Not saved: ") and "'description': ['This field may" in message
    assert new.pk is None and not ProductRecord.objects.exists() and stock_changes(bus) == []
