"""A processor's dead letters are replayed from the admin only by users holding the dead
letters' change permission; for others the action is not offered and a POST of it does
nothing."""

import pytest

from edn_core.streams.runtime_models import ProcessorDeadLetterBase as DeadLetter
from tests.edn_core.streams import runtime_support as support
from tests.edn_core.streams.adapter_database import ALIAS
from tests.edn_core.streams.test_runtime_admin import dead_letter  # noqa: F401 (a fixture)
from tests.support.staff import action, offers, staff_client

pytestmark = [
    pytest.mark.django_db(databases=["default", ALIAS]),
    pytest.mark.urls("tests.edn_core.streams.test_runtime_admin"),  # its own admin site
]


def permission(row, kind: str) -> str:
    return f"{support.APP}.{kind}_{row._meta.model_name}"


def status(row) -> str:
    return type(row)._default_manager.using(ALIAS).get(pk=row.pk).status


@pytest.mark.parametrize("kinds", [(), ("view",), ("view", "delete")], ids=str)
def test_replaying_without_the_change_permission_is_refused(dead_letter, kinds):  # noqa: F811
    client = staff_client(*(permission(dead_letter, kind) for kind in kinds))
    url = f"/admin/{support.APP}/{dead_letter._meta.model_name}/"
    assert not offers(client, url, "replay")
    action(client, url, "replay", dead_letter.pk)
    assert status(dead_letter) == DeadLetter.DEAD


def test_replaying_with_the_change_permission_resolves_it(dead_letter):  # noqa: F811
    client = staff_client(permission(dead_letter, "change"))
    url = f"/admin/{support.APP}/{dead_letter._meta.model_name}/"
    assert offers(client, url, "replay")
    action(client, url, "replay", dead_letter.pk)
    assert status(dead_letter) == DeadLetter.RESOLVED
