"""What a user reads when a secured broker does not let a command in, or not do what it came
for: producer1.py, consumer.py (the lab's path and --group) and python -m irislab.admin each
exit 1 with one line on stderr that says why (a wrong password, a CA the client does not
trust, a host name the certificate does not name, the other protocol, an ACL, naming the user
and the grant), within the connect timeout, with no traceback and no password; and the
records on the lab's topics, read before and after by librdkafka, are as they were. A write
refused mid-run shows in the producer's not-delivered lines and its final error, and no
record is reported delivered that is not on its topic."""

import re
import time

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import ACLOperation, ResourceType

from irislab import access, cli
from irislab.broker import acls
from irislab.broker.certificates import make_certificates
from irislab.clientconfig import read_client_config
from irislab.layout import TOPIC_PARTITIONS
from tests.lab import (error_lines, landed, librdkafka_records, properties, produce, reset_topics,
                       run_python, start_python, wait_for)

# each command as the lab runs it, and the user it runs as
COMMANDS = {
    "producer1.py": (["producer1.py"], "producer"),
    "consumer.py": (["consumer.py", "--role", "setosa", "--timeout-ms", "3000"], "consumer"),
    "consumer.py --group": (["consumer.py", "--role", "setosa", "--group", "lab-refusals",
                             "--exit-at-end"], "consumer"),
    "irislab.admin": (["-m", "irislab.admin"], "admin"),
}
WRONG_PASSWORD = "not-the-Pa55word"


@pytest.fixture(scope="module")
def seeded(secured):
    """The secured broker, its lab topics holding the data set once."""
    run_python("-m", "irislab.admin", "--reset", "--client-config", secured.client_file("admin"),
               check=True)
    run_python("producer1.py", "--client-config", secured.client_file("producer"), check=True)
    return secured


def records(secured):
    """(topic, partition) -> [(offset, key, value)] of every record on the lab's topics, read
    by librdkafka as user consumer."""
    config = properties(secured.client_file("consumer"))
    return {(topic, partition): librdkafka_records(config, topic, partition)
            for topic in TOPIC_PARTITIONS for partition in range(TOPIC_PARTITIONS[topic])}


def passwords(secured):
    return [properties(secured.client_file(user))["sasl.password"]
            for user in ("admin", "producer", "consumer")]


def changed(path, folder, **changes):
    """A copy of a client.properties file with some keys' values changed (key_with_dots
    spelled key_with_underscores)."""
    given = properties(path)
    given.update({key.replace("_", "."): value for key, value in changes.items()})
    copy = folder / f"changed-{path.name}"
    copy.write_text("".join(f"{key}={value}\n" for key, value in given.items()))
    return copy


def assert_refused(args, secrets):
    """Run a command that must be refused: exit 1, one line on stderr, no traceback, no
    secret, before kafka-python's connect timeout. Returns the line."""
    started = time.monotonic()
    result = run_python(*args, timeout=60)
    elapsed = time.monotonic() - started
    shown = f"python {' '.join(map(str, args))}\n{result.stdout[-2000:]}\n{result.stderr}"
    assert result.returncode == 1, shown
    assert len(error_lines(result.stderr)) == 1 and "Traceback" not in result.stderr, shown
    assert elapsed < cli.CONNECT_MS / 1000, f"{elapsed:.1f} s: {shown}"
    for secret in secrets:
        assert secret not in result.stdout + result.stderr
    return error_lines(result.stderr)[0]


def each_command(secured, connection, says):
    """Every command, run with the arguments connection(its user) gives, is refused saying
    says(its user); the lab's records stay as they were."""
    before = records(secured)
    for name, (command, user) in COMMANDS.items():
        line = assert_refused([*command, *connection(user)],
                              passwords(secured) + [WRONG_PASSWORD])
        prog = "python -m irislab.admin" if name == "irislab.admin" else command[0]
        assert line.startswith(f"{prog}: error: {says(user)}"), line
    assert records(secured) == before


# --- not let in: the login, the certificate, the protocol

def test_a_wrong_password_is_an_authentication_failure_naming_the_user(seeded, tmp_path):
    each_command(seeded,
                 lambda user: ["--client-config", changed(seeded.client_file(user), tmp_path,
                                                          sasl_password=WRONG_PASSWORD)],
                 lambda user: f"authentication failed for {user} with SCRAM-SHA-512 at "
                              f"{seeded.bootstrap}: the broker refused the user name and password")


def test_a_ca_the_broker_was_not_signed_by_is_an_untrusted_ca(seeded, tmp_path):
    make_certificates(tmp_path / "another-ca")
    ca = tmp_path / "another-ca" / "ca.pem"
    each_command(seeded,
                 lambda user: ["--client-config", changed(seeded.client_file(user), tmp_path,
                                                          ssl_ca_location=ca)],
                 lambda user: f"TLS verification failed: the certificate of {seeded.bootstrap} "
                              f"is not signed by a CA the client trusts (an untrusted CA): the "
                              f"client trusts only the CA in {ca} (ssl.ca.location)")


