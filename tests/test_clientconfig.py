"""A client.properties file, as managed services and Kafka's tools hand it out, read into
kafka-python's settings without a broker: both spellings give the same settings, the command
line's --bootstrap-server wins over the file, which wins over the default; every file the
clients cannot use is one line naming the file, line and key, exit 2 on the command line;
and no password ever shows, in an error or in the settings printed."""

import argparse
import subprocess

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from irislab import cli
from irislab.clientconfig import ClientConfig, ClientConfigError, parse_jaas, read_client_config

pytestmark = pytest.mark.unit

PASSWORD = "s3cr3t-Pa55"
KEY_PASSWORD = "k3y-Pa55"
PLAIN = "org.apache.kafka.common.security.plain.PlainLoginModule"
SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule"


def write(folder, text, name="client.properties"):
    path = folder / name
    path.write_text(text)
    return path


def assert_each_ssl_file_refused(folder, says):
    """Each {lines: message}: an SSL client.properties with those lines is refused, saying it."""
    for lines, message in says.items():
        path = write(folder, f"security.protocol=SSL\n{lines}\n")
        assert message in refused(path), lines


def refused(path):
    """The one-line message of a file the clients cannot use; it never shows a password."""
    with pytest.raises(ClientConfigError) as error:
        read_client_config(path)
    message = str(error.value)
    assert "\n" not in message and str(path) in message
    assert PASSWORD not in message and KEY_PASSWORD not in message
    return message


@pytest.fixture(scope="module")
def pem(tmp_path_factory):
    """A CA's certificate, a client's certificate and key (plain, encrypted with
    KEY_PASSWORD, both in one file as a PEM keystore) and a key of another pair, made by
    openssl."""
    folder = tmp_path_factory.mktemp("pem")

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    for name in ("ca", "client", "other"):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "1",
                "-subj", f"/CN={name}")
    openssl("pkey", "-in", "client.key", "-out", "client-encrypted.key", "-aes256",
            "-passout", f"pass:{KEY_PASSWORD}")
    (folder / "keystore.pem").write_text((folder / "client-encrypted.key").read_text()
                                         + (folder / "client.crt").read_text())
    (folder / "not-pem.crt").write_bytes(b"\xfe\xed\xfe\xed\x00\x00\x00\x02")  # a JKS header
    return folder


# --- both spellings, one meaning

LIBRDKAFKA_SASL = f"""\
bootstrap.servers=b1.example.com:9092,b2.example.com:9092
security.protocol=SASL_SSL
sasl.mechanisms={{mechanism}}
sasl.username=alice
sasl.password={PASSWORD}
session.timeout.ms=45000
"""
JAVA_SASL = f"""\
bootstrap.servers=b1.example.com:9092,b2.example.com:9092
security.protocol=SASL_SSL
sasl.mechanism={{mechanism}}
sasl.jaas.config={{module}} required username="alice" password="{PASSWORD}";
client.dns.lookup=use_all_dns_ips
acks=all
"""


@pytest.mark.parametrize("mechanism,module", [("PLAIN", PLAIN), ("SCRAM-SHA-256", SCRAM),
                                              ("SCRAM-SHA-512", SCRAM)])
def test_both_spellings_of_a_sasl_login_give_the_same_settings(tmp_path, mechanism, module):
    librdkafka = write(tmp_path, LIBRDKAFKA_SASL.format(mechanism=mechanism), "librdkafka")
    java = write(tmp_path, JAVA_SASL.format(mechanism=mechanism, module=module), "java")
    expected = {"bootstrap_servers": "b1.example.com:9092,b2.example.com:9092",
                "security_protocol": "SASL_SSL", "sasl_mechanism": mechanism,
                "sasl_plain_username": "alice", "sasl_plain_password": PASSWORD,
                "ssl_check_hostname": True}
    assert read_client_config(librdkafka) == expected
    assert read_client_config(java) == expected


