"""Why a broker refuses a client, in the lab's words, without a broker: kafka-python's
refusals (as its code raises them) translated by irislab.access, each naming the user and
the kafka-acls grant and never the password; and irislab.preflight against TLS servers run
here with Python's ssl module, with certificates made by openssl: an untrusted CA, a host
name mismatch, a client certificate asked for, a PLAINTEXT client at a TLS port, and a TLS
peer that is not Kafka (inconclusive: the client then reports what it sees)."""

import socket
import ssl
import subprocess
import threading

import pytest
from kafka.errors import (ClusterAuthorizationFailedError, GroupAuthorizationFailedError,
                          KafkaError, KafkaTimeoutError, SaslAuthenticationFailedError,
                          TopicAuthorizationFailedError, TransactionalIdAuthorizationFailedError)

from irislab import access, preflight
from irislab.errors import AccessError

pytestmark = pytest.mark.unit

PASSWORD = "pr0ducer-Pa55"
SASL = {"bootstrap_servers": "127.0.0.1:9092", "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512", "sasl_plain_username": "producer",
        "sasl_plain_password": PASSWORD, "ssl_cafile": "ca.pem", "ssl_check_hostname": True}


def message(error):
    """An AccessError's one line, checked to show no password."""
    assert isinstance(error, AccessError), error
    text = str(error)
    assert "\n" not in text and PASSWORD not in text
    return text


# --- the principal, and what to grant

def test_the_principal_is_the_sasl_user_else_the_certificates_subject_else_anonymous():
    assert access.principal(SASL) == "User:producer"
    assert access.principal({"security_protocol": "SSL", "ssl_certfile": "client.pem"}) == \
        "User:<the subject of client.pem>"
    assert access.principal({"security_protocol": "SSL"}) == "User:ANONYMOUS"
    assert access.principal({"bootstrap_servers": "localhost:9092"}) == "User:ANONYMOUS"


def test_a_refusal_names_the_operation_the_resource_the_user_and_the_grant():
    text = message(access.not_authorized(SASL, "WRITE", "topic", ["virginicasetosa", "versicolor"]))
    assert text == ("not authorized to WRITE topic virginicasetosa, versicolor as User:producer: "
                    "ask the administrator to grant it (kafka-acls ... --add --allow-principal "
                    "User:producer --operation Write --topic virginicasetosa --topic versicolor)")
    assert access.grant(SASL, "READ", "group", ["my group"]).endswith(
        "--operation Read --group 'my group'")


def test_a_missing_topic_the_user_may_not_create_says_the_administrator_may_create_it():
    text = message(access.cannot_create(SASL, ["versicolor"]))
    assert text.startswith("not authorized to CREATE topic versicolor as User:producer (it does "
                           "not exist): ask the administrator to create the lab's topics (python "
                           "-m irislab.admin with the administrator's --client-config), or to "
                           "grant it (kafka-acls ")
    assert text.endswith("--operation Create --topic versicolor)")


# --- kafka-python's errors, as its code raises them

@pytest.mark.parametrize("error,operation,says", [
    # the producer's delivery report (kafka/producer/sender.py) and send() (a set of topics)
    (TopicAuthorizationFailedError("virginicasetosa"), "WRITE",
     "not authorized to WRITE topic virginicasetosa as User:producer"),
    (TopicAuthorizationFailedError({"versicolor", "virginicasetosa"}), "READ",
     "not authorized to READ topic versicolor, virginicasetosa as User:producer"),
    # a consumer group's coordinator lookup (kafka/admin, kafka/coordinator)
    (GroupAuthorizationFailedError("FindCoordinatorResponse error for GROUP/iris: "), "READ",
     "not authorized to READ group iris as User:producer"),
    # the idempotent producer's first request (kafka/producer/transaction_manager.py) ...
    (KafkaError("Unexpected error in InitProducerIdResponse: "
                f"{ClusterAuthorizationFailedError()}"), "WRITE",
     "not authorized to IdempotentWrite on the cluster as User:producer (the idempotent "
     "producer asks for a producer id first, InitProducerId"),
    # ... and its produce requests (kafka/producer/sender.py)
    (ClusterAuthorizationFailedError("The producer is not authorized to do idempotent sends"),
     "WRITE", "not authorized to IdempotentWrite on the cluster as User:producer"),
    (TransactionalIdAuthorizationFailedError(), "WRITE", "not authorized as User:producer: "),
    (SaslAuthenticationFailedError("SaslAuthenticationFailedError: Authentication failed"),
     "READ", "authentication failed for producer with SCRAM-SHA-512 at 127.0.0.1:9092"),
])
def test_each_refusal_a_running_client_raises_says_why_in_the_labs_words(error, operation, says):
    text = message(access.refusal(error, SASL, operation))
    assert text.startswith(says)
    assert access.explain(error, SASL, operation) == text


def test_a_refused_group_is_named_as_the_command_knows_it():
    error = GroupAuthorizationFailedError("FindCoordinatorResponse error for GROUP/x: ")
    assert message(access.refusal(error, SASL, "READ", group="iris lab")).startswith(
        "not authorized to READ group iris lab as User:producer: ")


@pytest.mark.parametrize("error", [KafkaTimeoutError("Failed to update metadata after 60.0 secs."),
                                   KafkaError("Unexpected error in InitProducerIdResponse: "
                                              "[Error 7] RequestTimedOutError"),
                                   ValueError("not Kafka's")])
def test_other_errors_are_not_refusals_and_show_as_they_are(error):
    assert access.refusal(error, SASL, "WRITE") is None
    assert access.explain(error, SASL, "WRITE") == str(error)


