"""The secured cluster's certificates, without a broker: a TLS handshake (Python's ssl, that
is OpenSSL, as kafka-python uses it) between a server holding broker.pem and a client
trusting ca.pem succeeds for every name a client connects to, and fails for another name
or a client trusting another CA; the private key is readable by its owner alone."""

import re
import socket
import ssl
import stat
import threading

import pytest

from irislab.broker.certificates import make_certificates

pytestmark = pytest.mark.unit


def handshake(keystore, cafile, server_hostname):
    """A TLS handshake over a socket pair: the server presents keystore's key and chain,
    the client trusts cafile and checks server_hostname. Returns the client's error, or
    None."""
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(keystore)
    client_context = ssl.create_default_context(cafile=cafile)
    server_end, client_end = socket.socketpair()

    def serve():
        try:
            with server_context.wrap_socket(server_end, server_side=True):
                pass
        except (ssl.SSLError, OSError):  # the client hung up on it
            pass
    server = threading.Thread(target=serve)
    server.start()
    try:
        with client_context.wrap_socket(client_end, server_hostname=server_hostname):
            return None
    except ssl.SSLCertVerificationError as e:
        return e.verify_message
    finally:
        client_end.close()
        server.join(10)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("security"))


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1"])
def test_a_client_trusting_the_ca_accepts_the_broker_under_each_of_its_names(certificates, name):
    ca, keystore = certificates
    assert handshake(keystore, ca, name) is None


def test_another_name_is_refused(certificates):
    ca, keystore = certificates
    assert "mismatch" in handshake(keystore, ca, "127.0.0.2")


def test_a_client_trusting_another_ca_refuses_the_broker(certificates, tmp_path):
    _, keystore = certificates
    another_ca, _ = make_certificates(tmp_path)
    # the brokers' chain ends in their CA, which the client does not know (OpenSSL 1.1
    # spells it "self signed")
    assert re.fullmatch("self.signed certificate in certificate chain",
                        handshake(keystore, another_ca, "localhost"))


def test_only_the_owner_may_read_the_private_key(certificates):
    ca, keystore = certificates
    assert stat.S_IMODE(keystore.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in keystore.read_bytes() and b"PRIVATE KEY" not in ca.read_bytes()