def test_both_spellings_of_tls_files_give_the_same_settings(tmp_path, pem):
    librdkafka = write(tmp_path, f"""\
security.protocol=SSL
ssl.ca.location={pem}/ca.crt
ssl.certificate.location={pem}/keystore.pem
ssl.key.password={KEY_PASSWORD}
ssl.endpoint.identification.algorithm=https
""", "librdkafka")
    java = write(tmp_path, f"""\
security.protocol=SSL
ssl.truststore.type=PEM
ssl.truststore.location={pem}/ca.crt
ssl.keystore.type=PEM
ssl.keystore.location={pem}/keystore.pem
ssl.key.password={KEY_PASSWORD}
""", "java")
    expected = {"security_protocol": "SSL", "ssl_cafile": f"{pem}/ca.crt",
                "ssl_certfile": f"{pem}/keystore.pem", "ssl_keyfile": None,
                "ssl_password": KEY_PASSWORD, "ssl_check_hostname": True}
    assert read_client_config(librdkafka) == expected
    assert read_client_config(java) == expected


def test_a_certificate_and_its_key_in_two_files(tmp_path, pem):
    path = write(tmp_path, f"""\
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.username=alice
sasl.password={PASSWORD}
ssl.ca.location={pem}/ca.crt
ssl.certificate.location={pem}/client.crt
ssl.key.location={pem}/client.key
ssl.endpoint.identification.algorithm=
""")
    settings = read_client_config(path)
    assert (settings["ssl_certfile"], settings["ssl_keyfile"], settings["ssl_password"]) == \
        (f"{pem}/client.crt", f"{pem}/client.key", None)
    assert settings["ssl_check_hostname"] is False  # empty: no host name check, as in Java


def test_no_ca_or_probe_means_the_systems_cas(tmp_path):
    for text in ("security.protocol=SSL\n", "security.protocol=SSL\nssl.ca.location=probe\n"):
        assert read_client_config(write(tmp_path, text)) == \
            {"security_protocol": "SSL", "ssl_check_hostname": True}


def test_every_setting_is_one_kafka_pythons_three_clients_take(tmp_path, pem):
    path = write(tmp_path, f"""\
bootstrap.servers=localhost:9092
security.protocol=SASL_SSL
sasl.mechanism=PLAIN
sasl.username=alice
sasl.password={PASSWORD}
ssl.ca.location={pem}/ca.crt
ssl.certificate.location={pem}/client.crt
ssl.key.location={pem}/client.key
client.id=iris-lab
""")
    settings = read_client_config(path)
    assert settings["client_id"] == "iris-lab"
    for client in (KafkaProducer, KafkaConsumer, KafkaAdminClient):
        assert set(settings) <= set(client.DEFAULT_CONFIG), client.__name__


# --- the file's format

