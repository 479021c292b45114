"""Why a Kafka broker refuses a client, in the lab's words: one line that names the user (the
principal the broker sees, never a password) and says what to change or what the
administrator should grant.

    authentication failed for producer with SCRAM-SHA-512 at 127.0.0.1:9092: ...
    TLS verification failed: the certificate of 127.0.0.1:9092 is not signed by a CA ...
    the listener at 127.0.0.1:9092 speaks another protocol: the client used PLAINTEXT ...
    not authorized to WRITE topic versicolor as User:consumer: ask the administrator ...

irislab/preflight.py meets the first three on its one connection before a client is built;
`refusal` translates the errors a running client raises (TopicAuthorizationFailedError,
GroupAuthorizationFailedError, the idempotent producer's refused InitProducerId, ...).
`settings` is the clients' keyword arguments (irislab.cli.client_settings, or a client's own
.config). Imports kafka-python's errors and irislab.errors alone.
"""

import shlex
from contextlib import contextmanager

from kafka.errors import (AuthorizationError, ClusterAuthorizationFailedError, KafkaError,
                          GroupAuthorizationFailedError, SaslAuthenticationFailedError,
                          TopicAuthorizationFailedError)

from irislab.errors import AccessError

# each operation as a message names it, and as kafka-acls --operation spells it
ACL_OPERATIONS = {"READ": "Read", "WRITE": "Write", "CREATE": "Create", "DELETE": "Delete",
                  "DESCRIBE": "Describe", "IdempotentWrite": "IdempotentWrite"}

# OpenSSL's X509_V_ERR_* codes (ssl.SSLCertVerificationError.verify_code)
HOST_NAME_MISMATCH = {62, 64}          # a host name, or an IP address, the certificate lacks
UNTRUSTED_ISSUER = {2, 18, 19, 20, 21}  # no chain to a CA the client trusts (self-signed too)
EXPIRED, NOT_YET_VALID = 10, 9

# what a listener speaks, when it is not what the client used (preflight.py tells them
# apart), and what to use; {tls}: whether the client used TLS
LISTENERS = {
    "TLS": "expects TLS: set security.protocol to SSL or SASL_SSL (as the cluster's "
           "client.properties says)",
    "PLAINTEXT": "speaks Kafka without TLS: set security.protocol to PLAINTEXT or "
                 "SASL_PLAINTEXT",
    "SASL": "expects a SASL login first: set security.protocol to {sasl}, with sasl.mechanism, "
            "sasl.username and sasl.password",
    "NO SASL": "takes no SASL login: set security.protocol to {no_sasl}",
}


def protocol(settings):
    return settings.get("security_protocol") or "PLAINTEXT"


def principal(settings):
    """The principal the broker authorizes: User:NAME for a SASL login; with TLS and a client
    certificate, its subject; else User:ANONYMOUS."""
    if protocol(settings).startswith("SASL_"):
        return "User:" + settings["sasl_plain_username"]
    if protocol(settings) in ("SSL", "SASL_SSL") and settings.get("ssl_certfile"):
        return f"User:<the subject of {settings['ssl_certfile']}>"
    return "User:ANONYMOUS"


def grant(settings, operation, resource, names=()):
    """The kafka-acls command that grants it (its connection options left out)."""
    target = ("--cluster" if resource == "cluster"
              else " ".join(f"--{resource} {shlex.quote(name)}" for name in names))
    return (f"kafka-acls ... --add --allow-principal {principal(settings)} "
            f"--operation {ACL_OPERATIONS[operation]} {target}")


def not_authorized(settings, operation, resource, names=(), note="", instead=""):
    """`operation` on a topic, group or the cluster refused by the broker's ACLs. note: why the
    command needs it; instead: what else the administrator could do."""
    what = "on the cluster" if resource == "cluster" else f"{resource} {', '.join(names)}"
    return AccessError(f"not authorized to {operation} {what} as {principal(settings)}"
                       + (f" ({note})" if note else "") + ": ask the administrator "
                       + (f"{instead}, or " if instead else "")
                       + f"to grant it ({grant(settings, operation, resource, names)})")


def idempotent_write_refused(settings):
    return not_authorized(settings, "IdempotentWrite", "cluster",
                          note="the idempotent producer asks for a producer id first, "
                               "InitProducerId, which needs WRITE on a topic or "
                               "IdempotentWrite on the cluster")


def cannot_create(settings, topics):
    return not_authorized(settings, "CREATE", "topic", topics,
                          note="it does not exist" if len(topics) == 1 else "they do not exist",
                          instead="to create the lab's topics (python -m irislab.admin with "
                                  "the administrator's --client-config)")


def authentication_failed(settings, address, why="the broker refused the user name and "
                                                 "password (sasl.username and sasl.password, "
                                                 "or sasl.jaas.config)"):
    return AccessError(f"authentication failed for {settings['sasl_plain_username']} with "
                       f"{settings['sasl_mechanism']} at {address}: {why}")


