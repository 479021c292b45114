"""One connection to the cluster, made with the client's own settings before any client is
built, to say why it fails when it does.

kafka-python, given a broker certificate it does not trust, a wrong password or the wrong
security.protocol, logs the cause and tries again until its timeout, so all a user would
read is "cannot reach a Kafka broker". Here the first broker that accepts a TCP connection is
asked, step by step, what a client asks: the TLS handshake (with the client's CA, host name
check and certificate), ApiVersions, then the SASL login, or a Metadata request where no
login is configured. A step that fails says why (irislab/access.py words it):

    the broker's certificate refused       TLS verification failed: an untrusted CA, a host
                                           name mismatch, out of date
    TLS refused, plain Kafka answers       the listener speaks another protocol (PLAINTEXT)
    plain Kafka refused, TLS answers       the listener speaks another protocol (TLS)
    Metadata before a login: closed        the listener expects a SASL login
    SaslHandshake refused                  the listener takes no SASL login, or offers other
                                           mechanisms
    the login refused                      authentication failed for USER with MECHANISM

Nothing conclusive (nothing listens, a silent or non-Kafka peer): check_connection returns,
and the client then reports what it sees. The Kafka requests are kafka-python's own
(kafka.protocol), sent on a blocking socket.
"""

import socket
import ssl
import time

from kafka.errors import KafkaError
from kafka.net.sasl import get_sasl_mechanism
from kafka.protocol.metadata import ApiVersionsRequest, MetadataRequest
from kafka.protocol.parser import KafkaProtocol
from kafka.protocol.sasl import SaslAuthenticateRequest, SaslHandshakeRequest

from irislab import access


class Inconclusive(Exception):
    """The peer did not answer in a way that says why."""


class Closed(Exception):
    """The peer closed the connection."""


def check_connection(settings, timeout):
    """Raise irislab.errors.AccessError if the first broker of settings["bootstrap_servers"]
    that accepts a connection refuses the client's TLS, protocol or login, within `timeout`
    seconds. Return that broker's address if it accepts them, None if nothing says."""
    deadline = time.monotonic() + timeout
    for address in settings["bootstrap_servers"].split(","):
        host, _, port = address.rpartition(":")
        host = host.strip("[]")  # an IPv6 address
        try:
            sock = socket.create_connection((host, int(port)), timeout=left(deadline))
        except OSError:
            continue  # nothing listens there: the client tries the others and says so
        try:
            Probe(settings, address, host, int(port), deadline).run(sock)
        except Inconclusive:
            return None
        return address
    return None


def left(deadline):
    return max(deadline - time.monotonic(), 0.001)