def test_comments_blank_lines_whitespace_and_colons(tmp_path):
    path = write(tmp_path, "# a comment\n! another = comment\n\n   \n"
                           "  bootstrap.servers   =   b1.example.com:9092 ,b2.example.com:9092  \n"
                           "\tsecurity.protocol : sasl_plaintext\r\n"
                           "sasl.mechanism=scram-sha-256\n"
                           f"sasl.username:alice\nsasl.password = {PASSWORD}   \n")
    assert read_client_config(path) == {
        "bootstrap_servers": "b1.example.com:9092,b2.example.com:9092",
        "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "alice", "sasl_plain_password": PASSWORD}


def test_a_line_ending_in_a_backslash_goes_on_and_java_escapes_are_read(tmp_path):
    path = write(tmp_path, "bootstrap.servers=b1.example.com\\:9092,\\\n"
                           "        b2.example.com:9092\n"
                           "security.protocol=SASL_SSL\n"
                           "sasl.mechanism=PLAIN\n"
                           f"sasl.jaas.config={PLAIN} required \\\n"
                           "    username=\"\\u0061lice\" \\\n"
                           f"    password=\"{PASSWORD}\";\n")
    settings = read_client_config(path)
    assert settings["bootstrap_servers"] == "b1.example.com:9092,b2.example.com:9092"
    assert (settings["sasl_plain_username"], settings["sasl_plain_password"]) == \
        ("alice", PASSWORD)


def test_the_last_of_a_key_given_twice_counts_as_in_java(tmp_path):
    path = write(tmp_path, "bootstrap.servers=old.example.com:9092\n"
                           "bootstrap.servers=new.example.com:9092\n")
    assert read_client_config(path)["bootstrap_servers"] == "new.example.com:9092"


# --- sasl.jaas.config

@pytest.mark.parametrize("text,options", [
    (f'{PLAIN} required username="alice" password="{PASSWORD}";',
     {"username": "alice", "password": PASSWORD}),
    (f"{SCRAM} required username='alice' password='{PASSWORD}';",  # Confluent Cloud's quotes
     {"username": "alice", "password": PASSWORD}),
    (f'{SCRAM} REQUIRED username=alice password="a \\"quoted\\" \\\\ pass;word";',
     {"username": "alice", "password": 'a "quoted" \\ pass;word'}),
    (f"  {PLAIN}\n  required\n  username = \"alice\"\n  password = 'it\\'s';  ",
     {"username": "alice", "password": "it's"}),
])
def test_jaas_options_are_read_with_their_quotes_and_escapes(text, options):
    assert parse_jaas(text) == (text.split()[0], options)


def test_a_jaas_password_with_escaped_quotes_in_a_properties_file(tmp_path):
    # the properties file takes one backslash of each pair, the JAAS parser the other
    path = write(tmp_path, "security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\n"
                           f'sasl.jaas.config={PLAIN} required username="alice" '
                           'password="say \\\\"hi\\\\"";\n')
    assert read_client_config(path)["sasl_plain_password"] == 'say "hi"'


@pytest.mark.parametrize("text", [
    f'{PLAIN} required username="alice" password="{PASSWORD}"',
    f'{PLAIN} required username="alice" password="{PASSWORD};',
    f'{PLAIN} username="alice" password="{PASSWORD}";',
    f'{PLAIN} required username="alice" password {PASSWORD};',
    f'{PLAIN} required username="alice" password="{PASSWORD}"; {PLAIN} required;',
    f'{PASSWORD}',
    "",
])
def test_a_malformed_jaas_config_says_what_is_wrong_without_quoting_it(text):
    with pytest.raises(ValueError) as error:
        parse_jaas(text)
    assert PASSWORD not in str(error.value) and "alice" not in str(error.value)


# --- precedence: --bootstrap-server given > the file's bootstrap.servers > the default

def parse(argv):
    """The command line as producer1.py, consumer.py and irislab.admin take it."""
    parser = argparse.ArgumentParser(prog="producer1.py")
    cli.add_connection_arguments(parser)
    return parser.parse_args([str(arg) for arg in argv])


@pytest.fixture
def file_with_bootstrap(tmp_path):
    return write(tmp_path, "bootstrap.servers=file.example.com:9092\n")


def test_a_given_bootstrap_server_wins_over_the_file(file_with_bootstrap, monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "env.example.com:9092")
    args = parse(["--client-config", file_with_bootstrap,
                  "--bootstrap-server", "cli.example.com:9092"])
    assert cli.client_settings(args)["bootstrap_servers"] == "cli.example.com:9092"
    args = parse(["--bootstrap-server", "cli.example.com:9092",
                  "--client-config", file_with_bootstrap])  # in either order
    assert cli.client_settings(args)["bootstrap_servers"] == "cli.example.com:9092"


def test_the_files_bootstrap_servers_wins_over_the_environment(file_with_bootstrap,
                                                               monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "env.example.com:9092")
    args = parse(["--client-config", file_with_bootstrap])
    assert cli.client_settings(args)["bootstrap_servers"] == "file.example.com:9092"


def test_without_bootstrap_in_the_file_the_environment_then_localhost(tmp_path, monkeypatch):
    path = write(tmp_path, "security.protocol=PLAINTEXT\n")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "env.example.com:9092")
    assert cli.client_settings(parse(["--client-config", path])) == \
        {"bootstrap_servers": "env.example.com:9092", "security_protocol": "PLAINTEXT"}
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS")
    assert cli.client_settings(parse(["--client-config", path]))["bootstrap_servers"] == \
        "localhost:9092"
    assert cli.client_settings(parse([])) == {"bootstrap_servers": "localhost:9092"}


