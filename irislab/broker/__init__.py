"""Run real Apache Kafka on the local JVM, from Apache's own jars: one broker, as in the
lab, or a cluster of up to five.

    python -m irislab.broker start [--brokers N] [--mode zookeeper|kraft] [--port 9092]
    python -m irislab.broker status | stop
    python -m irislab.broker kill --node ID     # SIGKILL one node: a crash
    python -m irislab.broker start --node ID    # that node again, on its data

zookeeper mode runs Kafka 3.9 brokers and one ZooKeeper; kraft mode runs Kafka 4.x nodes
that are each broker and controller, one controller quorum. Broker i listens on
127.0.0.1:port+i-1. The package keeps one idea a module, and beside them everything it
needs to start Kafka:

    jars.py      the Kafka version each mode pins, its jars fetched by Maven, the java command
    configs.py   ports, and the properties files written from the config/ templates
    nodes.py     one node's JVM process: spawn, alive, stop, kill (psutil)
    cluster.py   N nodes as one cluster: ids, start order, readiness, state kept in a folder
    __main__.py  the command line
    kafka-3.9/pom.xml, kafka-4/pom.xml   the Kafka each mode runs, pinned for Maven
    config/      Kafka's and ZooKeeper's properties templates, and logging
    jars/        the jars Maven copied (not in git)

From Python, `local_broker(mode, home)` starts one broker on free ports, yields its
bootstrap address and stops it on exit; `LocalCluster` (a cluster of one is the lab's
single broker) is the whole API. Its errors are irislab.errors.BrokerError.
"""

from irislab.broker.cluster import DEFAULT_HOME, LocalCluster, local_broker
from irislab.broker.configs import free_port, free_ports, kraft_cluster_id
from irislab.broker.jars import MODES, fetch_jars, jars_dir, kafka_version
from irislab.errors import BrokerError

__all__ = ["BrokerError", "DEFAULT_HOME", "LocalCluster", "MODES", "fetch_jars", "free_port",
           "free_ports", "jars_dir", "kafka_version", "kraft_cluster_id", "local_broker"]
