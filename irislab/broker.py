"""Run a real Apache Kafka broker on the local JVM, from Apache's own jars.

    python -m irislab.broker start [--mode zookeeper|kraft] [--port 9092]
    python -m irislab.broker stop
    python -m irislab.broker status

zookeeper mode runs Kafka 3.9 and ZooKeeper as two processes, like the lab's two
terminals; kraft mode runs Kafka 4.x as one process that is broker and controller.
The jars come from Maven Central once (see broker/*/pom.xml); later starts reuse
them and work offline. Data, logs, configs and pid files live in one folder
(var/broker by default), and everything listens on 127.0.0.1 only.

From Python, `local_broker(mode, home)` starts one on free ports, yields its
bootstrap address and stops it on exit.
"""

import argparse
import base64
import json
import os
import re
import signal
import socket
import string
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from irislab import LabError

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config"
DEFAULT_HOME = ROOT / "var" / "broker"
HOST = "127.0.0.1"
HEAP = "-Xmx512m"

# mode -> the POM that pins its Kafka version, and how it logs
MODES = {
    "zookeeper": {"pom": ROOT / "broker" / "kafka-3.9" / "pom.xml",
                  "server": "server-zookeeper.properties",
                  "logging": "-Dlog4j.configuration=file:" + str(CONFIG / "log4j.properties")},
    "kraft": {"pom": ROOT / "broker" / "kafka-4" / "pom.xml",
              "server": "server-kraft.properties",
              "logging": "-Dlog4j2.configurationFile=" + str(CONFIG / "log4j2.properties")},
}


class BrokerError(LabError):
    """A broker could not be started, stopped or found; the message says why."""


def kafka_version(mode):
    """The Kafka version the mode's POM pins."""
    pom = MODES[mode]["pom"].read_text()
    return re.search(r"<kafka\.version>(.+?)</kafka\.version>", pom).group(1)


def jars_dir(mode):
    return ROOT / "broker" / "jars" / mode


def fetch_jars(mode):
    """Copy the mode's jars from Maven Central into broker/jars/<mode>, once."""
    folder = jars_dir(mode)
    done = folder / ".complete"
    if done.exists() and done.read_text() == kafka_version(mode):
        return folder
    print(f"Fetching Apache Kafka {kafka_version(mode)} jars with Maven into {folder} ...",
          file=sys.stderr)
    try:
        result = subprocess.run(["mvn", "-B", "-f", str(MODES[mode]["pom"]),
                                 "dependency:copy-dependencies"], capture_output=True, text=True)
    except OSError as e:
        raise BrokerError(f"could not run Maven to fetch the Kafka jars: {e}") from None
    if result.returncode != 0:
        raise BrokerError("Maven could not fetch the Kafka jars:\n" + tail_text(result.stdout))
    done.write_text(kafka_version(mode))
    return folder


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_is_free(port):
    with socket.socket() as s:
        # as a server binds: connections of an earlier broker left in TIME_WAIT don't count
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def port_answers(port):
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