def test_kafka_client_config_names_the_file_unless_client_config_is_given(
        tmp_path, file_with_bootstrap, monkeypatch):
    monkeypatch.setenv("KAFKA_CLIENT_CONFIG", str(file_with_bootstrap))
    assert cli.client_settings(parse([]))["bootstrap_servers"] == "file.example.com:9092"
    other = write(tmp_path, "bootstrap.servers=other.example.com:9092\n", "other.properties")
    assert cli.client_settings(parse(["--client-config", other]))["bootstrap_servers"] == \
        "other.example.com:9092"
    monkeypatch.setenv("KAFKA_CLIENT_CONFIG", "")  # set but empty: no file
    assert cli.client_settings(parse([])) == {"bootstrap_servers": "localhost:9092"}


# --- bad files: one line naming the file, the line and the key

BAD_FILES = [  # (file text, what the message must say)
    ("bootstrap.servers=localhost:9092\nsasl.kerberos.service.name=kafka\n",
     "line 2: unknown key 'sasl.kerberos.service.name'"),
    (f"security.protocol=SASL_SSL\n{PASSWORD}\n", "line 2: not key=value"),
    (f"security.protocol SASL_SSL\nsasl.password={PASSWORD}\n", "line 1: not key=value"),
    (f"sasl.password=\\u00zz{PASSWORD}\n", "line 1: a malformed \\uXXXX escape"),
    ("bootstrap.servers=localhost\n", "line 1: bootstrap.servers 'localhost' is not HOST:PORT"),
    ("bootstrap.servers=SASL_SSL://b1.example.com:9092\n", "line 1: bootstrap.servers"),
    ("security.protocol=TLS\n", "line 1: security.protocol 'TLS' is not one of PLAINTEXT, SSL"),
    (f"security.protocol=SASL_SSL\nsasl.username=alice\nsasl.password={PASSWORD}\n",
     "line 1: security.protocol SASL_SSL needs sasl.mechanism: Kafka's clients would use GSSAPI"),
    (f"security.protocol=SASL_SSL\nsasl.mechanism=DIGEST-MD5\nsasl.username=alice\n"
     f"sasl.password={PASSWORD}\n", "line 2: sasl.mechanism 'DIGEST-MD5' is not a mechanism"),
    ("security.protocol=SASL_SSL\nsasl.mechanism=GSSAPI\n",
     "sasl.mechanism GSSAPI is not supported: Kerberos needs the gssapi package"),
    ("security.protocol=SASL_SSL\nsasl.mechanisms=OAUTHBEARER\n",
     "sasl.mechanisms OAUTHBEARER is not supported: kafka-python needs a token provider"),
    ("security.protocol=SASL_SSL\nsasl.mechanism=AWS_MSK_IAM\n",
     "sasl.mechanism AWS_MSK_IAM is not supported: kafka-python needs the botocore package"),
    (f"security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.mechanisms=SCRAM-SHA-512\n"
     f"sasl.username=alice\nsasl.password={PASSWORD}\n",
     "line 3: sasl.mechanisms and sasl.mechanism differ"),
    ("security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.username=alice\n",
     "line 3: sasl.username (SASL PLAIN) lacks a user name or a password"),
    (f"security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.password={PASSWORD}\n",
     "line 3: sasl.password (SASL PLAIN) lacks a user name or a password"),
    (f"security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n"
     f"sasl.jaas.config={SCRAM} required password=\"{PASSWORD}\";\n",
     "line 3: sasl.jaas.config (SASL SCRAM-SHA-512) lacks a user name or a password"),
    (f"security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n"
     f"sasl.jaas.config={PLAIN} required username=alice password=\"{PASSWORD}\";\n",
     f"line 3: sasl.jaas.config names {PLAIN}, but sasl.mechanism SCRAM-SHA-512 needs {SCRAM}"),
    (f"security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\n"
     f"sasl.jaas.config={PASSWORD} required username=alice password=\"{PASSWORD}\";\n",
     "line 3: sasl.jaas.config names another module, but sasl.mechanism PLAIN needs"),
    (f"security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\n"
     f"sasl.jaas.config={PLAIN} required username=alice password=\"{PASSWORD}\"\n",
     "line 3: sasl.jaas.config must end with ';'"),
    (f"security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\n"
     f"sasl.jaas.config={PLAIN} required username=alice password=\"{PASSWORD};\n",
     "line 3: sasl.jaas.config has a quote that is not closed"),
    (f"security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-256\n"
     f"sasl.jaas.config={SCRAM} required username=alice password=\"{PASSWORD}\" "
     f"tokenauth=true;\n", "line 3: sasl.jaas.config has 'tokenauth': irislab reads only"),
    (f"security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.username=alice\n"
     f"sasl.jaas.config={PLAIN} required username=alice password=\"{PASSWORD}\";\n",
     "line 3: sasl.username and sasl.jaas.config both give the login"),
    (f"bootstrap.servers=b1.example.com:9092\nsasl.mechanism=PLAIN\nsasl.username=alice\n"
     f"sasl.password={PASSWORD}\n", "line 2: sasl.mechanism has no use with security.protocol "
                                    "PLAINTEXT (the default): set security.protocol to SASL_SSL"),
    ("security.protocol=SASL_PLAINTEXT\nssl.ca.location=ca.pem\n",
     "line 2: ssl.ca.location has no use with security.protocol SASL_PLAINTEXT"),
    ("security.protocol=SSL\nssl.endpoint.identification.algorithm=always\n",
     "line 2: ssl.endpoint.identification.algorithm 'always' is not https, none or empty"),
    ("security.protocol=SSL\nssl.ca.pem=-----BEGIN CERTIFICATE-----\n",
     "line 2: ssl.ca.pem (PEM text in the file) is not supported: put it in a file and name "
     "that file with ssl.ca.location"),
]


