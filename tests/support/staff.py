"""Staff users holding only the model permissions a test names, logged in to Django's test
client: what the admin's permission tests act as."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

__all__ = ["ACTION_CHECKBOX", "action", "offers", "staff_client"]

ACTION_CHECKBOX = "_selected_action"


def staff_client(*permissions: str, name: str = "") -> Client:
    """A client logged in as a fresh staff user (not a superuser) holding ``permissions``
    (``"app_label.codename"``) and no others."""
    username = name or "-".join(["staff", *(p.split(".")[1] for p in permissions)])
    user = get_user_model().objects.create_user(username, is_staff=True)
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    client = Client()
    # Named: the first backend listed may be a guard that finds no users (it refuses logins).
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def action(client: Client, changelist: str, name: str, *pks) -> None:
    """POST admin action ``name`` on the rows ``pks`` of ``changelist`` (a refused one is
    simply not run: Django does not offer it)."""
    response = client.post(changelist, {"action": name, ACTION_CHECKBOX: [str(pk) for pk in pks]})
    assert response.status_code in (200, 302, 403), response.status_code


def offers(client: Client, changelist: str, name: str) -> bool:
    """Whether the changelist page offers action ``name`` (403 pages offer nothing)."""
    response = client.get(changelist)
    return response.status_code == 200 and f'value="{name}"' in response.content.decode()
