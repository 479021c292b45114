"""python -m irislab.settings NAME as a user runs it: on a cluster it is given, on brokers of
its own that it stops however it ends, and with a one-line error when it cannot go on."""

import re
import signal
from pathlib import Path

import pytest

from tests.lab import (MODES, error_lines, kcat_records, live_processes_mentioning,
                       run_python, start_python, wait_for)


def test_on_a_given_cluster_it_prints_its_table_and_leaves_its_topics(kafka):
    result = run_python("-m", "irislab.settings", "auto_offset_reset", "--bootstrap-server",
                        kafka.bootstrap, timeout=120, check=True)
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()
            if line.split()[:1] in (["earliest"], ["latest"])}
    assert rows == {"earliest": ["150", "150", "10", "10"], "latest": ["150", "0", "10", "10"]}
    assert f"the topics are left on {kafka.bootstrap}" in result.stderr
    assert len(kcat_records(kafka.bootstrap, "settings.auto_offset_reset", 0)) == 160


def test_an_unreachable_cluster_is_one_line_and_exit_1(unused_address):
    result = run_python("-m", "irislab.settings", "auto_offset_reset", "--bootstrap-server",
                        unused_address, timeout=60)
    assert result.returncode == 1
    assert error_lines(result.stderr)[-1] == (
        f"python -m irislab.settings: error: cannot reach a Kafka broker at {unused_address}: "
        "is it running? (python -m irislab.broker start, or docker compose up -d)")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("mode", MODES)
def test_ctrl_c_stops_the_experiment_and_the_brokers_it_started(mode):
    script = start_python("-m", "irislab.settings", "consumer_timeout_ms", "--mode", mode)
    up = re.compile(r"consumer_timeout_ms: up on \S+, data in (\S+)")
    wait_for(lambda: up.search(script.err) or script.poll() is not None, 180,
             "the experiment's broker to be up")
    home = up.search(script.err).group(1)
    assert live_processes_mentioning(home)  # its broker runs from there
    script.send_signal(signal.SIGINT)
    out, err = script.communicate(timeout=120)
    assert script.returncode == 130, err
    assert err.splitlines()[-1] == "python -m irislab.settings: interrupted"
    assert not live_processes_mentioning(home)
    assert not Path(home).exists()