def test_a_host_name_the_certificate_does_not_name_is_a_host_name_mismatch(seeded, tmp_path):
    # 127.1 is 127.0.0.1 to the resolver; the certificate names localhost and 127.0.0.1
    address = "127.1:" + seeded.bootstrap.rsplit(":", 1)[1]
    each_command(seeded,
                 lambda user: ["--client-config", changed(seeded.client_file(user), tmp_path,
                                                          bootstrap_servers=address)],
                 lambda user: f"TLS verification failed: the certificate of {address} is not "
                              f"issued for the host name 127.1 (a host name mismatch)")


def test_a_plaintext_client_at_the_tls_port_is_told_the_listener_speaks_another_protocol(
        seeded):
    each_command(seeded, lambda user: ["--bootstrap-server", seeded.bootstrap],  # no file
                 lambda user: f"the listener at {seeded.bootstrap} speaks another protocol: the "
                              f"client used PLAINTEXT (no --client-config); the listener expects "
                              f"TLS")


def test_a_tls_client_at_a_plaintext_port_is_told_the_listener_speaks_another_protocol(
        kafka, tmp_path):
    reset_topics(kafka.bootstrap)
    produce(kafka.bootstrap)
    before = landed(kafka.bootstrap)  # read by kcat
    make_certificates(tmp_path / "ca")
    config = tmp_path / "client.properties"
    config.write_text(f"bootstrap.servers={kafka.bootstrap}\nsecurity.protocol=SASL_SSL\n"
                      f"sasl.mechanisms=SCRAM-SHA-512\nsasl.username=producer\n"
                      f"sasl.password={WRONG_PASSWORD}\n"
                      f"ssl.ca.location={tmp_path / 'ca' / 'ca.pem'}\n")
    for name, (command, _) in COMMANDS.items():
        line = assert_refused([*command, "--client-config", config], [WRONG_PASSWORD])
        assert line.endswith(f"error: the listener at {kafka.bootstrap} speaks another protocol: "
                             f"the client used SASL_SSL (security.protocol); the listener speaks "
                             f"Kafka without TLS: set security.protocol to PLAINTEXT or "
                             f"SASL_PLAINTEXT"), f"{name}: {line}"
    assert landed(kafka.bootstrap) == before


# --- let in, refused by an ACL

GRANT = "ask the administrator to grant it (kafka-acls ... --add --allow-principal"


@pytest.mark.parametrize("command,user,says", [
    (["producer1.py"], "consumer",
     "not authorized to WRITE topic virginicasetosa, versicolor as User:consumer: " + GRANT
     + " User:consumer --operation Write --topic virginicasetosa --topic versicolor)"),
    (["consumer.py", "--role", "setosa"], "producer",
     "not authorized to READ topic virginicasetosa as User:producer: " + GRANT
     + " User:producer --operation Read --topic virginicasetosa)"),
    (["consumer.py", "--role", "all", "--group", "lab-refusals"], "producer",
     "not authorized to READ topic virginicasetosa, versicolor as User:producer"),
    (["consumer.py", "--role", "virginica", "--group", "not-lab"], "consumer",
     "not authorized to READ group not-lab as User:consumer: " + GRANT
     + " User:consumer --operation Read --group not-lab)"),
    (["-m", "irislab.admin", "--reset"], "producer",
     "not authorized to DELETE topic virginicasetosa, versicolor as User:producer (a reset "
     "deletes the lab's topics): " + GRANT),
], ids=["write", "read", "read-in-a-group", "group", "delete"])
def test_what_no_acl_grants_the_user_is_refused_naming_the_permission(seeded, command, user,
                                                                       says):
    before = records(seeded)
    line = assert_refused([*command, "--client-config", seeded.client_file(user)],
                          passwords(seeded))
    assert line.split(": error: ", 1)[1].startswith(says), line
    assert records(seeded) == before


def test_missing_topics_the_user_may_not_create_say_the_administrator_may(seeded):
    admin_settings = read_client_config(seeded.client_file("admin"))
    with KafkaAdminClient(**admin_settings) as admin:
        admin.delete_topics(list(TOPIC_PARTITIONS))
        wait_for(lambda: not set(TOPIC_PARTITIONS) & set(admin.list_topics()), 30,
                 "the lab's topics deleted")
        try:
            line = assert_refused(["producer1.py", "--client-config",
                                   seeded.client_file("producer")], passwords(seeded))
            assert line == (
                "producer1.py: error: not authorized to CREATE topic virginicasetosa, versicolor "
                "as User:producer (they do not exist): ask the administrator to create the lab's "
                "topics (python -m irislab.admin with the administrator's --client-config), or "
                "to grant it (kafka-acls ... --add --allow-principal User:producer --operation "
                "Create --topic virginicasetosa --topic versicolor)")
            assert not set(TOPIC_PARTITIONS) & set(admin.list_topics())
        finally:  # the lab's topics again, with the data set, for the other tests
            run_python("-m", "irislab.admin", "--client-config", seeded.client_file("admin"),
                       check=True)
            run_python("producer1.py", "--client-config", seeded.client_file("producer"),
                       check=True)


