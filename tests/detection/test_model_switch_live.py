"""A model switch under load, for real: two Daphne workers sharing one SQLite file, cameras posting
frames to both, `manage.py model activate` in between. No request may fail, every 201 must be
stored, and both workers must serve (and record) the new version within a few seconds without a
restart. The same harness with more cameras and switches is benchmarks/model_switch.py."""

from __future__ import annotations

import pytest

from benchmarks import model_switch

POLL_S = 0.5


@pytest.fixture
def environment(tmp_path):
    env = model_switch.Environment(tmp_path, poll_s=POLL_S, redis=False)
    yield env
    env.stop()


def test_two_workers_switch_under_load_without_a_failed_or_lost_frame(environment):
    keys, ids = environment.prepare(["switch-a", "switch-b", "switch-c", "switch-d"], versions=1)
    environment.start(2)
    result = model_switch.run(environment, keys, ids, seconds=7, switches=1, fps=0, settle_s=2)
    report = "\n".join(model_switch.describe(result))
    print(report)

    assert set(result.codes) == {201}, report  # no 5xx, no refused or dropped connection
    assert result.lost == 0 and result.unacked == 0, report
    (switch,) = result.switches
    assert switch.expected == ids[0]
    for worker, seconds in switch.served_after.items():
        # The poll, then loading and warming the session off the request path: ~1-3.5 s measured on a
        # 2-core box shared with other work (a few seconds at most is the requirement).
        assert seconds is not None and seconds < 8, report
    # Frames that began after their worker switched were counted by, and recorded, the new version;
    # and the log shows both: the bundled file before the switch, the new version after it, on each worker.
    assert result.stale == 0, report
    for worker in (0, 1):
        recorded = [result.versions.get(p.event_id, "trimmed") for p in result.posts
                    if p.worker == worker and p.status == 201]
        assert recorded[-1] == ids[0], report
    before = [result.versions[p.event_id] for p in result.posts
              if p.status == 201 and p.ended < switch.done_at and p.event_id in result.versions]
    assert all(version is None for version in before), report  # the bundled file until the switch