def mechanism_not_offered(settings, address, offered):
    return authentication_failed(
        settings, address, f"the listener does not offer {settings['sasl_mechanism']}, but "
                           f"{', '.join(offered) or 'no mechanism'}: set sasl.mechanism to it")


def tls_verification_failed(error, settings, address):
    """The broker's certificate refused by the client (an ssl.SSLCertVerificationError):
    issued by a CA the client does not trust, for another host name, or out of date."""
    host = address.rpartition(":")[0]
    code = getattr(error, "verify_code", None)
    if code in HOST_NAME_MISMATCH:
        why = (f"the certificate of {address} is not issued for the host name {host} (a host "
               f"name mismatch): connect by a name or address the certificate lists")
    elif code in UNTRUSTED_ISSUER:
        trusted = (f"only the CA in {settings['ssl_cafile']} (ssl.ca.location)"
                   if settings.get("ssl_cafile") else "the system's CAs (no ssl.ca.location)")
        why = (f"the certificate of {address} is not signed by a CA the client trusts (an "
               f"untrusted CA): the client trusts {trusted}; give it the cluster's CA "
               f"certificate")
    elif code == EXPIRED:
        why = f"the certificate of {address} has expired"
    elif code == NOT_YET_VALID:
        why = f"the certificate of {address} is not valid yet (is this machine's clock right?)"
    else:
        why = f"the certificate of {address}: {getattr(error, 'verify_message', error)}"
    return AccessError("TLS verification failed: " + why)


def client_certificate_refused(error, address):
    """The broker refused the TLS connection for the client's own certificate (an ssl.SSLError
    carrying the broker's alert), or None if the error says nothing of it."""
    reason = getattr(error, "reason", None) or ""
    if reason == "TLSV13_ALERT_CERTIFICATE_REQUIRED":
        return AccessError(f"TLS verification failed: the broker at {address} asks for a client "
                           f"certificate: give ssl.certificate.location and ssl.key.location")
    if reason in ("TLSV1_ALERT_UNKNOWN_CA", "SSLV3_ALERT_BAD_CERTIFICATE",
                  "SSLV3_ALERT_CERTIFICATE_UNKNOWN"):
        return AccessError(f"TLS verification failed: the broker at {address} does not trust "
                           f"the client's certificate (ssl.certificate.location)")
    return None


def other_protocol(settings, address, listener):
    """The client spoke one protocol, the listener another (LISTENERS: what it speaks)."""
    used = (f"{settings['security_protocol']} (security.protocol)"
            if settings.get("security_protocol") else "PLAINTEXT (no --client-config)")
    tls = protocol(settings) in ("SSL", "SASL_SSL")
    speaks = LISTENERS[listener].format(sasl="SASL_SSL" if tls else "SASL_PLAINTEXT",
                                        no_sasl="SSL" if tls else "PLAINTEXT")
    return AccessError(f"the listener at {address} speaks another protocol: the client used "
                       f"{used}; the listener {speaks}")


def refused_names(error):
    """The topic or group names a kafka-python authorization error carries: a name, a set of
    names, or a text ending in GROUP/NAME."""
    if not error.args:
        return []
    named = error.args[0]
    if isinstance(named, str):
        return [named.rstrip(": ").rpartition("/")[2]] if named else []
    return sorted(named)


def refusal(error, settings, operation="DESCRIBE", group=None):
    """The AccessError for a kafka-python error that is the broker refusing the client (an
    ACL or the login) while the command did `operation` (READ, WRITE) on its topics and READ
    on `group`; None for any other error."""
    if isinstance(error, TopicAuthorizationFailedError):
        return not_authorized(settings, operation, "topic", refused_names(error))
    if isinstance(error, GroupAuthorizationFailedError):
        return not_authorized(settings, "READ", "group", [group] if group else refused_names(error))
    # kafka-python reports a refused InitProducerId only as text: "Unexpected error in
    # InitProducerIdResponse: [Error 31] ClusterAuthorizationFailedError"
    text = str(error)
    if operation == "WRITE" and (isinstance(error, ClusterAuthorizationFailedError) or (
            "InitProducerId" in text and ClusterAuthorizationFailedError.__name__ in text)):
        return idempotent_write_refused(settings)
    if isinstance(error, AuthorizationError):
        return AccessError(f"not authorized as {principal(settings)}: {error}")
    if isinstance(error, SaslAuthenticationFailedError):
        return authentication_failed(settings, settings.get("bootstrap_servers", "the broker"))
    return None


@contextmanager
def refusals_explained(settings, operation, group=None):
    """A refusal that a running client raises (refusal()) becomes its AccessError."""
    try:
        yield
    except KafkaError as e:
        refused = refusal(e, settings, operation, group)
        if refused is None:
            raise
        raise refused from None


def explain(error, settings, operation="DESCRIBE"):
    """An error as a record's delivery report shows it: a refusal in the lab's words."""
    refused = refusal(error, settings, operation) if isinstance(error, KafkaError) else None
    return str(refused) if refused is not None else str(error)