@pytest.mark.parametrize("text,says", BAD_FILES, ids=[says.split(": ", 1)[-1][:40]
                                                      for _, says in BAD_FILES])
def test_a_bad_file_is_one_line_naming_its_line_and_key(tmp_path, text, says):
    path = write(tmp_path, text)
    message = refused(path)
    assert message.startswith(f"{path}, line ") and says in message


def test_a_missing_file_a_folder_and_a_binary_file_are_named(tmp_path):
    assert refused(tmp_path / "nosuch.properties") == \
        f"cannot read {tmp_path / 'nosuch.properties'}: No such file or directory"
    assert refused(tmp_path) == f"{tmp_path} is a folder, not a client.properties file"
    binary = tmp_path / "client.jks"
    binary.write_bytes(b"\xfe\xed\xfe\xed\x00\x00\x00\x02\xff")
    assert refused(binary) == f"{binary} is not a text file (UTF-8)"


# --- TLS files: PEM only, each one there and holding what its key says

def test_a_jks_or_pkcs12_store_is_refused_with_the_command_that_converts_it(tmp_path, pem):
    says = {
        "ssl.truststore.type=JKS\nssl.truststore.location=/etc/kafka/truststore.jks":
            "line 2: ssl.truststore.type JKS: kafka-python reads PEM; convert it with: keytool "
            "-exportcert -rfc -keystore /etc/kafka/truststore.jks -alias ALIAS -file ca.pem, "
            "and set ssl.truststore.type=PEM",
        "ssl.keystore.type=PKCS12\nssl.keystore.location=/etc/kafka/client.keystore":
            "line 2: ssl.keystore.type PKCS12: kafka-python reads PEM; convert it with: openssl "
            "pkcs12 -in /etc/kafka/client.keystore -out client.pem -nodes",
        "ssl.truststore.type=PEM\nssl.truststore.location=/etc/kafka/truststore.jks":
            "line 3: ssl.truststore.location /etc/kafka/truststore.jks is a Java or PKCS12 "
            "store; kafka-python reads PEM: convert it with: keytool -exportcert",
        "ssl.keystore.location=client.p12":
            "line 2: ssl.keystore.location client.p12 is a Java or PKCS12 store; kafka-python "
            "reads PEM: convert it with: openssl pkcs12 -in client.p12 -out client.pem -nodes",
        "ssl.ca.location=ca.pfx":
            "ssl.ca.location ca.pfx is a Java or PKCS12 store; kafka-python reads PEM: convert "
            "it with: openssl pkcs12 -in ca.pfx -nokeys -out ca.pem",
        f"ssl.truststore.location={pem}/not-pem.crt":  # no type: Java would take it for JKS
            f"ssl.truststore.location {pem}/not-pem.crt is not PEM text, which kafka-python "
            f"reads: if it is a Java or PKCS12 store, convert it with: keytool -exportcert",
        f"ssl.truststore.location={pem}/ca.crt\nssl.truststore.password={PASSWORD}":
            "line 3: ssl.truststore.password has no use with a PEM store",
    }
    assert_each_ssl_file_refused(tmp_path, says)