class Probe:
    """The steps of one broker's connection, as a client with `settings` takes them."""

    def __init__(self, settings, address, host, port, deadline):
        self.settings, self.address, self.host, self.port = settings, address, host, port
        self.deadline = deadline
        self.protocol = access.protocol(settings)
        self.tls = self.protocol in ("SSL", "SASL_SSL")

    def run(self, sock):
        with sock:
            if self.tls:
                sock = self.tls_handshake(sock)
            wire = Wire(sock, self.deadline)
            try:
                versions = wire.ask(ApiVersionsRequest(version=0))
            except ssl.SSLError as e:  # TLS 1.3: the broker's verdict on our certificate
                raise access.client_certificate_refused(e, self.address) or Inconclusive() from None
            except (OSError, Closed, KafkaError):
                if not self.tls and self.answers_tls():
                    raise access.other_protocol(self.settings, self.address, "TLS") from None
                raise Inconclusive() from None
            if self.protocol.startswith("SASL_"):
                self.log_in(wire)
            else:
                self.ask_metadata(wire, versions)

    def connect(self):
        return socket.create_connection((self.host, self.port), timeout=left(self.deadline))

    def tls_handshake(self, sock):
        sock.settimeout(left(self.deadline))
        try:
            return tls_context(self.settings).wrap_socket(sock, server_hostname=self.host)
        except ssl.SSLCertVerificationError as e:
            raise access.tls_verification_failed(e, self.settings, self.address) from None
        except ssl.SSLError as e:
            refused = access.client_certificate_refused(e, self.address)
            if refused:
                raise refused from None
            self.plain_kafka_or_inconclusive()
        except OSError:  # closed or reset: a Kafka listener without TLS takes the TLS
            self.plain_kafka_or_inconclusive()  # hello for a request far too large

    def plain_kafka_or_inconclusive(self):
        try:
            with self.connect() as sock:
                Wire(sock, self.deadline).ask(ApiVersionsRequest(version=0))
        except (OSError, Closed, KafkaError):
            raise Inconclusive() from None
        raise access.other_protocol(self.settings, self.address, "PLAINTEXT") from None

    def answers_tls(self):
        """Whether the listener completes a TLS handshake (whoever its certificate names)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        try:
            with self.connect() as sock:
                context.wrap_socket(sock).close()
        except OSError:  # ssl.SSLError included
            return False
        return True

    def ask_metadata(self, wire, versions):
        """A listener that expects a login closes the connection on any request but
        ApiVersions and the SASL ones."""
        [(lowest, highest)] = [(v.min_version, v.max_version) for v in versions.api_keys
                               if v.api_key == MetadataRequest.API_KEY] or [(0, 0)]
        version = max(lowest, min(highest, MetadataRequest.max_version))
        try:
            wire.ask(MetadataRequest(topics=[], version=version))
        except Closed:
            raise access.other_protocol(self.settings, self.address, "SASL") from None
        except (OSError, KafkaError):
            raise Inconclusive() from None

    def log_in(self, wire):
        """SaslHandshake, then SaslAuthenticate until the mechanism is done, as kafka-python's
        connection does (kafka/net/connection.py)."""
        settings = self.settings
        try:
            handshake = wire.ask(SaslHandshakeRequest(mechanism=settings["sasl_mechanism"],
                                                      version=1))
        except (OSError, Closed, KafkaError):
            raise Inconclusive() from None
        if handshake.error_code == 34:  # ILLEGAL_SASL_STATE: a listener without SASL
            raise access.other_protocol(settings, self.address, "NO SASL")
        if handshake.error_code:
            raise access.mechanism_not_offered(settings, self.address, handshake.mechanisms)
        mechanism = get_sasl_mechanism(settings["sasl_mechanism"])(host=self.host, **settings)
        while not mechanism.is_done():
            try:
                answer = wire.ask(SaslAuthenticateRequest(auth_bytes=mechanism.auth_bytes(),
                                                          version=0))
            except Closed:  # a broker may close at once on a failed login
                raise access.authentication_failed(settings, self.address) from None
            except (OSError, KafkaError):
                raise Inconclusive() from None
            if answer.error_code:
                raise access.authentication_failed(settings, self.address)
            mechanism.receive(answer.auth_bytes)
        if not mechanism.is_authenticated():
            raise access.authentication_failed(settings, self.address)


def tls_context(settings):
    """The TLS context kafka-python builds from these settings (kafka/net/transport.py)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = settings.get("ssl_check_hostname", True)
    if settings.get("ssl_cafile"):
        context.load_verify_locations(settings["ssl_cafile"])
    else:
        context.load_default_certs()
    if settings.get("ssl_certfile"):
        context.load_cert_chain(settings["ssl_certfile"], settings.get("ssl_keyfile"),
                                settings.get("ssl_password"))
    return context


class Wire:
    """Kafka requests and their responses on a blocking socket, each by the deadline."""

    def __init__(self, sock, deadline):
        self.sock, self.deadline = sock, deadline
        self.kafka = KafkaProtocol(client_id="irislab-preflight")

    def ask(self, request):
        self.kafka.send_request(request)
        self.sock.settimeout(left(self.deadline))
        try:
            self.sock.sendall(self.kafka.send_bytes())
        except OSError:
            self.sock.recv(1)  # the peer's TLS alert, if it closed with one, says why
            raise
        while True:
            self.sock.settimeout(left(self.deadline))
            data = self.sock.recv(65536)
            if not data:
                raise Closed()
            responses = self.kafka.receive_bytes(data)
            if responses:
                return responses[0][1]
