"""What producer1.py, consumer.py and `python -m irislab.admin` share on the command line:
the broker address, quiet client logs, and one-line errors with the documented exit codes
(0 done, 1 runtime failure, 2 bad usage)."""

import argparse
import logging
import os
import re
import socket
import sys

from kafka.errors import KafkaError

from irislab import LabError

# how long to try reaching the broker before saying it cannot be reached
CONNECT_MS = 8000

# For the producer and consumers: a broker that restarts is back within seconds, so
# don't let kafka-python's exponential reconnect backoff grow to its 30 s default.
CLIENT_SETTINGS = {"reconnect_backoff_max_ms": 1000}


# a host name, an IPv4 address, or an IPv6 address in brackets
HOST_NAME = re.compile(r"[\w.-]+|\[[0-9a-fA-F:.]+\]")


def bootstrap_address(text):
    """argparse type for HOST:PORT, or a comma-separated list of them (any of a cluster's
    brokers will do to start with; the client then learns the others from it)."""
    for address in text.split(","):
        host, sep, port = address.strip().rpartition(":")
        if (not sep or not HOST_NAME.fullmatch(host) or not port.isdigit()
                or not 0 < int(port) < 65536):
            raise argparse.ArgumentTypeError(
                f"{text!r} is not HOST:PORT or a comma-separated list of them")
    return ",".join(address.strip() for address in text.split(","))


def positive_int(text):
    """argparse type for a whole number > 0."""
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number > 0")
    return int(text)


def add_bootstrap_argument(parser):
    parser.add_argument("--bootstrap-server", type=bootstrap_address,
                        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092"),
                        help="the broker, HOST:PORT, or a cluster's brokers, HOST:PORT,HOST:PORT,... "
                             "(default: $KAFKA_BOOTSTRAP_SERVERS, else localhost:9092)")


def check_resolves(bootstrap):
    for address in bootstrap.split(","):
        host, _, port = address.rpartition(":")
        try:
            socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
        except socket.gaierror:
            raise LabError(f"cannot resolve the broker's host name {host!r} ({address})") from None


def unreachable(bootstrap):
    return LabError(f"cannot reach a Kafka broker at {bootstrap}: is it running? "
                    f"(python -m irislab.broker start, or docker compose up -d)")


def run(main, args, prog):
    """Run main(args) and turn failures into one line on stderr and an exit status."""
    # kafka-python logs every failed connection attempt; our own message says what matters
    logging.getLogger("kafka").addHandler(logging.NullHandler())
    logging.getLogger("kafka").propagate = False
    try:
        return main(args)
    except LabError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
    except KafkaError as e:
        print(f"{prog}: error: Kafka: {e}", file=sys.stderr)
    except KeyboardInterrupt:  # before anything was sent or read
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    return 1
