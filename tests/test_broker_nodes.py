"""A node's process as the pid file names it: found while it runs, whatever the clock does,
and never another process that got its pid."""

import json
import os
import sys

import psutil
import pytest

from irislab.broker.nodes import Node

pytestmark = pytest.mark.unit

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


@pytest.fixture
def node(tmp_path):
    node = Node(tmp_path, "kafka-1")
    node.spawn(SLEEPER)
    yield node
    node.stop(timeout=5)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sets Linux's boot time")
def test_a_running_node_is_still_found_after_the_clock_is_set(node, monkeypatch):
    # psutil gives a start time as boot time + ticks since boot; setting the clock moves
    # the boot time (/proc/stat btime)
    import psutil._pslinux

    boot_time = psutil._pslinux.boot_time()
    monkeypatch.setattr(psutil._pslinux, "boot_time", lambda: boot_time + 1)
    assert node.alive()
    assert node.stop(timeout=5) is True
    assert not psutil.pid_exists(node.pid) or psutil.Process(node.pid).status() == "zombie"


def test_a_pid_now_given_to_another_process_is_not_the_node(node):
    started = json.loads(node.pid_file.read_text())
    node.pid_file.write_text(json.dumps({"pid": os.getpid(), "command": started["command"]}))
    assert node.process() is None
    assert node.stop(timeout=5) is False  # and this test's process is not stopped
    node.pid_file.write_text(json.dumps(started))
    assert node.alive()


def test_an_unreadable_pid_file_names_no_process(tmp_path):
    node = Node(tmp_path, "zookeeper")
    for text in ("", "12345 1796455241.5", "{}", '{"pid": "x", "command": []}', "[1]"):
        node.pid_file.write_text(text)
        assert (node.pid, node.process()) == (None, None)


def test_a_node_asked_about_as_soon_as_it_is_spawned_is_alive(tmp_path, monkeypatch):
    # Popen returns as the exec begins: until the kernel has set the new command line up,
    # /proc shows an empty one (psutil: []), as here for the first three looks
    real_cmdline = psutil.Process.cmdline
    looks = []

    def mid_exec(proc):
        looks.append(proc.pid)
        return [] if len(looks) <= 3 else real_cmdline(proc)

    monkeypatch.setattr(psutil.Process, "cmdline", mid_exec)
    node = Node(tmp_path, "kafka-1")
    node.spawn(SLEEPER)
    try:
        assert node.alive()
    finally:
        monkeypatch.undo()
        node.stop(timeout=5)
