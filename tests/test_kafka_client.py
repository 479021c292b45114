"""kafka-python as irislab's commands prepare it (irislab/kafka_client.py).

A broker killed while a client connects to it over TLS resets the connection before the
handshake. kafka-python 3.0.12 then fails the waiting metadata request with the socket's
ConnectionResetError, which its metadata refresh loop does not retry: the loop ends, and the
client never learns a topic or a leader again. Prepared, the failure is a retriable
KafkaConnectionError and the loop goes on to the next try.

The tests run kafka-python's own connection manager and refresh loop against a port that
resets every connection, as that broker did; to point the loop there without a broker they
set its list of brokers directly. They fail if kafka-python changes underneath the fix."""

import inspect
import socket
import struct
import threading

import pytest
from kafka.errors import KafkaConnectionError
from kafka.future import Future
from kafka.net.connection import KafkaConnection
from kafka.net.manager import KafkaConnectionManager
from kafka.net.selector import NetworkSelector
from kafka.protocol.metadata import MetadataRequest, MetadataResponse

from irislab import kafka_client
from tests.lab import wait_for

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def unprepared_kafka_python(monkeypatch):
    """kafka-python as installed, whether or not a command ran in this process before."""
    monkeypatch.setattr(KafkaConnection, "connection_lost",
                        inspect.unwrap(KafkaConnection.connection_lost))


@pytest.fixture
def resetting_port():
    """A port whose every connection is reset as soon as it is accepted: a broker dying.
    Yields (port, the number of connections accepted so far)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def reset_each():
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # the test closed the listener
            accepted.append(1)
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()  # linger 0: RST, not FIN

    threading.Thread(target=reset_each, daemon=True).start()
    yield listener.getsockname()[1], lambda: len(accepted)
    listener.close()


@pytest.fixture
def refresh_loop(resetting_port):
    """kafka-python's metadata refresh loop, asked for metadata, with one broker known: the
    resetting port, reached over TLS. Yields the loop's future and the accepted count."""
    port, accepted = resetting_port
    net = NetworkSelector()
    manager = KafkaConnectionManager(net, bootstrap_servers=f"127.0.0.1:{port}",
                                     security_protocol="SSL", ssl_check_hostname=False)
    cluster = manager.cluster
    cluster._brokers = {1: MetadataResponse.MetadataResponseBroker(1, "127.0.0.1", port, None)}
    manager._bootstrap_future = Future().success(True)  # as if bootstrapped from that broker
    net.start()
    net.call_soon(cluster.start_refresh_loop)
    cluster.request_update()
    wait_for(lambda: cluster._refresh_loop_future is not None, 10, "the refresh loop started")
    yield cluster._refresh_loop_future, accepted
    manager.close()
    net.stop()


def test_unprepared_the_refresh_loop_ends_at_a_reset_before_the_handshake(refresh_loop):
    loop, accepted = refresh_loop
    wait_for(lambda: loop.is_done, 20, "the refresh loop ended")
    # kafka-python's bug, still there: the loop is over, nothing refreshes metadata again
    assert type(loop.exception) is ConnectionResetError


@pytest.fixture
def prepared():
    installed = KafkaConnection.connection_lost
    kafka_client.prepare()
    kafka_client.prepare()  # once per command; twice must wrap once
    assert KafkaConnection.connection_lost.__wrapped__ is installed


def test_prepared_the_refresh_loop_tries_again_after_every_reset(prepared, refresh_loop):
    loop, accepted = refresh_loop
    wait_for(lambda: accepted() >= 5 or loop.is_done, 30, "five connections tried")
    assert not loop.is_done, loop.exception


def test_prepared_a_reset_fails_the_waiting_request_with_a_retriable_kafka_error(prepared):
    connection = KafkaConnection(None, node_id=1)  # still logging in: requests wait
    waiting = connection.send_request(MetadataRequest(topics=["versicolor"]))
    connection.connection_lost(ConnectionResetError(104, "Connection reset by peer"))
    assert type(waiting.exception) is KafkaConnectionError and waiting.retriable()
    assert str(waiting.exception).endswith(
        "ConnectionResetError: [Errno 104] Connection reset by peer")
    assert isinstance(waiting.exception.__cause__, ConnectionResetError)


def test_prepared_a_connection_closed_without_error_still_closes_quietly(prepared):
    connection = KafkaConnection(None, node_id=1)
    connection.connection_lost(None)
    assert connection.closed and connection.close_future.succeeded()
