"""What producer1.py, consumer.py and `python -m irislab.admin` share on the command line:
the broker address and the client.properties of a secured cluster (the settings every Kafka
client is built with), and argparse types whose bad values are usage errors (exit 2). How a
command reports a runtime failure (one line, exit 1) is irislab.errors.run_command."""

import argparse
import os
import socket
import sys
import threading
from contextlib import contextmanager

from irislab import clientconfig
from irislab.errors import LabError

# how long to try reaching the broker before saying it cannot be reached
CONNECT_MS = 8000

# For the producer and consumers: a broker that restarts is back within seconds, so
# don't let kafka-python's exponential reconnect backoff grow to its 30 s default.
CLIENT_SETTINGS = {"reconnect_backoff_max_ms": 1000}


def bootstrap_address(text):
    """argparse type for HOST:PORT, or a comma-separated list of them (any of a cluster's
    brokers will do to start with; the client then learns the others from it)."""
    try:
        return clientconfig.bootstrap_list(text)
    except clientconfig.ClientConfigError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def client_config_file(path):
    """argparse type for --client-config: the kafka-python settings the file gives."""
    try:
        return clientconfig.read_client_config(path)
    except clientconfig.ClientConfigError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def positive_int(text):
    """argparse type for a whole number > 0."""
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number > 0")
    return int(text)


def group_name(text):
    """argparse type for a consumer group name: not empty, not only spaces."""
    if not text.strip():
        raise argparse.ArgumentTypeError("a group name cannot be empty or only spaces")
    return text


class StoreGiven(argparse.Action):
    """Stores the value and notes that it was given on the command line, not defaulted:
    a given --bootstrap-server wins over the client.properties' bootstrap.servers, and
    that over $KAFKA_BOOTSTRAP_SERVERS or localhost:9092."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        setattr(namespace, self.dest + "_given", True)


def add_connection_arguments(parser):
    """--bootstrap-server and --client-config; client_settings(args) combines them."""
    parser.set_defaults(bootstrap_server_given=False)
    parser.add_argument("--bootstrap-server", type=bootstrap_address, action=StoreGiven,
                        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092"),
                        help="the broker, HOST:PORT, or a cluster's brokers, HOST:PORT,HOST:PORT,... "
                             "(default: $KAFKA_BOOTSTRAP_SERVERS, else localhost:9092)")
    parser.add_argument("--client-config", metavar="FILE", type=client_config_file,
                        default=os.environ.get("KAFKA_CLIENT_CONFIG") or None,
                        help="a secured or managed cluster's client.properties: "
                             "security.protocol, the SASL login, the TLS files, in librdkafka's "
                             "or Java's spelling; its bootstrap.servers counts unless "
                             "--bootstrap-server is given (default: $KAFKA_CLIENT_CONFIG)")


def client_settings(args):
    """The keyword arguments every KafkaProducer, KafkaConsumer and KafkaAdminClient is built
    with: bootstrap_servers, and the security settings of --client-config. They print with
    the passwords hidden."""
    from_file = getattr(args, "client_config", None) or {}
    bootstrap = args.bootstrap_server
    if not getattr(args, "bootstrap_server_given", True) and "bootstrap_servers" in from_file:
        bootstrap = from_file["bootstrap_servers"]
    return clientconfig.KafkaSettings(from_file, bootstrap_servers=bootstrap)


def check_resolves(bootstrap):
    for address in bootstrap.split(","):
        host, _, port = address.rpartition(":")
        try:
            socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
        except socket.gaierror:
            raise LabError(f"cannot resolve the broker's host name {host!r} ({address})") from None


# how long a command waits for the broker in silence before it says it is trying
PATIENCE_S = 1.0


@contextmanager
def said_if_slow(text, after_s=PATIENCE_S):
    """Print text on stderr if the block has not ended after after_s seconds: a wait of
    several seconds (a broker that does not answer yet) is not spent in silence."""
    timer = threading.Timer(after_s, print, [text], {"file": sys.stderr, "flush": True})
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def unreachable(bootstrap):
    return LabError(f"cannot reach a Kafka broker at {bootstrap}: is it running? "
                    f"(python -m irislab.broker start, or docker compose up -d)")
