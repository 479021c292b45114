"""Kafka client settings from a `client.properties` file, the file that managed Kafka services
and Kafka's own tools hand out, turned into kafka-python's keyword arguments.

    settings = read_client_config("client.properties")
    KafkaConsumer(**settings)        # also KafkaProducer, KafkaAdminClient

The file is a Java properties file: `key=value` or `key: value` lines, `#` and `!` comment
lines, blank lines, whitespace around keys and values ignored, a line ending in a backslash
continued on the next, and Java's backslash escapes (`\\\\`, `\\=`, `\\:`, `\\t`, `\\uXXXX`; a
backslash before any other character is dropped, so a Windows path is written C:/certs/ca.pem
or C:\\\\certs\\\\ca.pem). The value of a key given twice is the last one, as in Java. Paths are
taken as written, relative to the current folder, as Kafka's tools do.

Keys read, in either spelling (librdkafka / Confluent, or Java):

    bootstrap.servers                   HOST:PORT[,HOST:PORT...]   -> bootstrap_servers
    security.protocol                   PLAINTEXT (the default), SSL, SASL_PLAINTEXT, SASL_SSL,
                                        any case                   -> security_protocol
    sasl.mechanism / sasl.mechanisms    PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 -> sasl_mechanism
    sasl.username, sasl.password        librdkafka's login         -> sasl_plain_username/_password
    sasl.jaas.config                    Java's login: PlainLoginModule (PLAIN) or ScramLoginModule
                                        (SCRAM-*) `required username="..." password="...";`
    ssl.ca.location                     PEM file of CA certificates -> ssl_cafile
                                        (`probe`, or no CA at all: the system's CAs)
    ssl.truststore.location (+ ssl.truststore.type=PEM)              -> ssl_cafile
    ssl.certificate.location, ssl.key.location    the client's PEM certificate and key
                                                  -> ssl_certfile, ssl_keyfile
    ssl.keystore.location (+ ssl.keystore.type=PEM)  one PEM with the key and its certificate
                                                  chain                -> ssl_certfile
    ssl.key.password                    the client key's password  -> ssl_password
    ssl.endpoint.identification.algorithm   https (the default): check the broker's host name;
                                        empty or none: don't      -> ssl_check_hostname
    client.id                           -> client_id

Keys accepted and ignored, which managed services add to their files: `acks` (the lab's
producer always writes with acks=all), `session.timeout.ms` (the lab's consumers keep their
own), `client.dns.lookup` (kafka-python tries every address of a name anyway), and the schema
registry's `schema.registry.url`, `basic.auth.credentials.source`, `basic.auth.user.info`
(the lab uses no schema registry). Any other key is an error naming it.

Refused, each with a ClientConfigError whose one line names the file, line and key:
a missing or unreadable file; a line that is not key=value; an unknown key; a JKS or PKCS12
store (kafka-python reads PEM: the message gives the command that converts it), or a store
password (a PEM store has none, as in Kafka); a PEM file that is missing, does not hold what
its key says, or whose key does not load (checked now: OpenSSL would otherwise ask for a
missing key password on the terminal when connecting); a security.protocol or mechanism
kafka-python lacks or cannot take from a file (GSSAPI, OAUTHBEARER, AWS_MSK_IAM); SASL
without a mechanism (Kafka's clients would then use GSSAPI: name the mechanism instead) or
without a user name and password; sasl.* or ssl.* keys that the protocol would not use (a
file that sets a login but no SASL protocol has forgotten its security.protocol line).

Secrets (passwords, sasl.jaas.config, basic.auth.user.info) never appear in a message, and
the settings print with them hidden.
"""

import re
import ssl
from pathlib import Path

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
# the login module each mechanism needs in sasl.jaas.config
LOGIN_MODULES = {"PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
                 "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
                 "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule"}
MECHANISMS = tuple(LOGIN_MODULES)
SUPPORTED = "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"
# mechanisms kafka-python knows but cannot be given by a file
NOT_FROM_A_FILE = {
    "GSSAPI": "Kerberos needs the gssapi package and a Kerberos login",
    "OAUTHBEARER": "kafka-python needs a token provider object, which a file cannot give",
    "AWS_MSK_IAM": "kafka-python needs the botocore package and AWS credentials for it",
}

READ = {"bootstrap.servers", "security.protocol", "sasl.mechanism", "sasl.mechanisms",
        "sasl.username", "sasl.password", "sasl.jaas.config", "ssl.ca.location",
        "ssl.truststore.location", "ssl.truststore.type", "ssl.truststore.password",
        "ssl.certificate.location", "ssl.key.location", "ssl.keystore.location",
        "ssl.keystore.type", "ssl.keystore.password", "ssl.key.password",
        "ssl.endpoint.identification.algorithm", "client.id"}
