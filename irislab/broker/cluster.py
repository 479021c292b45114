"""N local Kafka nodes run as one cluster: their ids and ports, the order they start in,
when they are ready, and the state kept in one folder so that another command finds them.

Node i has broker (and, in kraft mode, controller) id i and serves clients on
127.0.0.1:port+i-1. zookeeper mode starts one ZooKeeper, then the Kafka 3.9 brokers; kraft
mode starts Kafka 4.x nodes that are each broker and controller, all voters of one quorum,
their storage formatted with one cluster id on first start.

The folder (`home`) holds cluster.json while the cluster runs (mode, ports), one pid file
and one log a process, the generated configs, and data/<mode>-<N>/: each layout keeps its
own data, so a one-broker lab and a three-broker cluster never mix theirs. A secured cluster
(security="sasl-ssl", security.py) keeps its own too, data/<mode>-<N>-sasl-ssl/, and its
certificates and client files beside the rest.
"""

import json
import re
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from irislab.broker import configs
from irislab.broker.configs import HOST, free_port, free_ports, port_is_free
from irislab.broker.jars import MODES, java, kafka_version
from irislab.broker.nodes import Node, stop_all
from irislab.broker.security import CLIENT_USERS, SECURITY, Security
from irislab.cluster_facts import live_broker_ids
from irislab.errors import BrokerError
from irislab.waiting import wait_until

# var/broker in the folder the command runs from: the project's, where `python -m
# irislab.broker` is run (README), and where var/ is ignored
DEFAULT_HOME = Path("var") / "broker"
MAX_BROKERS = 5


