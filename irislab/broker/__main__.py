"""python -m irislab.broker start|stop|status|kill: run Apache Kafka locally on the JVM.

    python -m irislab.broker start [--mode zookeeper|kraft] [--brokers N] [--port 9092]
                                   [--security sasl-ssl]   # TLS, SCRAM logins, ACLs
    python -m irislab.broker start --node ID     # that node of the running cluster, again
    python -m irislab.broker kill --node ID      # SIGKILL one node: a crash
    python -m irislab.broker status              # exit 0 running, 1 a process died, 3 stopped
    python -m irislab.broker stop
    python -m irislab.broker fetch               # Apache's jars for both modes, once (make jars)

Each takes --home (default var/broker), the folder that holds the cluster's data, logs,
configs and pid files; stop, status and kill act on the cluster found there, whatever its mode.
"""

import argparse
import sys
import time
from pathlib import Path

from irislab.broker.cluster import DEFAULT_HOME, MAX_BROKERS, LocalCluster
from irislab.broker.jars import MODES, fetch_jars, jars_dir, kafka_version
from irislab.broker.security import SECURITY
from irislab.cluster_facts import controller_id
from irislab.errors import BrokerError, run_command

COMMAND = "python -m irislab.broker"
# the name a runtime failure is reported under: "irislab.broker: error: ..."
PROG = "irislab.broker"


def the_running_cluster(home):
    cluster = LocalCluster.running_in(home)
    if cluster is None:
        raise BrokerError(f"no cluster running from {home}: start it first")
    return cluster


def start(args):
    if args.node is not None:
        started = time.monotonic()
        the_running_cluster(args.home).start_node(args.node)
        print(f"node {args.node} is up again after {time.monotonic() - started:.1f} s")
        return 0
    cluster = LocalCluster(args.mode, args.port, args.home, args.brokers, args.security)
    started = time.monotonic()
    cluster.start()
    what = "" if args.brokers == 1 else f", {args.brokers} brokers"
    print(f"Apache Kafka {kafka_version(args.mode)} ({args.mode} mode{what}) is up on "
          f"{cluster.bootstrap} after {time.monotonic() - started:.1f} s; data in {cluster.data}")
    if args.brokers > 1:
        print(f"bootstrap list: --bootstrap-server {cluster.bootstrap}")
    if args.security:
        print(cluster.client_files_text())
    return 0


def fetch(args):
    for mode in sorted(MODES):
        fetch_jars(mode)
    print("Apache Kafka's jars: " + ", ".join(
        f"{kafka_version(mode)} ({mode} mode) in {jars_dir(mode)}" for mode in sorted(MODES)))
    return 0


def kill(args):
    if args.node is None:
        raise BrokerError("kill needs --node ID")
    the_running_cluster(args.home).kill(args.node)
    print(f"killed node {args.node} (SIGKILL)")
    return 0


def stop(args):
    cluster = LocalCluster.running_in(args.home) or LocalCluster(home=args.home)
    print("stopped" if cluster.stop() else f"no broker was running from {cluster.home}")
    return 0


def status(args):
    cluster = LocalCluster.running_in(args.home) or LocalCluster(home=args.home)
    running, _ = cluster.state()
    # the processes are reported even when no broker answers to name the controller
    controller = (controller_id(cluster.bootstrap, **cluster.client_settings())
                  if running != "stopped" else None)
    state, text = cluster.describe(controller)
    print(text)
    return {"running": 0, "crashed": 1, "stopped": 3}[state]


def main(args):
    return args.action(args)


def brokers_count(text):
    if not text.isdigit() or not 1 <= int(text) <= MAX_BROKERS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of brokers from 1 to "
                                         f"{MAX_BROKERS}")
    return int(text)


class ActionParser(argparse.ArgumentParser):
    """An action's parser: its usage names the action (python -m irislab.broker start ...),
    its bad-usage line, like every command's, the command typed: "python -m irislab.broker:
    error: ..."."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(2, f"{COMMAND}: error: {message}\n")


def build_parser():
    parser = argparse.ArgumentParser(
        prog=COMMAND, description="Run Apache Kafka locally on the JVM.",
        epilog="stop, status and kill act on the cluster that --home holds, whatever its mode.")
    home = argparse.ArgumentParser(add_help=False)
    home.add_argument("--home", type=Path, default=DEFAULT_HOME,
                      help="folder for data, logs, configs and pid files (default: var/broker)")
    commands = parser.add_subparsers(title="commands", dest="command", required=True,
                                     parser_class=ActionParser)

    starting = commands.add_parser(
        "start", parents=[home], help="start a broker or cluster, or one node of it again",
        description="Start a broker (or --brokers N) and wait until every one answers; with "
                    "--node, start that node of the running cluster again, on its data.")
    starting.add_argument("--mode", choices=sorted(MODES), default="zookeeper",
                          help="zookeeper: Kafka 3.9 + ZooKeeper; kraft: Kafka 4.x "
                               "(default: %(default)s)")
    starting.add_argument("--brokers", type=brokers_count, default=1,
                          help=f"how many brokers, 1 to {MAX_BROKERS} (default: %(default)s)")
    starting.add_argument("--port", type=int, default=9092,
                          help="broker i listens on 127.0.0.1:PORT+i-1 (default: %(default)s)")
    starting.add_argument("--security", choices=SECURITY,
                          help="sasl-ssl: TLS on every listener, SCRAM-SHA-512 logins, ACLs; "
                               "writes client-admin, client-producer and client-consumer"
                               ".properties into --home (default: none, plaintext)")
    starting.add_argument("--node", type=int, help="the node to start again")
    starting.set_defaults(action=start)

    commands.add_parser("stop", parents=[home], help="stop every process cleanly"
                        ).set_defaults(action=stop)
    commands.add_parser("status", parents=[home],
                        help="every process, its address and pid, alive or dead; the controller "
                             "(exit 0 running, 1 a process died, 3 stopped)"
                        ).set_defaults(action=status)
    commands.add_parser("fetch", help="fetch Apache Kafka's jars for both modes from Maven "
                        "Central, once; later starts work offline").set_defaults(action=fetch)
    killing = commands.add_parser("kill", parents=[home], help="SIGKILL one node, as a crash would")
    killing.add_argument("--node", type=int, help="the node to SIGKILL")
    killing.set_defaults(action=kill)
    return parser


if __name__ == "__main__":
    sys.exit(run_command(main, build_parser().parse_args(), PROG))
