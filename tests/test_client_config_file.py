"""A client.properties naming the test broker, in either spelling, is all the clients need to
reach it: the settings --client-config gives build a real KafkaAdminClient and KafkaConsumer
that see the broker's topics, while $KAFKA_BOOTSTRAP_SERVERS points where no broker listens."""

import argparse

import pytest
from kafka import KafkaAdminClient, KafkaConsumer

from irislab import cli
from tests.lab import new_topic

LIBRDKAFKA = """\
# librdkafka / Confluent spelling
bootstrap.servers={bootstrap}
security.protocol=PLAINTEXT
session.timeout.ms=45000
"""
JAVA = """\
# Java spelling, as Kafka's tools read it
bootstrap.servers: {bootstrap}
security.protocol = plaintext
client.id=iris-lab
client.dns.lookup=use_all_dns_ips
acks=all
"""


def settings_from(argv):
    parser = argparse.ArgumentParser(prog="producer1.py")
    cli.add_connection_arguments(parser)
    return cli.client_settings(parser.parse_args([str(arg) for arg in argv]))


def assert_the_clients_see(topic, settings):
    with KafkaAdminClient(**settings, bootstrap_timeout_ms=cli.CONNECT_MS) as admin:
        assert topic in admin.list_topics()
    consumer = KafkaConsumer(**settings, bootstrap_timeout_ms=cli.CONNECT_MS)
    try:
        assert topic in consumer.topics()
    finally:
        consumer.close()


@pytest.mark.parametrize("text", [LIBRDKAFKA, JAVA], ids=["librdkafka", "java"])
def test_the_files_bootstrap_servers_reaches_the_broker(kafka, tmp_path, monkeypatch,
                                                        unused_address, text):
    topic = new_topic(kafka.bootstrap)
    path = tmp_path / "client.properties"
    path.write_text(text.format(bootstrap=kafka.bootstrap))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", unused_address)
    settings = settings_from(["--client-config", path])
    assert settings["bootstrap_servers"] == kafka.bootstrap
    assert_the_clients_see(topic, settings)


def test_a_given_bootstrap_server_wins_over_the_files(kafka, tmp_path, unused_address):
    topic = new_topic(kafka.bootstrap)
    path = tmp_path / "client.properties"
    path.write_text(LIBRDKAFKA.format(bootstrap=unused_address))
    assert_the_clients_see(topic, settings_from(["--client-config", path,
                                                 "--bootstrap-server", kafka.bootstrap]))
