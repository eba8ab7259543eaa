"""Run by tests/sagas/test_versions_restart.py as a fresh process on a throwaway SQLite data dir.

``v1``: migrate, then start a create-order saga on the only definition (v1).
``v2``: a deploy that registers v2 (stock before credit) beside v1; answer the v1 saga's credit
request and start a second saga. Prints one JSON line: each saga's version and commands sent.
"""

import io
import json
import os
import sys
import uuid

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
django.setup()

from django.core.management import call_command  # noqa: E402

from edn_core.cqrs import send  # noqa: E402
from sagas.commands import HandleReplies, StartSagas  # noqa: E402
from sagas.definition import register  # noqa: E402
from sagas.models import OutboxMessage, SagaRecord  # noqa: E402
from tests.sagas.changed import order_data, stock_before_credit  # noqa: E402


def start() -> None:
    send(StartSagas(saga_type="CreateOrder", datas=[order_data()])).value_or_raise()


def report() -> dict:
    sagas = {}
    for row in SagaRecord.objects.order_by("created_at"):
        sent = OutboxMessage.objects.filter(aggregate_id=str(row.id)).order_by("sequence")
        sagas[str(row.id)] = {
            "version": row.definition_version,
            "sent": list(sent.values_list("topic", flat=True)),
        }
    return sagas


if sys.argv[1] == "v1":
    call_command("migrate_all", verbosity=0, stdout=io.StringIO())
    start()
else:
    register(stock_before_credit(version=2))
    (in_flight,) = SagaRecord.objects.values_list("id", flat=True)
    reply = (in_flight, "v1.CustomerCreditReserved", {}, str(uuid.uuid4()))
    send(HandleReplies(replies=[reply])).value_or_raise()
    start()
print(json.dumps(report()))
