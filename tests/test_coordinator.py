"""A broker that has never had a consumer group starts a group's coordinator on the group's
first use: it creates __consumer_offsets and answers "not available" (ZooKeeper mode) or "not
the coordinator" (KRaft) meanwhile. Every command that asks a coordinator waits for it and says
so once. Each test starts a broker of its own: the suite's shared brokers have had groups."""

import pytest

from irislab.broker import local_broker
from tests.lab import MODES, produce, run_python

WAITING = ("waiting for the coordinator of group lab: a broker starts it on a group's first use "
           "(topic __consumer_offsets)")


@pytest.mark.parametrize("mode", MODES)
def test_admin_groups_waits_for_a_fresh_brokers_coordinator(mode, tmp_path):
    with local_broker(mode, tmp_path) as bootstrap:
        result = run_python("-m", "irislab.admin", "--groups", "lab",
                            "--bootstrap-server", bootstrap)
    assert result.returncode == 1
    # the group's coordinator answered: no such group, which is the truth
    assert result.stderr.splitlines() == [
        WAITING, "python -m irislab.admin: error: no consumer group 'lab' on the cluster "
                 "(python -m irislab.admin --groups lists those there are)"]


@pytest.mark.parametrize("mode", MODES)
def test_a_group_member_waits_for_a_fresh_brokers_coordinator_then_reads(mode, tmp_path):
    with local_broker(mode, tmp_path / "broker") as bootstrap:
        produce(bootstrap)
        first = run_python("consumer.py", "--role", "setosa", "--group", "lab", "--exit-at-end",
                           "--bootstrap-server", bootstrap)
        rerun = run_python("consumer.py", "--role", "setosa", "--group", "lab", "--exit-at-end",
                           "--bootstrap-server", bootstrap)
    assert first.returncode == 0, first.stderr
    assert first.stderr.splitlines() == [WAITING]
    assert first.stdout.splitlines()[-1] == "read 50 records, skipped 0 malformed"
    assert rerun.returncode == 0 and rerun.stderr == ""  # the coordinator is up: no wait
    assert rerun.stdout.splitlines()[-1] == "read 0 records, skipped 0 malformed"