def test_an_error_raised_while_reading_becomes_its_refusal_and_others_pass_through():
    with pytest.raises(AccessError, match=r"^not authorized to READ topic versicolor as "
                                          r"User:producer: "):
        with access.refusals_explained(SASL, "READ"):
            raise TopicAuthorizationFailedError({"versicolor"})
    with pytest.raises(KafkaTimeoutError):
        with access.refusals_explained(SASL, "READ"):
            raise KafkaTimeoutError()


def test_the_protocol_a_listener_speaks_is_said_with_what_the_client_used_and_what_to_use():
    text = message(access.other_protocol({}, "127.0.0.1:9093", "TLS"))
    assert text == ("the listener at 127.0.0.1:9093 speaks another protocol: the client used "
                    "PLAINTEXT (no --client-config); the listener expects TLS: set "
                    "security.protocol to SSL or SASL_SSL (as the cluster's client.properties "
                    "says)")
    assert message(access.other_protocol(SASL, "127.0.0.1:9092", "PLAINTEXT")).endswith(
        "the client used SASL_SSL (security.protocol); the listener speaks Kafka without TLS: "
        "set security.protocol to PLAINTEXT or SASL_PLAINTEXT")
    assert message(access.other_protocol({"security_protocol": "SSL"}, "h:1", "SASL")).endswith(
        "expects a SASL login first: set security.protocol to SASL_SSL, with sasl.mechanism, "
        "sasl.username and sasl.password")
    assert message(access.other_protocol({"security_protocol": "SASL_PLAINTEXT"}, "h:1",
                                          "NO SASL")).endswith(
        "takes no SASL login: set security.protocol to PLAINTEXT")


# --- irislab.preflight against TLS servers that are not Kafka


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A CA, a server certificate it signed for the host name localhost only, and another CA."""
    folder = tmp_path_factory.mktemp("tls")

    def openssl(*args):
        subprocess.run(["openssl", *map(str, args)], cwd=folder, check=True, capture_output=True)

    for name in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "1",
                "-subj", f"/CN={name}")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (folder / "san.ext").write_text("subjectAltName=DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "1", "-extfile", "san.ext")
    return folder


@pytest.fixture(scope="module")
def tls_server(certificates):
    """start(client_certificate=False) -> the port of a TLS server on 127.0.0.1 that shakes
    hands with its certificate for localhost (asking for a client certificate signed by the
    CA, if told), reads a little and hangs up: TLS, but not Kafka."""
    servers, stop = [], threading.Event()

    def start(client_certificate=False):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificates / "server.pem", certificates / "server.key")
        if client_certificate:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(certificates / "ca.pem")
        server = socket.create_server(("127.0.0.1", 0))
        server.settimeout(0.2)

        def serve():
            while not stop.is_set():
                try:
                    conn, _ = server.accept()
                except OSError:
                    continue
                try:
                    with context.wrap_socket(conn, server_side=True) as tls:
                        tls.recv(100)
                except OSError:  # ssl.SSLError included: a refused handshake
                    pass
                finally:
                    conn.close()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        servers.append((server, thread))
        return server.getsockname()[1]

    yield start
    stop.set()
    for server, thread in servers:
        thread.join()
        server.close()


def tls_settings(address, certificates, ca="ca.pem"):
    return {"bootstrap_servers": address, "security_protocol": "SSL",
            "ssl_cafile": str(certificates / ca), "ssl_check_hostname": True}


def preflight_refusal(settings):
    with pytest.raises(AccessError) as refused:
        preflight.check_connection(settings, timeout=5)
    return message(refused.value)


def test_a_certificate_signed_by_a_ca_the_client_does_not_trust_is_an_untrusted_ca(
        tls_server, certificates):
    address = f"localhost:{tls_server()}"
    text = preflight_refusal(tls_settings(address, certificates, ca="other-ca.pem"))
    assert text == (f"TLS verification failed: the certificate of {address} is not signed by a "
                    f"CA the client trusts (an untrusted CA): the client trusts only the CA in "
                    f"{certificates / 'other-ca.pem'} (ssl.ca.location); give it the cluster's "
                    f"CA certificate")


def test_a_certificate_for_another_host_name_is_a_host_name_mismatch(tls_server, certificates):
    address = f"127.0.0.1:{tls_server()}"  # the certificate names localhost only
    assert preflight_refusal(tls_settings(address, certificates)) == (
        f"TLS verification failed: the certificate of {address} is not issued for the host name "
        f"127.0.0.1 (a host name mismatch): connect by a name or address the certificate lists")


def test_a_listener_that_asks_for_a_client_certificate_says_so(tls_server, certificates):
    address = f"localhost:{tls_server(client_certificate=True)}"
    assert preflight_refusal(tls_settings(address, certificates)) == (
        f"TLS verification failed: the broker at {address} asks for a client certificate: give "
        f"ssl.certificate.location and ssl.key.location")


def test_a_plaintext_client_at_a_tls_listener_is_told_the_listener_speaks_another_protocol(
        tls_server):
    address = f"localhost:{tls_server()}"
    assert preflight_refusal({"bootstrap_servers": address}).startswith(
        f"the listener at {address} speaks another protocol: the client used PLAINTEXT (no "
        f"--client-config); the listener expects TLS")


def test_a_tls_peer_that_is_not_kafka_or_no_listener_at_all_is_left_to_the_client(
        tls_server, certificates, unused_address):
    # a verified handshake, then no Kafka answer: nothing to say here
    preflight.check_connection(tls_settings(f"localhost:{tls_server()}", certificates), 5)
    preflight.check_connection(tls_settings(unused_address, certificates), 5)