IGNORED = {"acks", "session.timeout.ms", "client.dns.lookup", "schema.registry.url",
           "basic.auth.credentials.source", "basic.auth.user.info"}
# PEM text inside the file itself: kafka-python takes files only
INLINE_PEM = {"ssl.ca.pem": "ssl.ca.location", "ssl.certificate.pem": "ssl.certificate.location",
              "ssl.key.pem": "ssl.key.location",
              "ssl.truststore.certificates": "ssl.truststore.location",
              "ssl.keystore.certificate.chain": "ssl.keystore.location",
              "ssl.keystore.key": "ssl.keystore.location"}

HOST_NAME = re.compile(r"[\w.-]+|\[[0-9a-fA-F:.]+\]")  # a name, IPv4, or IPv6 in brackets


class ClientConfigError(ValueError):
    """A client.properties the clients cannot use; the message is one line and names the
    file, line and key, never a secret."""


class KafkaSettings(dict):
    """kafka-python's keyword arguments; printed with the passwords hidden."""

    SECRETS = ("sasl_plain_password", "ssl_password")

    def __repr__(self):
        return repr({key: "******" if key in self.SECRETS and value is not None else value
                     for key, value in self.items()})

    __str__ = __repr__


def bootstrap_list(text):
    """HOST:PORT, or a comma-separated list of them, with spaces around each dropped;
    ClientConfigError names the whole text otherwise."""
    for address in text.split(","):
        host, sep, port = address.strip().rpartition(":")
        if (not sep or not HOST_NAME.fullmatch(host) or not port.isdigit()
                or not 0 < int(port) < 65536):
            raise ClientConfigError(f"{text!r} is not HOST:PORT or a comma-separated list of them")
    return ",".join(address.strip() for address in text.split(","))


# --- the properties file

ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def unescape(text):
    """Java's properties escapes; None for a malformed \\uXXXX."""
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            char = text[i + 1]
            i += 2
            if char == "u":
                digits = text[i:i + 4]
                if not re.fullmatch(r"[0-9a-fA-F]{4}", digits):
                    return None
                out.append(chr(int(digits, 16)))
                i += 4
            else:
                out.append(ESCAPES.get(char, char))
        else:
            out.append(char)
            i += 1
    return "".join(out)


def continues(line):
    """A line ending in an odd number of backslashes goes on on the next line."""
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


def split_property(line):
    """(key, value) of a logical line; None when it has no `=` or `:` after its key.
    ValueError for a malformed \\uXXXX escape."""
    i = 0
    while i < len(line) and line[i] not in "=: \t\f":
        i += 2 if line[i] == "\\" else 1
    key, rest = line[:i], line[i:].lstrip(" \t\f")
    if not key or not rest or rest[0] not in "=:":
        return None
    key, value = unescape(key), unescape(rest[1:])
    if key is None or value is None:
        raise ValueError("a malformed \\uXXXX escape")
    return key.strip(), value.strip()


