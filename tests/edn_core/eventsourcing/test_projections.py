"""The projection runner on the configured backend (and on the other one, in a subprocess:
test_projections_backends.py): exactly once, catch-up then live, generations."""

import io
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from django.urls import reverse

from edn_core.bus.outbox import _local_waker, _waker
from edn_core.bus.worker import BusWorker
from edn_core.eventsourcing import generations, running
from edn_core.eventsourcing import projections as projection_module
from edn_core.eventsourcing.projections import catch_up_all, projections, register, unregister
from edn_core.eventsourcing.signals import subject_forgotten
from edn_core.testing import EventBus
from tests.edn_core.eventsourcing.counting import Counting, stored_counts
from tests.edn_core.eventsourcing.store_contract import Counted
from tests.orders.factories import PlaceOrderFactory

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def counting():
    """The counter projection alone (the apps' own, e.g. the orders list, set aside)."""
    apps_own = projections()
    for projection in apps_own:
        unregister(projection.name)
    counting = register(Counting(batch_size=5))
    yield counting
    unregister(counting.name)
    for projection in apps_own:
        register(projection)


def append(store, counts: dict, stream=None, n: int = 1) -> str:
    """Append ``n`` counts to ``stream`` (a new one by default), committed."""
    stream = str(stream or uuid.uuid4())
    have = counts.setdefault(stream, [])
    with store.atomic():
        new = [Counted(aggregate_id=uuid.UUID(stream), by=len(have) + k + 1) for k in range(n)]
        store.append(stream, len(have), new)
    have += [e.by for e in new]
    return stream


def fill(store, streams: int, each: int) -> dict:
    counts: dict = {}
    for _ in range(streams):
        append(store, counts, n=each)
    return counts


def test_catches_up_then_follows_live(counting):
    counts = fill(counting.store, streams=4, each=3)
    assert catch_up_all(max_batches=None) == 12
    assert counting.counts() == counts == stored_counts(counting.store)
    state = running.ensure_live(counting)
    assert (state.generation, state.applied, state.caught_up_at is not None) == (1, 12, True)
    append(counting.store, counts, stream=next(iter(counts)), n=2)
    append(counting.store, counts)
    EventBus().run_until_quiet()  # the bus workers' round: live appends follow
    assert counting.counts() == counts
    assert catch_up_all() == 0  # nothing twice


def test_a_failing_batch_loses_and_doubles_nothing(counting):
    """The hook fails the third batch: the first two stay applied with their checkpoint, the
    third's rows and checkpoint roll back together and the error is kept; run again, every
    event is applied exactly once."""
    counts = fill(counting.store, streams=6, each=3)  # 18 events, batches of 5
    batches = []

    def third_fails(batch) -> bool:
        batches.append(len(batch))
        return len(batches) == 3

    counting.fail_when = third_fails
    with pytest.raises(RuntimeError, match="made this batch fail"):
        catch_up_all(max_batches=None)
    state = running.ensure_live(counting)
    assert state.applied == 10 and "made this batch fail" in state.last_error
    assert sum(len(c) for c in counting.counts().values()) == 10
    assert generations.standing(counting)[0].lag == 8
    counting.fail_when = None
    assert catch_up_all(max_batches=None) == 8
    assert counting.counts() == counts
    handled = [(s, v) for _, s, v in counting.handled]
    assert len(handled) == len(set(handled)) + 5  # only the failed batch was handled twice
    assert running.ensure_live(counting).last_error == ""


def test_rebuild_serves_the_old_generation_until_an_atomic_swap(counting):
    counts = fill(counting.store, streams=6, each=4)
    catch_up_all(max_batches=None)
    seen = []

    def between_batches(state, moved) -> None:
        # reads still come whole from generation 1, which keeps following appends
        assert counting.live_generation() == 1 and not state.live
        if len(seen) < 4:  # appends while generation 2 catches up (none in the swap itself)
            append(counting.store, counts, stream=sorted(counts)[len(seen)])
            catch_up_all(max_batches=None)
        assert counting.counts() == counts
        seen.append(state.applied)

    state = generations.rebuild(counting, after_batch=between_batches)
    assert len(seen) >= 5 and state.generation == 2 and state.live
    assert counting.live_generation() == 2
    assert counting.counts() == counts == counting.counts(2)
    assert not counting.rows(1).exists()
    assert [s.generation for s in generations.standing(counting)] == [2]


def test_a_swap_that_fails_leaves_the_old_generation_live(counting):
    counts = fill(counting.store, streams=3, each=2)
    catch_up_all(max_batches=None)
    calls = []

    def append_then_fail_in_the_swap(state, moved) -> None:
        calls.append(moved)
        if len(calls) == 1:  # the new generation caught up: one more event for the swap
            append(counting.store, counts)
            counting.fail_when = lambda batch: True

    with pytest.raises(RuntimeError):
        generations.rebuild(counting, after_batch=append_then_fail_in_the_swap)
    assert counting.live_generation() == 1
    assert counting.counts() == {s: c for s, c in counts.items() if len(c) == 2}
    counting.fail_when = None
    generations.rebuild(counting)  # resumes generation 2
    assert counting.live_generation() == 2 and counting.counts() == counts


def test_reset_replays_into_the_live_generation(counting):
    counts = fill(counting.store, streams=3, each=3)
    catch_up_all(max_batches=None)
    sizes = []
    state = generations.reset(counting, after_batch=lambda s, moved: sizes.append(s.applied))
    assert (state.generation, state.applied, sizes) == (1, 9, [5, 9])
    assert counting.counts() == counts