def test_a_write_refused_mid_run_shows_in_the_not_delivered_lines_and_the_final_error(seeded):
    before = records(seeded)
    write = [acl for acl in acls.lab_acls("producer", ACLOperation.WRITE, ResourceType.TOPIC)
             if acl.resource_pattern.resource_name == "virginicasetosa"]
    producer = start_python("producer1.py", "--delay", "0.1", "--client-config",
                            seeded.client_file("producer"))
    with KafkaAdminClient(**read_client_config(seeded.client_file("admin"))) as admin:
        try:
            # the data set's rows 50..99 are versicolor, 100..149 virginica
            producer.wait_for_line(r"^sent .* id=50 ", timeout=60)
            acls.revoke(admin, write)
            out, err = producer.communicate(timeout=120)
        finally:  # the other tests need it
            acls.grant(admin, write)
    assert producer.returncode == 1, err
    assert "Traceback" not in err
    refused = ("not authorized to WRITE topic virginicasetosa as User:producer: ask the "
               "administrator to grant it (kafka-acls ... --add --allow-principal User:producer "
               "--operation Write --topic virginicasetosa)")
    *not_delivered, final = err.splitlines()
    assert not_delivered == [f"not delivered: id={i}: {refused}" for i in range(100, 150)]
    assert final == (f"producer1.py: error: 50 of 150 records were not delivered (first error: "
                     f"{refused})")
    # what was reported delivered is on the broker, where the producer said, and nothing else
    sent = {(m[1], int(m[2]), int(m[3]), int(m[4]))
            for m in map(RECORD_LINE_SENT.match, out.splitlines()) if m}
    assert sorted(record_id for *_, record_id in sent) == list(range(100))
    assert out.splitlines()[-1] == "delivered 100 of 150 records sent"
    after = records(seeded)
    for where, held in before.items():
        assert after[where][:len(held)] == held  # what was there stays
    assert {(*where, offset, value["id"]) for where, held in after.items()
            for offset, _, value in held[len(before[where]):]} == sent
    for secret in passwords(seeded):
        assert secret not in out + err


def test_a_read_refused_mid_run_stops_the_lab_consumer_with_one_line(seeded):
    read = [acl for acl in acls.lab_acls("consumer", ACLOperation.READ, ResourceType.TOPIC)
            if acl.resource_pattern.resource_name == "virginicasetosa"]
    consumer = start_python("consumer.py", "--role", "setosa", "--timeout-ms", "60000",
                            "--client-config", seeded.client_file("consumer"))
    with KafkaAdminClient(**read_client_config(seeded.client_file("admin"))) as admin:
        try:
            consumer.wait_for_line(r" setosa$", count=50, timeout=60)  # all it holds, read
            acls.revoke(admin, read)
            out, err = consumer.communicate(timeout=60)  # not the minute without a record
        finally:  # the other tests need it
            acls.grant(admin, read)
    assert consumer.returncode == 1, err
    assert err.splitlines() == [
        "consumer.py: error: not authorized to READ topic virginicasetosa as User:consumer: ask "
        "the administrator to grant it (kafka-acls ... --add --allow-principal User:consumer "
        "--operation Read --topic virginicasetosa)"]
    for secret in passwords(seeded):
        assert secret not in out + err


RECORD_LINE_SENT = re.compile(r"^sent topic=(\S+) partition=(\d) offset=(\d+) id=(\d+) ")


def test_kafka_pythons_refused_producer_id_reads_as_a_refused_idempotent_write(seeded):
    """The idempotent producer's first request, InitProducerId, refused to a user without
    WRITE on any topic: kafka-python reports it only as text, which irislab.access reads."""
    settings = read_client_config(seeded.client_file("consumer"))
    producer = KafkaProducer(**settings, max_block_ms=10000, delivery_timeout_ms=10000,
                             request_timeout_ms=5000)
    try:
        with pytest.raises(Exception) as refused:
            producer.send("versicolor", b"{}", key=b"0").get(timeout=20)
    finally:
        producer.close(timeout=5)
    assert access.explain(refused.value, settings, "WRITE").startswith(
        "not authorized to IdempotentWrite on the cluster as User:consumer (the idempotent "
        "producer asks for a producer id first, InitProducerId, which needs WRITE on a topic or "
        "IdempotentWrite on the cluster): ")
