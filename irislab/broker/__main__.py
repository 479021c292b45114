"""python -m irislab.broker start|stop|status|kill: run Apache Kafka locally on the JVM."""

import argparse
import sys
import time
from pathlib import Path

from irislab.broker import BrokerError
from irislab.broker.cluster import DEFAULT_HOME, MAX_BROKERS, LocalCluster
from irislab.broker.jars import MODES, kafka_version


def the_running_cluster(home):
    cluster = LocalCluster.running_in(home)
    if cluster is None:
        raise BrokerError(f"no cluster running from {home}: start it first")
    return cluster


def controller_of(cluster):
    """The controller's id as the live brokers report it, or None if none answers."""
    from kafka.errors import KafkaError
    from irislab import LabError
    from irislab.admin import describe_controller
    try:
        return describe_controller(cluster.bootstrap)[0]
    except (LabError, KafkaError):  # status reports the processes even when none answers
        return None


def main(args):
    if args.command == "start" and args.node is not None:
        started = time.monotonic()
        the_running_cluster(args.home).start_node(args.node)
        print(f"node {args.node} is up again after {time.monotonic() - started:.1f} s")
    elif args.command == "start":
        cluster = LocalCluster(args.mode, args.port, args.home, args.brokers)
        started = time.monotonic()
        cluster.start()
        what = "" if args.brokers == 1 else f", {args.brokers} brokers"
        print(f"Apache Kafka {kafka_version(args.mode)} ({args.mode} mode{what}) is up on "
              f"{cluster.bootstrap} after {time.monotonic() - started:.1f} s; "
              f"data in {cluster.data}")
        if args.brokers > 1:
            print(f"bootstrap list: --bootstrap-server {cluster.bootstrap}")
    elif args.command == "kill":
        if args.node is None:
            raise BrokerError("kill needs --node ID")
        the_running_cluster(args.home).kill(args.node)
        print(f"killed node {args.node} (SIGKILL)")
    elif args.command == "stop":
        cluster = LocalCluster.running_in(args.home) or LocalCluster(home=args.home)
        print("stopped" if cluster.stop() else f"no broker was running from {cluster.home}")
    else:
        cluster = LocalCluster.running_in(args.home) or LocalCluster(home=args.home)
        status, _ = cluster.state()
        controller = controller_of(cluster) if status != "stopped" else None
        status, text = cluster.describe(controller)
        print(text)
        return {"running": 0, "crashed": 1, "stopped": 3}[status]
    return 0


def brokers_count(text):
    if not text.isdigit() or not 1 <= int(text) <= MAX_BROKERS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of brokers from 1 to "
                                         f"{MAX_BROKERS}")
    return int(text)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m irislab.broker", description="Run Apache Kafka locally on the JVM.",
        epilog="stop, status and kill act on the cluster that --home holds, whatever its mode.")
    parser.add_argument("command", choices=("start", "stop", "status", "kill"))
    parser.add_argument("--mode", choices=sorted(MODES), default="zookeeper",
                        help="zookeeper: Kafka 3.9 + ZooKeeper; kraft: Kafka 4.x (default: %(default)s)")
    parser.add_argument("--brokers", type=brokers_count, default=1,
                        help=f"how many brokers, 1 to {MAX_BROKERS} (default: %(default)s)")
    parser.add_argument("--port", type=int, default=9092,
                        help="broker i listens on 127.0.0.1:PORT+i-1 (default: %(default)s)")
    parser.add_argument("--node", type=int,
                        help="kill: the node to SIGKILL; start: the node to start again")
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