def pid_alive(pid):
    """True while the process runs (a zombie counts as gone, and is reaped if ours)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def tail_text(text, lines=15):
    return "\n".join(text.splitlines()[-lines:])


def tail(path, lines=15):
    try:
        return tail_text(Path(path).read_text(errors="replace"), lines)
    except OSError:
        return "(no log)"


def kraft_cluster_id():
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding. Like Kafka's
    own Uuid.randomUuid, never one that starts with "-", which a command line takes for
    an option."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


class LocalBroker:
    """One local Kafka (and, in zookeeper mode, its ZooKeeper) kept in `home`."""

    def __init__(self, mode="zookeeper", port=9092, home=DEFAULT_HOME):
        if mode not in MODES:
            raise BrokerError(f"unknown mode {mode!r}: choose zookeeper or kraft")
        self.mode, self.port, self.home = mode, port, Path(home).resolve()
        self.bootstrap = f"{HOST}:{port}"

    # --- state kept in home: broker.json (mode, ports) and one pid file a process

    @property
    def _state_file(self):
        return self.home / "broker.json"

    def _pid_file(self, name):
        return self.home / f"{name}.pid"

    def _log_file(self, name):
        return self.home / "logs" / f"{name}.log"

    def _pids(self):
        """process name -> pid, from the pid files."""
        pids = {}
        for name in ("zookeeper", "kafka"):
            try:
                pids[name] = int(self._pid_file(name).read_text())
            except (OSError, ValueError):
                pass
        return pids

    def _ours(self, pid):
        """Is pid one of our Java processes (not a recycled pid)?"""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        return pid_alive(pid) and str(self.home).encode() in cmdline

    def state(self):
        """(status, info): status is 'running', 'stopped' or 'crashed'."""
        try:
            info = json.loads(self._state_file.read_text())
        except (OSError, ValueError):
            info = None
        pids = self._pids()
        if info is None and not pids:
            return "stopped", None
        alive = {name: self._ours(pid) for name, pid in pids.items()}
        info = info or {}
        info["alive"] = alive
        if alive and all(alive.values()):
            return "running", info
        return "crashed", info

    # --- start

    def start(self, timeout=90):
        status, info = self.state()
        if status == "running":
            raise BrokerError(f"a broker is already running from {self.home}: "
                              f"{info['mode']} mode on {info['bootstrap']}; stop it first")
        if status == "crashed":
            self._stop_processes()  # whatever survived of the crashed one
            self._clear_run_files()
        if not port_is_free(self.port):
            raise BrokerError(f"port {self.port} on {HOST} is already in use: "
                              f"stop what listens there or pick another --port")
        jars = fetch_jars(self.mode)
        classpath = str(jars / "*")
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        (self.home / "config").mkdir(exist_ok=True)
        aux_port = free_port()  # ZooKeeper's client port, or the KRaft controller's
        values = {"port": self.port, "data_dir": self.home / "data",
                  "zookeeper_port": aux_port, "controller_port": aux_port}
        server_config = self._write_config(MODES[self.mode]["server"], "server.properties", values)
        self._state_file.write_text(json.dumps({
            "mode": self.mode, "version": kafka_version(self.mode), "bootstrap": self.bootstrap,
            ("zookeeper" if self.mode == "zookeeper" else "controller"): f"{HOST}:{aux_port}",
            "home": str(self.home)}, indent=1))
        started = time.monotonic()
        try:
            if self.mode == "zookeeper":
                zk_config = self._write_config("zookeeper.properties", "zookeeper.properties", values)
                self._spawn("zookeeper", classpath,
                            "org.apache.zookeeper.server.quorum.QuorumPeerMain", zk_config)
                self._wait(lambda: port_answers(aux_port), "zookeeper", started + timeout)
            else:
                self._format_kraft_storage(classpath, server_config)
            while True:
                self._spawn("kafka", classpath, "kafka.Kafka", server_config)
                try:
                    self._wait(self._answers_metadata, "kafka", started + timeout)
                    break
                except BrokerError:
                    # After a crash in zookeeper mode the dead broker's registration stays
                    # in ZooKeeper until its session expires (zookeeper.session.timeout.ms)
                    if ("NodeExistsException" not in tail(self._log_file("kafka"), 40)
                            or time.monotonic() > started + timeout):
                        raise
                    time.sleep(1)
        except BaseException:
            self._stop_processes()
            raise
        return self

    def _write_config(self, template, name, values):
        text = string.Template((CONFIG / template).read_text()).substitute(values)
        path = self.home / "config" / name
        path.write_text(text)
        return path

    def _java(self, classpath, main, *args):
        return ["java", HEAP, "-Djava.awt.headless=true", MODES[self.mode]["logging"],
                "-cp", classpath, main, *map(str, args)]

    def _format_kraft_storage(self, classpath, server_config):
        # Formatting writes meta.properties with the cluster id; once per data folder.
        if (self.home / "data" / "kraft-logs" / "meta.properties").exists():
            return
        result = subprocess.run(
            self._java(classpath, "kafka.tools.StorageTool", "format",
                       "--cluster-id", kraft_cluster_id(), "--config", server_config),
            capture_output=True, text=True)
        if result.returncode != 0:
            raise BrokerError("formatting KRaft storage failed:\n"
                              + (result.stderr or result.stdout).strip())

    def _spawn(self, name, classpath, main, config):
        with open(self._log_file(name), "ab") as log:
            # a session of its own: Ctrl-C in the starting terminal does not reach it
            proc = subprocess.Popen(self._java(classpath, main, config), stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT, cwd=self.home,
                                    start_new_session=True)
        self._pid_file(name).write_text(str(proc.pid))

    def _wait(self, ready, name, deadline):
        pid = self._pids()[name]
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                raise BrokerError(f"{name} exited during start-up; last lines of "
                                  f"{self._log_file(name)}:\n{tail(self._log_file(name))}")
            if ready():
                return
            time.sleep(0.3)
        raise BrokerError(f"{name} did not become ready in time; last lines of "
                          f"{self._log_file(name)}:\n{tail(self._log_file(name))}")

    def _answers_metadata(self):
        """Does the broker answer a metadata request, naming itself as a live broker?"""
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError
        try:
            admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, bootstrap_timeout_ms=2000,
                                     request_timeout_ms=2000)
        except KafkaError:
            return False
        try:
            return bool(admin.describe_cluster()["brokers"])
        except KafkaError:
            return False
        finally:
            admin.close()

    # --- stop

    def stop(self, timeout=60):
        """Stop what this home's pid files name; returns False if nothing was running."""
        status, _ = self.state()
        stopped = self._stop_processes(timeout)
        self._clear_run_files()
        return status != "stopped" and stopped

    def _stop_processes(self, timeout=60):
        # Kafka first: in zookeeper mode its clean shutdown still needs ZooKeeper.
        stopped = False
        for name in ("kafka", "zookeeper"):
            pid = self._pids().get(name)
            if pid is None or not self._ours(pid):
                continue
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
                while pid_alive(pid):
                    time.sleep(0.1)
            stopped = True
        return stopped

    def _clear_run_files(self):
        for path in (self._pid_file("kafka"), self._pid_file("zookeeper"), self._state_file):
            path.unlink(missing_ok=True)

    def kill(self):
        """SIGKILL the broker process, as a crash would; pid files stay behind."""
        os.kill(self._pids()["kafka"], signal.SIGKILL)

    def describe(self):
        status, info = self.state()
        if status == "stopped":
            return status, f"no broker running from {self.home}"
        where = (f"Apache Kafka {info.get('version', '?')} in {info.get('mode', '?')} mode "
                 f"on {info.get('bootstrap', '?')}")
        aux = (f", ZooKeeper on {info['zookeeper']}" if "zookeeper" in info
               else f", controller on {info['controller']}" if "controller" in info else "")
        pids = ", ".join(f"{name} pid {pid} {'running' if info['alive'].get(name) else 'DEAD'}"
                         for name, pid in self._pids().items())
        if status == "running":
            return status, f"running: {where}{aux} ({pids}); data in {self.home}"
        return status, (f"crashed: {where}{aux} ({pids}); last lines of "
                        f"{self._log_file('kafka')}:\n{tail(self._log_file('kafka'), 5)}")


