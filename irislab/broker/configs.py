"""Ports, ids and the properties files each node runs with, written from the templates in
config/ beside this file.

The templates are Apache Kafka's own kind of file; the ${placeholders} in them are filled in
here: ports, node ids, folders, the controller quorum and the replication the cluster's size
allows (irislab.layout).
"""

import base64
import os
import random
import socket
import string
import uuid
from pathlib import Path

from irislab.broker.jars import CONFIG, MODES
from irislab.errors import BrokerError
from irislab.layout import min_insync_replicas, replication_factor

HOST = "127.0.0.1"

# what ends a plaintext node's server.properties, where a secured one's security goes
PLAINTEXT = ("# No security: any client that reaches the port may do anything.\n"
             "# --security sasl-ssl ends this file with config/{template} instead.")


# Where free ports are looked for: below the ports the kernel hands out by itself, to a
# client's connection or a bind to port 0 (Linux: 32768-60999, IANA: 49152-65535). A port
# found free there stays free until its broker binds it, however many connections the
# machine opens meanwhile; in the kernel's range, one of them may take it first (a broker
# then dies at start-up with "Address already in use").
QUIET_PORTS = range(20000, 32768)
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# its own generator: tests seed the module's (Hypothesis does), and two test processes
# seeded alike would try the same ports
_random = random.SystemRandom()


def quiet_ports():
    """QUIET_PORTS, cut where this machine's ephemeral range starts lower."""
    try:
        low = int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return QUIET_PORTS
    if low <= QUIET_PORTS.start + 1000:  # a range that leaves no quiet ports: no better
        return QUIET_PORTS
    return range(QUIET_PORTS.start, min(QUIET_PORTS.stop, low))


def free_port(taken=()):
    """A TCP port on 127.0.0.1 that nothing listens on right now, not one of `taken`."""
    return free_ports(1, taken)


def free_ports(count, taken=()):
    """The first of `count` consecutive ports on 127.0.0.1 that nothing listens on, none of
    them one of `taken` (chosen, not yet listened on). Picked at random, so that test runs
    side by side rarely try the same ones."""
    ports = quiet_ports()
    for _ in range(100):
        first = _random.choice(ports)
        chosen = range(first, first + count)
        if all(p in ports and p not in taken and port_is_free(p) for p in chosen):
            return first
    raise BrokerError(f"found no {count} consecutive free ports on {HOST}")


def port_is_free(port):
    with socket.socket() as s:
        # as a server binds: connections of an earlier broker left in TIME_WAIT don't count
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def kraft_cluster_id():
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding. Like Kafka's
    own Uuid.randomUuid, never one that starts with "-", which a command line takes for
    an option."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def fill(template, **values):
    """A template of config/ with its ${placeholders} filled in."""
    return string.Template((CONFIG / template).read_text()).substitute(values)


def write_private(path, data):
    """Write a file only its owner may read (mode 600 from its creation on)."""
    path.unlink(missing_ok=True)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
        f.write(data)


def write(template, path, **values):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(fill(template, **values))
    return path


def write_zookeeper(path, data_dir, port):
    return write("zookeeper.properties", path, data_dir=data_dir, zookeeper_port=port)


def write_server(mode, path, node_id, port, data_dir, brokers, zookeeper_port=None,
                 controller_ports=None, security=None):
    """One node's server.properties. controller_ports (kraft): node id -> its controller
    port, every node being one voter of the quorum. security: the values of the
    sasl-ssl-<mode>.properties template (security.Security.prepare), or None: plaintext.
    The file may hold the brokers' password: only its owner may read it."""
    replicas = replication_factor(brokers)
    values = {"node_id": node_id, "port": port, "data_dir": data_dir,
              "replication_factor": replicas, "min_insync": min_insync_replicas(replicas),
              "listener": "SASL_SSL" if security else "PLAINTEXT",
              "security": (fill(MODES[mode]["sasl-ssl"], **security) if security
                           else PLAINTEXT.format(template=MODES[mode]["sasl-ssl"]))}
    if mode == "zookeeper":
        values["zookeeper_port"] = zookeeper_port
    else:
        values["controller_port"] = controller_ports[node_id]
        values["quorum_voters"] = ",".join(f"{i}@{HOST}:{p}" for i, p in controller_ports.items())
        # a node proves itself to the controllers with its certificate (mutual TLS)
        values["controller_protocol"] = "SSL" if security else "PLAINTEXT"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, fill(MODES[mode]["server"], **values).encode())
    return path
