"""One JVM process of the cluster (ZooKeeper, or Kafka node i): spawn it, ask whether it is
alive, stop it, kill it. psutil answers every process question, so this works on Linux,
macOS and Windows alike; the pid is kept in a file so that another command can find it.
"""

import json
import subprocess
import time
from pathlib import Path

import psutil

from irislab.waiting import wait_until


class Node:
    """A process named `name` ("zookeeper", "kafka-1", ...) run from the folder `home`:
    its pid in home/<name>.pid, its output in home/logs/<name>.log."""

    def __init__(self, home, name):
        self.home, self.name = Path(home), name
        self.pid_file = self.home / f"{name}.pid"
        self.log_file = self.home / "logs" / f"{name}.log"

    def __repr__(self):
        return f"Node({self.name!r}, pid={self.pid})"

    def _pid_and_command(self):
        """(pid, command line) from the pid file, or (None, None)."""
        try:
            started = json.loads(self.pid_file.read_text())
            return int(started["pid"]), list(started["command"])
        except (OSError, ValueError, TypeError, KeyError):
            return None, None

    @property
    def pid(self):
        return self._pid_and_command()[0]

    def spawn(self, command):
        command = [str(arg) for arg in command]
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            # a session of its own: Ctrl-C in the starting terminal does not reach it
            proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, cwd=self.home,
                                    start_new_session=True)
        # The command line tells our process from a later one given the same pid. Not its
        # start time: psutil adds it to the boot time on the wall clock, which moves when the
        # clock is set, and a node that runs on would then look dead to stop.
        self.pid_file.write_text(json.dumps({"pid": proc.pid, "command": command}))
        # Popen returns as the exec begins; the kernel shows the new command line a moment
        # later (an empty one until then), and a node asked about before would look dead
        try:
            wait_until(lambda: _exec_done(proc), 10, interval=0.005)
        except TimeoutError:
            pass  # then process() decides, as it would have

    def process(self):
        """Our live process, or None: a pid that has gone, become a zombie, or been reused
        by another process (one with another command line)."""
        pid, command = self._pid_and_command()
        if pid is None:
            return None
        try:
            proc = psutil.Process(pid)
            if proc.status() == psutil.STATUS_ZOMBIE:
                try:
                    proc.wait(timeout=0)  # reap it if it is our child
                except psutil.Error:
                    pass
                return None
            # past the program: a launcher may rewrite argv[0]
            if proc.cmdline()[1:] != command[1:]:
                return None
            return proc
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.TimeoutExpired):
            return None

    def alive(self):
        return self.process() is not None

    def stop(self, timeout=60):
        return stop_all([self], timeout)

    def kill(self):
        """SIGKILL, as a crash would: no clean shutdown, the pid file stays. Returns the
        instant of the SIGKILL (time.monotonic()), from which a failover is timed; None if
        the process was not running."""
        proc = self.process()
        if proc is None:
            return None
        killed_at = time.monotonic()
        proc.kill()
        try:
            proc.wait(10)
        except (psutil.TimeoutExpired, psutil.NoSuchProcess):
            pass
        return killed_at

    def clear(self):
        self.pid_file.unlink(missing_ok=True)

    def tail(self, lines=15):
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _exec_done(proc):
    """Whether a process just spawned shows its command line, or has already ended."""
    if proc.poll() is not None:
        return True
    try:
        return bool(psutil.Process(proc.pid).cmdline())
    except psutil.Error:
        return True


def stop_all(nodes, timeout=60):
    """Ask the nodes' processes to shut down cleanly (SIGTERM), all at once, and kill those
    still running after `timeout` s. Returns False if none was running."""
    procs = [proc for proc in (node.process() for node in nodes) if proc is not None]
    for proc in procs:
        try:
            proc.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout)
    for proc in alive:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive)
    return bool(procs)
