"""What authorization costs a request: scopes and the revocation list against plain DRF.

A benchmark, not a test. In one process (SQLite in a temporary folder), the same trivial
view answers a bearer-token GET through DRF's whole request cycle, three ways:

* **plain DRF**: simplejwt's ``JWTStatelessUserAuthentication`` and ``IsAuthenticated``;
* **ours**: the API's defaults, ``edn_core.authentication.TokenAuthentication`` (simplejwt's
  verification, then the revocation list, refreshed every ``EDN_REVOCATION_REFRESH_SECONDS``,
  0.5 s) and ``edn_core.scopes.HasScope`` (the view's scope among the token's);
* **ours, list read per request**: the same with ``EDN_REVOCATION_REFRESH_SECONDS=0`` (what
  the refresh period saves).

The revocation list holds ``--revoked`` subjects (not the token's). The variants take turns,
``--rounds`` rounds of ``--requests`` requests each; the figure is the median round's µs per
request, and the ratio is plain's throughput over ours in the same run.

Run from the repository root::

    .venv/bin/python bench/authorization.py --requests 5000 --rounds 9
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def setup(data_dir: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DJANGO_DEBUG="1",
        EDN_SERVICES="customers",
        EDN_DATA_DIR=data_dir,
        EDN_LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", database="default", verbosity=0)


def views():
    from rest_framework.permissions import IsAuthenticated
    from rest_framework.response import Response
    from rest_framework.views import APIView
    from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication

    class Ours(APIView):
        required_scopes = "customers:read"

        def get(self, request):
            return Response({})

    class Plain(Ours):
        authentication_classes = [JWTStatelessUserAuthentication]
        permission_classes = [IsAuthenticated]

    return {"plain DRF": Plain.as_view(), "ours": Ours.as_view()}


def revoke(count: int) -> None:
    from edn_core.revocations.models import Revocation

    now = datetime.now(UTC)
    Revocation.objects.bulk_create(
        Revocation(subject=f"gone-{i}", not_before=now) for i in range(count)
    )


def round_of(view, headers: dict, requests: int) -> float:
    """µs per request of ``requests`` GETs through ``view``."""
    from rest_framework.test import APIRequestFactory

    factory = APIRequestFactory()
    started = time.perf_counter()
    for _ in range(requests):
        response = view(factory.get("/", **headers))
        assert response.status_code == 200, response.status_code
    return (time.perf_counter() - started) / requests * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--revoked", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        setup(data_dir)
        from django.test import override_settings

        from edn_core.pytest_plugin import bearer_token

        revoke(args.revoked)
        headers = {"HTTP_AUTHORIZATION": f"Bearer {bearer_token(scopes=['customers:read'])}"}
        named = views()
        variants = {
            "plain DRF": (named["plain DRF"], {}),
            "ours": (named["ours"], {}),
            "ours, list read per request": (named["ours"], {"EDN_REVOCATION_REFRESH_SECONDS": 0}),
        }
        times: dict[str, list[float]] = {name: [] for name in variants}
        for view, changes in variants.values():  # warm up
            with override_settings(**changes):
                round_of(view, headers, min(500, args.requests))
        for number in range(args.rounds):
            order = list(variants) if number % 2 == 0 else list(reversed(variants))
            for name in order:
                view, changes = variants[name]
                with override_settings(**changes):
                    times[name].append(round_of(view, headers, args.requests))
    base = statistics.median(times["plain DRF"])
    print(f"{args.rounds} rounds x {args.requests} requests, {args.revoked} revoked subjects")
    print(f"{'variant':<30} {'µs/request':>11} {'+µs':>7} {'throughput ratio':>17}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<30} {median:>11.1f} {median - base:>+7.1f} {base / median:>17.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