def test_a_pem_file_that_is_missing_or_holds_the_wrong_thing_is_named(tmp_path, pem):
    says = {
        f"ssl.ca.location={pem}/nosuch.pem":
            f"line 2: ssl.ca.location {pem}/nosuch.pem: no such file",
        f"ssl.ca.location={pem}":
            f"line 2: ssl.ca.location {pem} is a folder: kafka-python needs one PEM file",
        f"ssl.ca.location={pem}/client.key":
            f"line 2: ssl.ca.location {pem}/client.key holds no CERTIFICATE (PEM)",
        f"ssl.keystore.type=PEM\nssl.keystore.location={pem}/client.crt":
            f"line 3: ssl.keystore.location {pem}/client.crt holds no PRIVATE KEY (PEM)",
        f"ssl.certificate.location={pem}/client.crt\nssl.key.location={pem}/nosuch.key":
            f"line 3: ssl.key.location {pem}/nosuch.key: no such file",
        f"ssl.key.location={pem}/client.key":
            "line 2: ssl.key.location needs ssl.certificate.location too",
        f"ssl.key.password={KEY_PASSWORD}":
            "line 2: ssl.key.password has no key to open",
        f"ssl.certificate.location={pem}/client.crt\nssl.key.location={pem}/other.key":
            f"line 2: ssl.certificate.location {pem}/client.crt: the certificate and key do "
            f"not load (KEY_VALUES_MISMATCH): the key must be the certificate's",
        f"ssl.keystore.location={pem}/keystore.pem":  # encrypted, no password
            f"line 2: ssl.keystore.location {pem}/keystore.pem: the certificate and key do "
            f"not load: the key is encrypted: give ssl.key.password",
        f"ssl.keystore.location={pem}/keystore.pem\nssl.key.password={PASSWORD}":  # wrong one
            "the certificate and key do not load: is ssl.key.password right?",
        f"ssl.ca.location={pem}/ca.crt\nssl.truststore.location={pem}/ca.crt":
            "line 3: ssl.truststore.location and ssl.ca.location both give it: keep one",
    }
    assert_each_ssl_file_refused(tmp_path, says)


# --- on the command line: exit 2, one line, and never a password

def test_a_bad_file_on_the_command_line_is_exit_2_with_one_error_line(tmp_path, capsys):
    path = write(tmp_path, f"security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\n"
                           f"sasl.jaas.config={PLAIN} required password=\"{PASSWORD}\"\n")
    with pytest.raises(SystemExit) as exit:
        parse(["--client-config", path])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0].startswith("usage: ")
    assert err.splitlines()[-1] == (f"producer1.py: error: argument --client-config: {path}, "
                                    f"line 3: sasl.jaas.config must end with ';'")
    assert PASSWORD not in err and "Traceback" not in err


def test_a_bad_kafka_client_config_is_exit_2_naming_the_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KAFKA_CLIENT_CONFIG", str(tmp_path / "nosuch.properties"))
    with pytest.raises(SystemExit) as exit:
        parse([])
    assert exit.value.code == 2
    assert f"cannot read {tmp_path / 'nosuch.properties'}" in capsys.readouterr().err


def test_a_password_never_shows_in_errors_or_in_the_settings_printed(tmp_path, pem):
    # every bad file above was checked by refused(); here, the settings themselves
    path = write(tmp_path, f"""\
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config={SCRAM} required username="alice" password="{PASSWORD}";
ssl.keystore.location={pem}/keystore.pem
ssl.key.password={KEY_PASSWORD}
""")
    settings = read_client_config(path)
    args = parse(["--client-config", path])
    shown = [repr(settings), str(settings), f"{settings}", repr(args), str(args),
             repr(cli.client_settings(args)), repr(ClientConfig(path, {"sasl.password":
                                                                      (PASSWORD, 1)}))]
    for text in shown:
        assert PASSWORD not in text and KEY_PASSWORD not in text, text
    assert "alice" in repr(settings)  # a user name is no secret
    assert settings["sasl_plain_password"] == PASSWORD  # the client still gets it
    assert settings["ssl_password"] == KEY_PASSWORD
