"""One real Apache Kafka broker per mode for the whole test session.

IRISLAB_MODES (e.g. "kraft") restricts the run to some modes; the default is both.
"""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import NamedTuple

import psutil
import pytest

from kafka import KafkaAdminClient

from irislab.broker import free_port, local_broker

ROOT = Path(__file__).resolve().parent.parent
MODES = os.environ.get("IRISLAB_MODES", "zookeeper kraft").split()


class Kafka(NamedTuple):
    mode: str
    home: Path
    bootstrap: str

    @property
    def port(self):
        return int(self.bootstrap.rsplit(":", 1)[1])


@pytest.fixture(scope="session", params=MODES)
def kafka(request, tmp_path_factory):
    home = tmp_path_factory.mktemp(f"broker-{request.param}")
    with local_broker(request.param, home) as bootstrap:
        yield Kafka(request.param, home, bootstrap)


@pytest.fixture
def unused_address():
    """A loopback address where no broker listens."""
    return f"127.0.0.1:{free_port()}"


def new_topic(kafka, partitions=2):
    """A fresh topic of the test's own, so tests sharing a broker don't meet."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    with KafkaAdminClient(bootstrap_servers=kafka.bootstrap) as admin:
        admin.create_topics({name: {"num_partitions": partitions, "replication_factor": 1}},
                            wait_for_metadata=True)
    return name


def run_python(*args, timeout=60, **kwargs):
    """Run `python ARGS...` from the project folder, as a user would; capture its output."""
    return subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, **kwargs)


def wait_for(predicate, timeout, what):
    """Wait until predicate() holds; fail after `timeout` s naming `what` (a text, or a
    function giving one, called only then). Returns the seconds waited."""
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < timeout, \
            f"timed out after {timeout} s waiting for {what() if callable(what) else what}"
        time.sleep(0.1)
    return time.monotonic() - started


def live_processes_mentioning(text):
    """Pids of running (not zombie) processes whose command line contains text."""
    pids = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        if (proc.info["status"] != psutil.STATUS_ZOMBIE
                and any(text in arg for arg in proc.info["cmdline"] or ())):
            pids.append(proc.pid)
    return pids
