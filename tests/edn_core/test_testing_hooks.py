"""Pause points: off by default; armed, they stop the passing thread until released."""

import os
import threading

from edn_core import testing_hooks
from edn_core.testing_hooks import PausePoints


def test_points_are_a_no_op_without_a_pause_folder():
    assert "EDN_PAUSE_DIR" not in os.environ
    assert testing_hooks.pause_point is testing_hooks._off


def test_an_armed_point_stops_after_the_given_passes_until_released(tmp_path, monkeypatch):
    monkeypatch.setattr(testing_hooks, "_DIR", tmp_path)
    points = PausePoints(tmp_path)
    passes: list[int] = []

    def work():
        for n in range(4):
            testing_hooks._pause("relay.claimed", "customers")
            passes.append(n)

    testing_hooks._pause("relay.claimed", "customers")  # not armed: passes straight on
    points.arm("relay.claimed", "customers", after=2)
    worker = threading.Thread(target=work)
    worker.start()
    assert points.wait_paused("relay.claimed", "customers") == os.getpid()
    assert passes == [0, 1]  # stopped at the third pass, before its work
    points.release("relay.claimed", "customers")
    worker.join(timeout=60)
    assert passes == [0, 1, 2, 3] and not worker.is_alive()
    assert points.paused("relay.claimed", "customers") is None


def test_arming_again_forgets_a_stop_whose_process_was_killed(tmp_path):
    points = PausePoints(tmp_path)
    (tmp_path / "worker.idle.paused").write_text("12345")  # left by a killed process
    points.arm("worker.idle")
    assert points.paused("worker.idle") is None