class LocalCluster:
    """`brokers` local Kafka nodes (1, the lab's single broker, by default) kept in `home`;
    security None (plaintext) or "sasl-ssl"."""

    def __init__(self, mode="zookeeper", port=9092, home=DEFAULT_HOME, brokers=1, security=None):
        if mode not in MODES:
            raise BrokerError(f"unknown mode {mode!r}: choose zookeeper or kraft")
        if not 1 <= brokers <= MAX_BROKERS:
            raise BrokerError(f"--brokers must be 1 to {MAX_BROKERS}, not {brokers}")
        if security not in (None, *SECURITY):
            raise BrokerError(f"unknown security {security!r}: choose {', '.join(SECURITY)}")
        self.mode, self.port, self.brokers = mode, port, brokers
        self.home = Path(home).resolve()
        self.node_ids = range(1, brokers + 1)
        layout = f"{mode}-{brokers}" + (f"-{security}" if security else "")
        self.data = self.home / "data" / layout
        self.security = Security(self.home, self.data, mode) if security else None
        self.zookeeper = Node(self.home, "zookeeper")
        self.state_file = self.home / "cluster.json"

    @classmethod
    def running_in(cls, home=DEFAULT_HOME):
        """The cluster whose state `home` holds (running or crashed), or None."""
        try:
            info = json.loads((Path(home) / "cluster.json").read_text())
        except (OSError, ValueError):
            return None
        return cls(info["mode"], info["port"], home, info["brokers"], info.get("security"))

    def address(self, node_id):
        return f"{HOST}:{self.port + node_id - 1}"

    @property
    def bootstrap(self):
        """The bootstrap list a client uses: every broker's address."""
        return ",".join(self.address(i) for i in self.node_ids)

    def client_settings(self, bootstrap=None):
        """The settings a client of this cluster needs besides the address: none, or a
        secured cluster's admin login."""
        if self.security is None:
            return {}
        return self.security.client_settings("admin", bootstrap or self.bootstrap)

    def kafka(self, node_id):
        if node_id not in self.node_ids:
            raise BrokerError(f"no node {node_id}: the cluster's nodes are "
                              f"{', '.join(map(str, self.node_ids))}")
        return Node(self.home, f"kafka-{node_id}")

    def nodes(self):
        """Every process of the cluster, in start order."""
        kafkas = [self.kafka(i) for i in self.node_ids]
        return [self.zookeeper, *kafkas] if self.mode == "zookeeper" else kafkas

    # --- state

    def _info(self):
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None

    def _pid_files(self):
        """Processes with a pid file in home, whichever cluster left them."""
        paths = sorted(self.home.glob("*.pid"), key=lambda p: (p.stem != "zookeeper", p.stem))
        return [Node(self.home, path.stem) for path in paths]

    def state(self):
        """(status, info): status is 'running', 'stopped' or 'crashed' (a process died)."""
        info, nodes = self._info(), self._pid_files()
        if info is None and not nodes:
            return "stopped", None
        info = info or {}
        info["alive"] = {node.name: node.alive() for node in nodes}
        if nodes and all(info["alive"].values()):
            return "running", info
        return "crashed", info

    def _same_layout(self, info):
        return (info.get("mode"), info.get("brokers"), info.get("port"),
                info.get("security")) == (self.mode, self.brokers, self.port,
                                          self.security and SECURITY[0])

    # --- start

    def start(self, timeout=120):
        """Start the cluster and wait until every broker answers. After a crash, a cluster of
        the same layout starts only its dead processes, on their data."""
        status, info = self.state()
        if status == "running":
            raise BrokerError(f"a cluster is already running from {self.home}: {info['mode']} "
                              f"mode on {info['bootstrap']}; stop it first")
        if status == "crashed" and self._same_layout(info):
            self._start_nodes([n for n in self.nodes() if not info["alive"].get(n.name)],
                              time.monotonic() + timeout)
            return self
        if status == "crashed":
            self._stop_processes()  # whatever survived of another layout
            self._clear_run_files()
        busy = [i for i in self.node_ids if not port_is_free(self.port + i - 1)]
        if busy:
            raise BrokerError(f"port {self.port + busy[0] - 1} on {HOST} is already in use: "
                              f"stop what listens there or pick another --port")
        self._write_configs()
        try:
            if self.mode == "kraft":
                self._format_storage()
            deadline = time.monotonic() + timeout
            self._start_nodes(self.nodes(), deadline)
            if self.security:
                self.security.secure([self.address(i) for i in self.node_ids],
                                     max(deadline - time.monotonic(), 10))
        except BaseException:
            self._stop_processes()
            self._clear_run_files()
            raise
        return self

    def start_node(self, node_id, timeout=120):
        """Start one node of this running cluster again, on its data."""
        node = self.kafka(node_id)
        if self._info() is None:
            raise BrokerError(f"no cluster running from {self.home}: start it first")
        if node.alive():
            raise BrokerError(f"node {node_id} is already running (pid {node.pid})")
        self._start_nodes([node], time.monotonic() + timeout)
        return self

    def _write_configs(self):
        info = {"mode": self.mode, "version": kafka_version(self.mode), "brokers": self.brokers,
                "port": self.port, "bootstrap": self.bootstrap, "data": str(self.data)}
        config = self.home / "config"
        security = None
        if self.security:
            info["security"] = SECURITY[0]
            security = self.security.prepare(self.bootstrap)
        taken = {self.port + i - 1 for i in self.node_ids}
        if self.mode == "zookeeper":
            info["zookeeper"] = zookeeper_port = free_port(taken)
            configs.write_zookeeper(config / "zookeeper.properties", self.data,
                                    zookeeper_port)
            extra = {"zookeeper_port": zookeeper_port}
        else:
            controller_ports = {}
            for i in self.node_ids:
                controller_ports[i] = free_port(taken)
                taken.add(controller_ports[i])
            info["controllers"] = controller_ports
            extra = {"controller_ports": controller_ports}
        for i in self.node_ids:
            configs.write_server(self.mode, self._config(i), i, self.port + i - 1,
                                 self.data / f"kafka-{i}", self.brokers, security=security,
                                 **extra)
        self.state_file.write_text(json.dumps(info, indent=1))

    def _config(self, node_id):
        return self.home / "config" / f"kafka-{node_id}.properties"

    def _format_storage(self):
        """Write meta.properties, with one cluster id, into each node's data folder (once)."""
        metas = {i: self.data / f"kafka-{i}" / "meta.properties" for i in self.node_ids}
        formatted = [meta for meta in metas.values() if meta.exists()]
        cluster_id = (_property(formatted[0], "cluster.id") if formatted
                      else configs.kraft_cluster_id())
        # a secured cluster's first users are stored with the metadata (--add-scram)
        users = self.security.format_arguments() if self.security else []
        runs = [subprocess.Popen(java(self.mode, "kafka.tools.StorageTool", "format",
                                      "--cluster-id", cluster_id, "--config", self._config(i),
                                      *users),
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                for i, meta in metas.items() if not meta.exists()]
        for run in runs:  # in parallel: each is a JVM start
            output = run.communicate()[0]
            if run.returncode != 0:
                if self.security:
                    output = self.security.hide(output)
                raise BrokerError("formatting KRaft storage failed:\n" + output.strip())

    def _start_nodes(self, nodes, deadline):
        """Spawn the nodes and wait until each answers. ZooKeeper first; the Kafka nodes all
        at once, since a KRaft quorum forms only when a majority of its voters is up."""
        kafkas = [n for n in nodes if n.name != "zookeeper"]
        if len(kafkas) < len(nodes):
            self.zookeeper.spawn(java(self.mode, "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                                      self.home / "config" / "zookeeper.properties"))
            zookeeper_port = self._info()["zookeeper"]
            self._wait({self.zookeeper: lambda: _port_answers(zookeeper_port)}, deadline)
            if self.security:  # its first users, before the brokers that log in as them
                self.security.store_in_zookeeper(zookeeper_port)
        for node in kafkas:
            self._spawn_kafka(node)
        self._wait({node: self._answers(node) for node in kafkas}, deadline)

    def _spawn_kafka(self, node):
        node.spawn(java(self.mode, "kafka.Kafka", self._config(_node_id(node))))

    def _answers(self, node):
        node_id = _node_id(node)
        settings = self.client_settings(self.address(node_id))
        return lambda: node_id in live_broker_ids(self.address(node_id), **settings)

    def _wait(self, ready, deadline):
        """Wait until ready[node]() is true for every node."""
        pending = dict(ready)

        def all_answer():
            for node, answers in list(pending.items()):
                if not node.alive():
                    # In zookeeper mode a broker that crashed stays registered until its
                    # session expires (zookeeper.session.timeout.ms): try again until then
                    if "NodeExistsException" in node.tail(40) and time.monotonic() < deadline:
                        self._spawn_kafka(node)
                        continue
                    raise BrokerError(f"{node.name} exited during start-up{_why(node)}; last "
                                      f"lines of {node.log_file}:\n{node.tail()}")
                if answers():
                    del pending[node]
            return not pending

        try:
            wait_until(all_answer, deadline - time.monotonic(), interval=0.3)
        except TimeoutError:
            names = ", ".join(node.name for node in pending)
            last = next(iter(pending))
            raise BrokerError(f"{names} did not become ready in time; last lines of "
                              f"{last.log_file}:\n{last.tail()}") from None

    # --- stop, kill

    def stop(self, timeout=60):
        """Stop every process a pid file names; returns False if nothing was running."""
        status, _ = self.state()
        stopped = self._stop_processes(timeout)
        self._clear_run_files()
        return status != "stopped" and stopped

    def _stop_processes(self, timeout=60):
        # Kafka first, all at once (one by one, each would move its leaderships to the
        # next to go); then ZooKeeper, which a Kafka 3.9 broker's clean shutdown still needs.
        nodes = self._pid_files()
        kafkas = stop_all([n for n in nodes if n.name != "zookeeper"], timeout)
        return stop_all([n for n in nodes if n.name == "zookeeper"], timeout) or kafkas

    def _clear_run_files(self):
        for node in self._pid_files():
            node.clear()
        self.state_file.unlink(missing_ok=True)

    def kill(self, node_id=1):
        """SIGKILL one Kafka node, as a crash would; its pid file stays, so status says so.
        Returns the instant of the SIGKILL (time.monotonic()), to time a failover from."""
        killed_at = self.kafka(node_id).kill()
        if killed_at is None:
            raise BrokerError(f"node {node_id} is not running")
        return killed_at

    def describe(self, controller=None):
        """(status, text) for `status`: every process, its address, pid and whether it is
        alive; `controller`, if known, is marked."""
        status, info = self.state()
        if status == "stopped":
            return status, f"no broker running from {self.home}"
        lines = [f"{status}: Apache Kafka {info.get('version', '?')} in {info.get('mode', '?')} "
                 f"mode on {info.get('bootstrap', '?')}; data in {info.get('data', self.home)}"]
        for node in self._pid_files():
            alive = "alive" if info["alive"][node.name] else "DEAD"
            if node.name == "zookeeper":
                where = f"{HOST}:{info.get('zookeeper', '?')}"
            else:
                node_id = _node_id(node)
                where = self.address(node_id)
                if node_id == controller:
                    alive += "  controller"
            label = node.name.replace("-", " ")
            lines.append(f"  {label:<10} {where:<16} pid {node.pid:<8} {alive}")
        if info.get("security"):
            lines.append(self.client_files_text())
        for node in self._pid_files():
            if not info["alive"][node.name]:
                lines.append(f"last lines of {node.log_file}:\n{node.tail(5)}")
        return status, "\n".join(lines)

    def client_files_text(self):
        """Where a secured cluster's client.properties files are, for start and status."""
        lines = ["secured: SASL_SSL, SCRAM-SHA-512 logins, ACLs; each user's "
                 "client.properties (mode 600) for --client-config:"]
        for user in CLIENT_USERS:
            lines.append(f"  {user:<9} {shown(self.security.client_file(user))}")
        return "\n".join(lines)


def shown(path):
    """A path as a user would type it: relative to the current folder if under it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _node_id(node):
    return int(node.name.split("-")[1])


def _property(path, key):
    for line in path.read_text().splitlines():
        if line.startswith(key + "="):
            return line.split("=", 1)[1]
    raise BrokerError(f"{path} has no {key}")


def _why(node):
    """The cause of a node's exit its log names, when it is one a user can act on."""
    log = node.tail(500)
    if "Address already in use" in log:  # its tail is the shutdown that followed
        where = re.search(r"failed to bind to (\S+?):? Address already in use", log)
        return f": {where.group(1) if where else 'its port'} is in use by another program"
    return ""


def _port_answers(port):
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def local_broker(mode="zookeeper", home=DEFAULT_HOME, port=None, brokers=1, security=None):
    """Start a broker, or a cluster of `brokers` (on free ports unless `port` is given),
    yield its bootstrap list, stop it on exit."""
    cluster = LocalCluster(mode, port or free_ports(brokers), home, brokers, security).start()
    try:
        yield cluster.bootstrap
    finally:
        cluster.stop()

