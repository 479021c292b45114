"""The TLS certificates of a secured local cluster, made with the `cryptography` package: a
certificate authority (CA) made for the run, and the brokers' certificate it signs.

    ca.pem       the CA's certificate: what clients trust (ssl.ca.location), and the
                 brokers too (their truststore)
    broker.pem   the brokers' private key, their certificate and the CA's (a PEM keystore,
                 which Kafka reads with ssl.keystore.type=PEM); mode 600

The brokers' certificate names every address a client may connect to, localhost and
127.0.0.1, so that clients check the host name as they should (Java and kafka-python do by
default). It serves the controller listener's mutual TLS too: a broker presents it when it
connects to a controller. The CA's private key is never written: it signs the brokers'
certificate and is gone, so no one can issue another certificate this cluster trusts.
"""

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from irislab.broker.configs import write_private

CA_NAME = "irislab local CA"
# the brokers' certificate subject: its principal on the controller listener is User:broker
# (ssl.principal.mapping.rules takes the CN), the same user as its SCRAM login
BROKER_NAME = "broker"
HOST_NAMES = ("localhost",)
ADDRESSES = ("127.0.0.1",)
VALID_DAYS = 365


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key():
    # P-256: made in a millisecond (an RSA key takes a tenth of a second), and read by
    # Java, OpenSSL (kafka-python, librdkafka) alike
    return ec.generate_private_key(ec.SECP256R1())


def _certificate(subject, issuer, public_key, signing_key, extensions):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(subject).issuer_name(issuer).public_key(public_key)
               .serial_number(x509.random_serial_number())
               # a minute back: a clock a little behind does not find it not yet valid
               .not_valid_before(now - datetime.timedelta(minutes=1))
               .not_valid_after(now + datetime.timedelta(days=VALID_DAYS)))
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signing_key, hashes.SHA256())


def _pem(certificate):
    return certificate.public_bytes(serialization.Encoding.PEM)


def make_certificates(folder):
    """A new CA and the brokers' certificate, written to folder/ca.pem and
    folder/broker.pem; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, broker_key = _key(), _key()
    ca = _certificate(_name(CA_NAME), _name(CA_NAME), ca_key.public_key(), ca_key, [
        (x509.BasicConstraints(ca=True, path_length=0), True),
        (x509.KeyUsage(digital_signature=False, content_commitment=False,
                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                       key_cert_sign=True, crl_sign=True, encipher_only=False,
                       decipher_only=False), True),
        (x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False),
    ])
    broker = _certificate(_name(BROKER_NAME), ca.subject, broker_key.public_key(), ca_key, [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (x509.KeyUsage(digital_signature=True, content_commitment=False,
                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                       key_cert_sign=False, crl_sign=False, encipher_only=False,
                       decipher_only=False), True),
        # a server to clients, a client to the controllers
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                ExtendedKeyUsageOID.CLIENT_AUTH]), False),
        (x509.SubjectAlternativeName(
            [x509.DNSName(name) for name in HOST_NAMES]
            + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ADDRESSES]), False),
        (x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False),
    ])
    ca_file, broker_file = folder / "ca.pem", folder / "broker.pem"
    ca_file.write_bytes(_pem(ca))
    # PKCS#8 without a password: Kafka's PEM keystore reads it when ssl.key.password is unset
    key = broker_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption())
    write_private(broker_file, key + _pem(broker) + _pem(ca))
    return ca_file, broker_file
