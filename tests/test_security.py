"""The lab on a secured local broker (python -m irislab.broker start --security sasl-ssl):
producer1.py and the three consumers over SASL_SSL as users producer and consumer, from
the client.properties files the runner wrote, in librdkafka's spelling or Java's; every row
read back once on its partition by an independent client (confluent-kafka, librdkafka) with
the consumer's own file; the ACLs exactly the lab's, and a consumer without READ refused;
no password ever printed."""

import pytest
from kafka import KafkaAdminClient
from kafka.admin import (ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType,
                         ResourcePatternFilter, ResourceType)

from irislab.broker import acls
from irislab.clientconfig import read_client_config
from tests.lab import (ROLE_SPECIES, assert_each_row_landed_once_where_the_lab_says,
                       assert_role_printed_exactly_its_records, error_lines, librdkafka_records,
                       properties, run_python, start_python, wait_for)

DELIVERED = ("delivered 150 of 150 records sent (versicolor[0] 25, versicolor[1] 25, "
             "virginicasetosa[0] 50, virginicasetosa[1] 50)")


def java_spelling(secured, user, folder):
    """The user's client.properties as Kafka's Java clients spell it: sasl.mechanism, the
    login in sasl.jaas.config, the CA as a PEM truststore."""
    given = properties(secured.client_file(user))
    path = folder / f"java-{user}.properties"
    path.write_text(
        f"bootstrap.servers={given['bootstrap.servers']}\n"
        "security.protocol=SASL_SSL\n"
        "sasl.mechanism=SCRAM-SHA-512\n"
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
        f"username=\"{given['sasl.username']}\" password=\"{given['sasl.password']}\";\n"
        "ssl.truststore.type=PEM\n"
        f"ssl.truststore.location={given['ssl.ca.location']}\n")
    return path


def passwords(secured):
    return [properties(secured.client_file(user))["sasl.password"]
            for user in ("admin", "producer", "consumer")]


def assert_no_password_in(secured, *texts):
    for text in texts:
        for password in passwords(secured):
            assert password not in text


def admin_client(secured):
    return KafkaAdminClient(**read_client_config(secured.client_file("admin")))


@pytest.mark.parametrize("spelling", ["librdkafka", "java"])
def test_the_lab_runs_over_sasl_ssl_as_users_producer_and_consumer(secured, tmp_path, spelling):
    files = {user: secured.client_file(user) if spelling == "librdkafka"
             else java_spelling(secured, user, tmp_path) for user in ("admin", "producer", "consumer")}
    # fresh topics, as the admin (the producer may not delete or create them)
    reset = run_python("-m", "irislab.admin", "--reset", "--client-config", files["admin"],
                       check=True)
    produced = run_python("producer1.py", "--client-config", files["producer"], check=True)
    assert produced.stdout.splitlines()[-1] == DELIVERED
    consumers = {role: start_python("consumer.py", "--role", role, "--timeout-ms", "3000",
                                    "--client-config", files["consumer"],
                                    "--plot-file", tmp_path / "sepal.png")
                 for role in ROLE_SPECIES}
    outputs = [reset.stdout, reset.stderr, produced.stdout, produced.stderr]
    for role, consumer in consumers.items():
        out, err = consumer.communicate(timeout=60)
        assert consumer.returncode == 0, err
        assert_role_printed_exactly_its_records(role, out, err)
        outputs += [out, err]
    # librdkafka, logged in as the consumer with the runner's own file
    assert_each_row_landed_once_where_the_lab_says(properties(secured.client_file("consumer")),
                                                   read=librdkafka_records)
    assert_no_password_in(secured, *outputs)


def test_the_broker_holds_exactly_the_lab_acls(secured):
    everything = ACLFilter(principal=None, host=None, operation=ACLOperation.ANY,
                           permission_type=ACLPermissionType.ANY,
                           resource_pattern=ResourcePatternFilter(
                               ResourceType.ANY, None, ACLResourcePatternType.ANY))
    with admin_client(secured) as admin:
        held, _ = admin.describe_acls(everything)
    assert sorted(map(acls.describe, held)) == sorted([
        *(f"User:producer {op} TOPIC {topic}" for topic in ("versicolor", "virginicasetosa")
          for op in ("WRITE", "DESCRIBE", "DESCRIBE_CONFIGS")),
        *(f"User:consumer {op} TOPIC {topic}" for topic in ("versicolor", "virginicasetosa")
          for op in ("READ", "DESCRIBE")),
        "User:consumer READ GROUP lab*"])


def test_a_consumer_without_read_on_the_topics_is_refused_in_one_line(secured, tmp_path):
    run_python("producer1.py", "--client-config", secured.client_file("producer"), check=True)
    read = acls.lab_acls("consumer", ACLOperation.READ, ResourceType.TOPIC)
    with admin_client(secured) as admin:
        acls.revoke(admin, read)
        try:
            wait_for(lambda: not held(admin, read), 30, "READ revoked")
            result = run_python("consumer.py", "--role", "all", "--timeout-ms", "3000",
                                "--client-config", secured.client_file("consumer"),
                                "--plot-file", tmp_path / "sepal.png")
        finally:  # the other tests need it
            acls.grant(admin, read)
            wait_for(lambda: held(admin, read), 30, "READ granted again")
    assert result.returncode == 1, result.stdout + result.stderr
    assert len(error_lines(result.stderr)) == 1 and "Traceback" not in result.stderr
    assert error_lines(result.stderr)[0].startswith("consumer.py: error: ")
    assert_no_password_in(secured, result.stdout, result.stderr)


def held(admin, wanted):
    """Whether the broker the admin asks holds every ACL in `wanted`."""
    for acl in wanted:
        found, _ = admin.describe_acls(acl)
        if not found:
            return False
    return True


def test_status_names_the_client_files_and_no_password(secured):
    result = run_python("-m", "irislab.broker", "status", "--home", secured.home)
    assert result.returncode == 0, result.stderr
    for user in ("admin", "producer", "consumer"):
        assert f"  {user:<9} {secured.client_file(user)}" in result.stdout.splitlines()
    assert "controller" in result.stdout
    assert_no_password_in(secured, result.stdout, result.stderr)
