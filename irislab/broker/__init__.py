"""Run real Apache Kafka on the local JVM, from Apache's own jars: one broker, as in the
lab, or a cluster of up to five.

    python -m irislab.broker start [--brokers N] [--mode zookeeper|kraft] [--port 9092]
    python -m irislab.broker status | stop
    python -m irislab.broker kill --node ID     # SIGKILL one node: a crash
    python -m irislab.broker start --node ID    # that node again, on its data

zookeeper mode runs Kafka 3.9 brokers and one ZooKeeper; kraft mode runs Kafka 4.x nodes
that are each broker and controller, one controller quorum. Broker i listens on
127.0.0.1:port+i-1. The package keeps one idea a module:

    jars.py      the Kafka version each mode pins, its jars fetched by Maven, the java command
    configs.py   ports, and the properties files written from config/ templates
    nodes.py     one node's JVM process: spawn, alive, stop, kill (psutil)
    cluster.py   N nodes as one cluster: ids, start order, readiness, state kept in a folder
    __main__.py  the command line

From Python, `local_broker(mode, home)` starts one broker on free ports, yields its
bootstrap address and stops it on exit; `LocalCluster` is the whole API.
"""

from irislab import LabError


class BrokerError(LabError):
    """A broker could not be started, stopped or found; the message says why."""


from irislab.broker.cluster import DEFAULT_HOME, LocalCluster, local_broker  # noqa: E402
from irislab.broker.configs import free_port, free_ports, kraft_cluster_id  # noqa: E402
from irislab.broker.jars import MODES, fetch_jars, jars_dir, kafka_version  # noqa: E402

# the lab's single broker is a cluster of one
LocalBroker = LocalCluster

__all__ = ["BrokerError", "DEFAULT_HOME", "LocalBroker", "LocalCluster", "MODES", "fetch_jars",
           "free_port", "free_ports", "jars_dir", "kafka_version", "kraft_cluster_id", "local_broker"]