@contextmanager
def local_broker(mode="zookeeper", home=DEFAULT_HOME, port=None):
    """Start a broker (on a free port unless one is given), yield its bootstrap address,
    stop it on exit."""
    broker = LocalBroker(mode, port or free_port(), home).start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


def main(args):
    broker = LocalBroker(args.mode, args.port, args.home)
    if args.command == "start":
        started = time.monotonic()
        broker.start()
        print(f"Apache Kafka {kafka_version(args.mode)} ({args.mode} mode) is up on "
              f"{broker.bootstrap} after {time.monotonic() - started:.1f} s; data in {broker.home}")
    elif args.command == "stop":
        print("stopped" if broker.stop() else f"no broker was running from {broker.home}")
    else:
        status, text = broker.describe()
        print(text)
        return {"running": 0, "crashed": 1, "stopped": 3}[status]
    return 0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m irislab.broker",
                                     description="Run Apache Kafka locally on the JVM.")
    parser.add_argument("command", choices=("start", "stop", "status"))
    parser.add_argument("--mode", choices=sorted(MODES), default="zookeeper",
                        help="zookeeper: Kafka 3.9 + ZooKeeper; kraft: Kafka 4.x (default: %(default)s)")
    parser.add_argument("--port", type=int, default=9092,
                        help="the broker's port on 127.0.0.1 (default: %(default)s)")
    parser.add_argument("--home", type=Path, default=DEFAULT_HOME,
                        help="folder for data, logs, configs and pid files (default: var/broker)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    try:
        sys.exit(main(parse_args()))
    except BrokerError as e:
        sys.exit(f"irislab.broker: {e}")
    except KeyboardInterrupt:
        sys.exit(130)
