"""Read-only admin pages: rows are shown, never added or edited (commands change state)."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from orders.models import InboxEntry, OrderView, OutboxMessage
from sagas.models import SagaRecord

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def request_of_superuser(django_user_model):
    request = RequestFactory().get("/admin/")
    request.user = django_user_model.objects.create_superuser("root", "r@example.com", "pw")
    return request


def permissions(model_admin, request) -> dict[str, bool]:
    return {
        "view": model_admin.has_view_permission(request),
        "add": model_admin.has_add_permission(request),
        "change": model_admin.has_change_permission(request),
        "delete": model_admin.has_delete_permission(request),
    }


@pytest.mark.parametrize("model", [OrderView, SagaRecord])
def test_aggregates_changed_by_commands_only_are_read_only_even_for_a_superuser(
    model, request_of_superuser
):
    model_admin = admin.site._registry[model]
    expected = {"view": True, "add": False, "change": False, "delete": False}
    assert permissions(model_admin, request_of_superuser) == expected


@pytest.mark.parametrize("model", [OutboxMessage, InboxEntry])
def test_bus_rows_are_read_only_but_an_operator_may_delete_them(model, request_of_superuser):
    expected = {"view": True, "add": False, "change": False, "delete": True}
    assert permissions(admin.site._registry[model], request_of_superuser) == expected
