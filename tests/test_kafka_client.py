"""kafka-python as irislab's commands prepare it (irislab/kafka_client.py): a broker that
resets a connection while the client logs in fails the requests waiting on it with a
retriable KafkaConnectionError, the kind kafka-python's metadata refresh retries, instead of
the socket's own OSError, which ends that refresh for good in kafka-python 3.0.12.

These tests reach into kafka-python's KafkaConnection, as the fix does: they fail if
kafka-python changes underneath it."""

import inspect

import pytest
from kafka.errors import KafkaConnectionError
from kafka.net.connection import KafkaConnection
from kafka.protocol.metadata import MetadataRequest

from irislab import kafka_client

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def unprepared_kafka_python(monkeypatch):
    """kafka-python as installed, whether or not a command ran in this process before."""
    monkeypatch.setattr(KafkaConnection, "connection_lost",
                        inspect.unwrap(KafkaConnection.connection_lost))


def a_metadata_request_waiting_on_a_connection_that_is_reset():
    connection = KafkaConnection(None, node_id=2)  # still logging in: requests wait
    waiting = connection.send_request(MetadataRequest(topics=["versicolor"]))
    assert not waiting.is_done
    connection.connection_lost(ConnectionResetError(104, "Connection reset by peer"))
    return waiting


def test_unprepared_kafka_python_fails_the_request_with_the_socket_error():
    waiting = a_metadata_request_waiting_on_a_connection_that_is_reset()
    assert type(waiting.exception) is ConnectionResetError  # the bug: not a Kafka error


def test_prepared_kafka_python_fails_it_with_a_retriable_kafka_error():
    kafka_client.prepare()
    kafka_client.prepare()  # once per command, but twice wraps once
    waiting = a_metadata_request_waiting_on_a_connection_that_is_reset()
    assert type(waiting.exception) is KafkaConnectionError and waiting.retriable()
    assert "ConnectionResetError: [Errno 104] Connection reset by peer" in str(waiting.exception)
    assert isinstance(waiting.exception.__cause__, ConnectionResetError)


def test_a_connection_closed_without_error_still_closes_quietly():
    kafka_client.prepare()
    connection = KafkaConnection(None, node_id=2)
    connection.connection_lost(None)
    assert connection.closed and connection.close_future.succeeded()
