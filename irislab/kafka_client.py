"""kafka-python as every irislab command uses it: prepare() runs once, before the command
makes a client (irislab.errors.run_command calls it). A leaf module.

- kafka-python's own log is silenced: it logs every failed connection attempt, and the
  command's one-line error says what matters.
- A bug of kafka-python 3.0.12 is worked around: see report_lost_connections_as_kafka_errors.
"""

import functools
import logging

from kafka.errors import KafkaConnectionError, KafkaError
from kafka.net.connection import KafkaConnection


def prepare():
    logging.getLogger("kafka").addHandler(logging.NullHandler())
    logging.getLogger("kafka").propagate = False
    report_lost_connections_as_kafka_errors()


def report_lost_connections_as_kafka_errors():
    """Make every lost connection fail its requests with a KafkaConnectionError.

    kafka-python 3.0.12 (and its main branch in 2026) passes the socket's own error to the
    connection when a broker resets it before the TLS handshake: a broker being killed does.
    A metadata request waiting on that connection then fails with ConnectionResetError, and
    the client's metadata refresh loop, which retries only Kafka errors, ends for good. The
    client never learns a new topic or leader again: the producer's first send() to
    versicolor failed after 60 s with "Failed to update metadata". As a
    KafkaConnectionError the failure is retried, on the next broker.
    tests/test_kafka_client.py fails if kafka-python changes underneath."""
    connection_lost = KafkaConnection.connection_lost
    if hasattr(connection_lost, "__wrapped__"):
        return  # prepared already

    @functools.wraps(connection_lost)
    def connection_lost_as_kafka_error(self, exc):
        if exc is not None and not isinstance(exc, KafkaError):
            wrapped = KafkaConnectionError(f"{type(exc).__name__}: {exc}")
            wrapped.__cause__ = exc
            exc = wrapped
        connection_lost(self, exc)

    KafkaConnection.connection_lost = connection_lost_as_kafka_error