def read_properties(path):
    """{key: (value, line number)} of a properties file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ClientConfigError(f"{path} is not a text file (UTF-8)") from None
    except IsADirectoryError:
        raise ClientConfigError(f"{path} is a folder, not a client.properties file") from None
    except OSError as e:
        raise ClientConfigError(f"cannot read {path}: {e.strerror}") from None
    properties = {}
    lines = text.splitlines()
    at = 0
    while at < len(lines):
        number, line = at + 1, lines[at].lstrip(" \t\f")
        at += 1
        if not line or line[0] in "#!":
            continue
        while continues(line):
            line = line[:-1]
            if at < len(lines):
                line += lines[at].lstrip(" \t\f")
                at += 1
        # the line is never echoed: it may be a password that lost its key
        try:
            pair = split_property(line)
        except ValueError as e:
            raise ClientConfigError(f"{path}, line {number}: {e}") from None
        if pair is None or not pair[0]:
            raise ClientConfigError(f"{path}, line {number}: not key=value")
        properties[pair[0]] = (pair[1], number)
    return properties


# --- sasl.jaas.config

JAAS_TOKEN = re.compile(r"""\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'|([=;])|([^\s=;"']+))""")
JAAS_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "a": "\a", "v": "\v"}
CONTROL_FLAGS = {"required", "requisite", "sufficient", "optional"}
SAFE_NAME = re.compile(r"[A-Za-z_][\w.-]*")


def jaas_tokens(text):
    """(kind, text) pairs: 'word', 'quoted', or the punctuation itself; None if malformed."""
    tokens, at = [], 0
    while text[at:].strip():
        token = JAAS_TOKEN.match(text, at)
        if token is None:  # an unterminated quote
            return None
        double, single, punctuation, word = token.groups()
        if punctuation:
            tokens.append((punctuation, punctuation))
        elif word is not None:
            tokens.append(("word", word))
        else:
            quoted = double if double is not None else single
            tokens.append(("quoted", re.sub(r"\\(.)", lambda m: JAAS_ESCAPES.get(m[1], m[1]),
                                            quoted)))
        at = token.end()
    return tokens


def parse_jaas(text):
    """(login module, {option: value}) of a one-module JAAS configuration,
    `Module flag name=value ... ;`. ValueError says what is wrong without quoting the text."""
    tokens = jaas_tokens(text)
    if tokens is None:
        raise ValueError("has a quote that is not closed")
    if len(tokens) < 2 or tokens[0][0] != "word" or tokens[1][0] != "word":
        raise ValueError('is not `LoginModule required username="..." password="...";`')
    if tokens[1][1].lower() not in CONTROL_FLAGS:
        raise ValueError("needs a control flag after the login module: required")
    options, at = {}, 2
    while at < len(tokens) and tokens[at][0] != ";":
        name = tokens[at]
        if (name[0] != "word" or tokens[at + 1:at + 2] != [("=", "=")]
                or at + 2 >= len(tokens) or tokens[at + 2][0] not in ("word", "quoted")):
            raise ValueError('has something other than name="value" options')
        if name[1] in options:
            shown = repr(name[1]) if SAFE_NAME.fullmatch(name[1]) else "an option"
            raise ValueError(f"gives {shown} twice")
        options[name[1]] = tokens[at + 2][1]
        at += 3
    if at == len(tokens):
        raise ValueError("must end with ';'")
    if at != len(tokens) - 1:
        raise ValueError("must hold exactly one login module, ended by ';'")
    return tokens[0][1], options


# --- the settings

def read_client_config(path):
    """The kafka-python settings a client.properties file gives (a KafkaSettings; it holds
    bootstrap_servers only if the file does). ClientConfigError says why the file won't do."""
    return ClientConfig(path, read_properties(path)).settings()