def test_a_forgotten_subject_is_projected_again(counting):
    counts = fill(counting.store, streams=3, each=2)
    catch_up_all(max_batches=None)
    forgotten = sorted(counts)[0]
    counting.rows(1).filter(order_id=forgotten).update(items=["plaintext"])  # stands for it
    append(counting.store, {forgotten: counts[forgotten][:]}, stream=forgotten)  # not applied
    subject_forgotten.send(None, app_label="orders", subject="s", stream_ids=[forgotten])
    assert counting.counts()[forgotten] == counts[forgotten]  # up to the checkpoint only
    catch_up_all(max_batches=None)
    assert counting.counts() == stored_counts(counting.store)


def test_the_command_shows_rebuilds_and_resets(counting):
    counts = fill(counting.store, streams=4, each=3)
    out = io.StringIO()
    call_command("edn_projections", "status", stdout=out)
    assert "counting             not run yet" in out.getvalue()
    call_command("edn_projections", "reset", "counting", stdout=out)
    call_command("edn_projections", "rebuild", "counting", stdout=out)
    assert "[" + "#" * 30 + "] 12/12 events" in out.getvalue()
    assert "counting: generation 2 is live, 12 events" in out.getvalue()
    assert counting.counts() == counts
    append(counting.store, counts)
    status = io.StringIO()
    call_command("edn_projections", "status", stdout=status)
    row = status.getvalue().splitlines()[1].split()
    assert row[:3] + row[4:6] == ["counting", "2", "yes", "1", "12"]  # lag 1, applied 12
    counting.fail_when = lambda batch: True
    with pytest.raises(CommandError, match="made this batch fail"):
        call_command("edn_projections", "reset", "counting", stdout=io.StringIO())
    status = io.StringIO()
    call_command("edn_projections", "status", stdout=status)
    assert "ERROR RuntimeError: the test made this batch fail" in status.getvalue()
    with pytest.raises(CommandError, match="no projection 'nope'"):
        call_command("edn_projections", "rebuild", "nope")


def test_admin_lists_generations_with_lag_and_errors(counting, client, django_user_model):
    fill(counting.store, streams=2, each=3)
    catch_up_all(max_batches=None)
    append(counting.store, {})
    running.states(counting).update(last_error="RuntimeError: boom")
    user = django_user_model.objects.create_superuser("ops", "ops@example.com", "pw")
    client.force_login(user)
    page = client.get(reverse("admin:orders_projectionstate_changelist"))
    assert page.status_code == 200
    row = next(r for r in page.context["cl"].result_list if r.name == "counting")
    admin = page.context["cl"].model_admin
    assert (admin.lag(row), admin.short_error(row)) == (1, "RuntimeError: boom")
    assert "RuntimeError: boom" in page.content.decode()
    if connections["orders"].vendor == "sqlite":  # PostgreSQL: test_projections_gaps.py
        assert admin.oldest_transaction(row) == "-"


def test_an_append_wakes_the_bus_workers_which_catch_up(
    counting, django_capture_on_commit_callbacks
):
    """An append of an event no one subscribes to still wakes the workers on commit (in the
    process, and by NOTIFY on PostgreSQL: sent with the insert, see test_commit_wakes.py),
    and a worker's round moves the projection."""
    counts = {}
    with django_capture_on_commit_callbacks(using="orders") as callbacks:
        append(counting.store, counts)
    on_postgres = connections["orders"].vendor == "postgresql"
    assert (_local_waker if on_postgres else _waker)("orders") in callbacks
    assert BusWorker(listen=False).run_once() == 1
    assert counting.counts() == counts


class Broken(Counting):
    name = "broken"

    def handle(self, batch, generation: int) -> None:
        raise RuntimeError("broken projection")


def test_a_failing_projection_does_not_hold_the_others_back(counting):
    broken = register(Broken())
    try:
        counts = fill(counting.store, streams=2, each=2)
        assert catch_up_all() == 4  # logged, not raised: the counting projection moved
        assert counting.counts() == counts
        with pytest.raises(RuntimeError, match="broken projection"):
            catch_up_all()  # nothing else moves: the failure is raised
        assert running.ensure_live(broken).last_error == "RuntimeError: broken projection"
    finally:
        unregister(broken.name)


def test_a_reset_during_a_rebuild_stops_it_and_keeps_a_live_generation(counting):
    counts = fill(counting.store, streams=4, each=3)
    catch_up_all(max_batches=None)

    def reset_once(state, moved) -> None:
        if not state.live and state.applied == 5:
            generations.reset(counting)

    with pytest.raises(RuntimeError, match="generation 2 of counting is gone"):
        generations.rebuild(counting, after_batch=reset_once)
    assert [(s.generation, s.live) for s in generations.standing(counting)] == [(1, True)]
    assert counting.counts() == counts and not counting.rows(2).exists()


def test_the_harness_can_project_without_moving_the_bus(counting):
    counts = fill(counting.store, streams=3, each=4)
    PlaceOrderFactory.create()  # publishes OrderPlaced: an outbox row to leave unsent
    bus = EventBus()
    pending = bus.pending()
    bus.project()
    assert counting.counts() == counts and pending == bus.pending() >= 1


def test_a_round_moves_each_projection_by_whole_batches_up_to_the_round_events(
    counting, monkeypatch
):
    """The relay runs between the bus workers' rounds: a round moves a projection by as many
    whole batches as make ROUND_EVENTS (at least one), then the next round goes on."""
    fill(counting.store, streams=6, each=3)  # 18 events, batches of 5
    monkeypatch.setattr(projection_module, "ROUND_EVENTS", 12)
    assert [catch_up_all(), catch_up_all(), catch_up_all()] == [10, 8, 0]
    monkeypatch.setattr(projection_module, "ROUND_EVENTS", 1)  # less than a batch: one
    append(counting.store, {}, n=7)
    assert [catch_up_all(), catch_up_all(), catch_up_all()] == [5, 2, 0]