class ClientConfig:
    """One file's properties on their way to kafka-python's settings; every error names
    the file, the line and the key."""

    def __init__(self, path, properties):
        self.path, self.properties = path, properties

    def __repr__(self):  # the properties hold secrets
        return f"ClientConfig({str(self.path)!r})"

    def value(self, key, default=None):
        return self.properties[key][0] if key in self.properties else default

    def error(self, key, message):
        number = self.properties[key][1]
        return ClientConfigError(f"{self.path}, line {number}: {key} {message}")

    def settings(self):
        for key in self.properties:
            if key in INLINE_PEM:
                raise self.error(key, f"(PEM text in the file) is not supported: put it in a "
                                      f"file and name that file with {INLINE_PEM[key]}")
            if key not in READ and key not in IGNORED:
                raise ClientConfigError(f"{self.path}, line {self.properties[key][1]}: "
                                        f"unknown key {key!r} (not one irislab reads)")
        settings = KafkaSettings()
        if "bootstrap.servers" in self.properties:
            try:
                settings["bootstrap_servers"] = bootstrap_list(self.value("bootstrap.servers"))
            except ClientConfigError as e:
                raise self.error("bootstrap.servers", str(e)) from None
        protocol = self.value("security.protocol", "PLAINTEXT").upper()
        if protocol not in PROTOCOLS:
            raise self.error("security.protocol", f"{self.value('security.protocol')!r} is "
                                                  f"not one of {', '.join(PROTOCOLS)}")
        settings["security_protocol"] = protocol
        if self.value("client.id"):
            settings["client_id"] = self.value("client.id")
        self.check_used("sasl.", protocol.startswith("SASL_"), "SASL_SSL")
        self.check_used("ssl.", protocol in ("SSL", "SASL_SSL"), "SSL or SASL_SSL")
        if protocol.startswith("SASL_"):
            settings.update(self.sasl(protocol))
        if protocol in ("SSL", "SASL_SSL"):
            settings.update(self.tls())
        return settings

    def check_used(self, prefix, used, protocols):
        """sasl.* or ssl.* keys the protocol would not use: a security.protocol line forgotten
        or wrong, which would otherwise show only as a failed connection."""
        if not used:
            for key in self.properties:
                if key.startswith(prefix):
                    protocol = self.value("security.protocol", "PLAINTEXT (the default)")
                    raise self.error(key, f"has no use with security.protocol {protocol}: "
                                          f"set security.protocol to {protocols}")

    def sasl(self, protocol):
        keys = [key for key in ("sasl.mechanism", "sasl.mechanisms") if key in self.properties]
        if not keys:
            raise self.error("security.protocol", f"{protocol} needs sasl.mechanism: Kafka's "
                                                  f"clients would use GSSAPI (Kerberos), which "
                                                  f"irislab cannot; set it to {SUPPORTED}")
        mechanism = self.value(keys[-1]).upper()
        if len(keys) == 2 and self.value(keys[0]).upper() != mechanism:
            raise self.error(keys[-1], "and sasl.mechanism differ: give one of them")
        if mechanism in NOT_FROM_A_FILE:
            raise self.error(keys[-1], f"{mechanism} is not supported: "
                                       f"{NOT_FROM_A_FILE[mechanism]}; use {SUPPORTED}")
        if mechanism not in MECHANISMS:
            raise self.error(keys[-1], f"{self.value(keys[-1])!r} is not a mechanism "
                                       f"kafka-python has; use {SUPPORTED}")
        if "sasl.jaas.config" in self.properties:
            for key in ("sasl.username", "sasl.password"):
                if key in self.properties:
                    raise self.error(key, "and sasl.jaas.config both give the login: keep one")
            username, password = self.jaas_login(mechanism)
        else:
            username, password = self.value("sasl.username"), self.value("sasl.password")
        if not username or not password:
            where = next((k for k in ("sasl.jaas.config", "sasl.username", "sasl.password")
                          if k in self.properties), keys[-1])
            raise self.error(where, f"(SASL {mechanism}) lacks a user name or a password: give "
                                    f"sasl.username and sasl.password, or sasl.jaas.config")
        return {"sasl_mechanism": mechanism, "sasl_plain_username": username,
                "sasl_plain_password": password}

    def jaas_login(self, mechanism):
        try:
            module, options = parse_jaas(self.value("sasl.jaas.config"))
        except ValueError as e:
            raise self.error("sasl.jaas.config", str(e)) from None
        if module != LOGIN_MODULES[mechanism]:
            # a module's name is shown only when it looks like one: the text may be a password
            name = module if re.fullmatch(r"[\w$.]*LoginModule", module) else "another module"
            raise self.error("sasl.jaas.config", f"names {name}, but sasl.mechanism "
                                                 f"{mechanism} needs {LOGIN_MODULES[mechanism]}")
        for name in options:
            if name not in ("username", "password"):
                shown = repr(name) if SAFE_NAME.fullmatch(name) else "an option"
                raise self.error("sasl.jaas.config", f"has {shown}: irislab reads only "
                                                     f"username and password")
        return options.get("username"), options.get("password")

    def tls(self):
        settings = {}
        for librdkafka, java in (("ssl.ca.location", "ssl.truststore.location"),
                                 ("ssl.certificate.location", "ssl.keystore.location"),
                                 ("ssl.key.location", "ssl.keystore.location")):
            if librdkafka in self.properties and java in self.properties:
                raise self.error(java, f"and {librdkafka} both give it: keep one")
        for store in ("truststore", "keystore"):
            self.check_store_settings(store)

        trust_key = next((key for key in ("ssl.ca.location", "ssl.truststore.location")
                          if key in self.properties), None)
        # librdkafka's `probe`, or no CA named: the system's CAs, which kafka-python loads
        if trust_key and self.value(trust_key) != "probe":
            cafile = self.pem_file(trust_key, "CERTIFICATE")
            try:
                ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile)
            except ssl.SSLError as e:
                raise self.error(trust_key, f"{cafile}: no CA certificate kafka-python can "
                                            f"use ({e.reason})") from None
            settings["ssl_cafile"] = cafile

        certfile = keyfile = None
        if "ssl.keystore.location" in self.properties:
            cert_key = "ssl.keystore.location"
            certfile = self.pem_file(cert_key, "PRIVATE KEY", "CERTIFICATE")
        elif "ssl.certificate.location" in self.properties:
            cert_key = "ssl.certificate.location"
            certfile = self.pem_file(cert_key, "CERTIFICATE")
            if "ssl.key.location" in self.properties:
                keyfile = self.pem_file("ssl.key.location", "PRIVATE KEY")
        elif "ssl.key.location" in self.properties:
            raise self.error("ssl.key.location", "needs ssl.certificate.location too")
        password = self.value("ssl.key.password") or None
        if certfile:
            try:
                # now rather than when connecting, where OpenSSL would ask for a missing
                # password on the terminal
                ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(
                    certfile, keyfile, password=lambda: (password or "").encode())
            except ssl.SSLError as e:
                encrypted = b"ENCRYPTED" in Path(keyfile or certfile).read_bytes()
                why = ("is ssl.key.password right?" if encrypted and password else
                       "the key is encrypted: give ssl.key.password" if encrypted else
                       "the key must be the certificate's")
                reason = f" ({e.reason})" if e.reason else ""
                raise self.error(cert_key, f"{certfile}: the certificate and key do not "
                                           f"load{reason}: {why}") from None
            settings.update(ssl_certfile=certfile, ssl_keyfile=keyfile, ssl_password=password)
        elif "ssl.key.password" in self.properties:
            raise self.error("ssl.key.password", "has no key to open: give ssl.key.location "
                                                 "or ssl.keystore.location")

        check = self.value("ssl.endpoint.identification.algorithm", "https").lower()
        if check not in ("https", "", "none"):
            raise self.error("ssl.endpoint.identification.algorithm",
                             f"{check!r} is not https, none or empty")
        settings["ssl_check_hostname"] = check == "https"
        return settings

    def check_store_settings(self, store):
        """ssl.truststore.* and ssl.keystore.*: PEM stores only, which have no password."""
        type_key = f"ssl.{store}.type"
        declared = self.value(type_key, "PEM").upper()
        if declared in ("JKS", "PKCS12"):
            path = self.value(f"ssl.{store}.location", f"{store}.{declared.lower()}")
            raise self.error(type_key, f"{declared}: kafka-python reads PEM; "
                                       f"{conversion(store, path, declared == 'PKCS12')}, and "
                                       f"set {type_key}=PEM")
        if declared != "PEM":
            raise self.error(type_key, f"{self.value(type_key)!r} is not PEM")
        if f"ssl.{store}.password" in self.properties:
            # Kafka's own clients refuse it too
            raise self.error(f"ssl.{store}.password", "has no use with a PEM store (an "
                                                      "encrypted key takes ssl.key.password)")

    def pem_file(self, key, *holds):
        """The file a key names; it must exist and hold a PEM block of each kind in holds.
        With no type given Java would take a store for JKS: a PEM file is taken as PEM."""
        path = self.value(key)
        store = "truststore" if key in ("ssl.ca.location", "ssl.truststore.location") \
            else "keystore"
        if not path:
            raise self.error(key, "is empty")
        if Path(path).suffix.lower() in (".jks", ".p12", ".pfx"):
            raise self.error(key, f"{path} is a Java or PKCS12 store; kafka-python reads PEM: "
                                  f"{conversion(store, path)}")
        try:
            text = Path(path).read_bytes()
        except FileNotFoundError:
            raise self.error(key, f"{path}: no such file") from None
        except IsADirectoryError:
            raise self.error(key, f"{path} is a folder: kafka-python needs one PEM "
                                  f"file") from None
        except OSError as e:
            raise self.error(key, f"{path}: {e.strerror}") from None
        if b"-----BEGIN " not in text:
            raise self.error(key, f"{path} is not PEM text, which kafka-python reads: if it "
                                  f"is a Java or PKCS12 store, {conversion(store, path)}")
        for kind in holds:
            if not re.search(rb"-----BEGIN [A-Z ]*" + kind.encode() + rb"-----", text):
                raise self.error(key, f"{path} holds no {kind} (PEM)")
        return path


def conversion(store, path, pkcs12=False):
    """The command that turns a Java (JKS) or PKCS12 store into the PEM file kafka-python
    reads."""
    if pkcs12 or Path(path).suffix.lower() in (".p12", ".pfx"):
        if store == "truststore":
            return f"convert it with: openssl pkcs12 -in {path} -nokeys -out ca.pem"
        return f"convert it with: openssl pkcs12 -in {path} -out client.pem -nodes"
    if store == "truststore":
        return (f"convert it with: keytool -exportcert -rfc -keystore {path} -alias ALIAS "
                f"-file ca.pem")
    stem = Path(path).stem
    return (f"convert it with: keytool -importkeystore -srckeystore {path} -destkeystore "
            f"{stem}.p12 -deststoretype PKCS12, then openssl pkcs12 -in {stem}.p12 "
            f"-out client.pem -nodes")
