"""Where an experiment runs: the cluster --bootstrap-server names (with --client-config's
login), or brokers it starts for itself through irislab.broker, in a temporary folder on
free ports, stopped and deleted afterwards. Either way it works on topics named
settings.<something>, deleted and created afresh on each run and left there afterwards, so
that kcat or Kafka's tools can look at them; the lab's own topics are never touched."""

import json
import shutil
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer

from irislab import admin, cli
from irislab.broker import LocalCluster, free_ports
from irislab.clientconfig import KafkaSettings
from irislab.dataset import bundled_iris
from irislab.record import MEASUREMENTS

PREFIX = "settings."


class Place:
    """The settings every client of the experiment is built with, and the brokers when
    irislab started them (None on a cluster of the user's: nothing there is killed)."""

    def __init__(self, settings, cluster=None):
        if isinstance(settings, str):
            settings = {"bootstrap_servers": settings}
        self.settings = KafkaSettings(settings)
        self.cluster = cluster

    @property
    def bootstrap(self):
        return self.settings["bootstrap_servers"]

    def admin(self):
        return admin.connect(self.settings)

    def producer(self, **config):
        return KafkaProducer(**self.settings, **cli.CLIENT_SETTINGS, **config)

    def consumer(self, *topics, **config):
        consumer = KafkaConsumer(*topics, **self.settings, **cli.CLIENT_SETTINGS, **config)
        know_partitions(consumer, topics)
        return consumer

    def topics(self, spec):
        """Delete and create the topics named in `spec`, settings.NAME -> (partitions,
        replicas, {config: value}); returns their names in spec's order."""
        names = list(spec)
        assert all(name.startswith(PREFIX) for name in names), names
        with self.admin() as client:
            admin.delete_topics(client, names, note="an experiment recreates its topics")
            admin.create_topics(client, {
                name: {"num_partitions": partitions, "replication_factor": replicas,
                       "configs": {k: str(v) for k, v in configs.items()}}
                for name, (partitions, replicas, configs) in spec.items()}, recreate=True)
        return names

    def topic(self, name, partitions=1, replicas=1, **configs):
        """One topic, settings.NAME, made afresh; its name."""
        return self.topics({PREFIX + name: (partitions, replicas, configs)})[0]


def know_partitions(consumer, topics, timeout=30):
    """Wait until the consumer's metadata has the topics' partitions. A group member that
    joins before, just after the topic was created, may be assigned none of them, and learn
    of them only at its next metadata refresh (metadata_max_age_ms: 5 minutes)."""
    deadline = time.monotonic() + timeout
    while not all(consumer.partitions_for_topic(topic) for topic in topics):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the consumer did not learn the partitions of "
                               f"{', '.join(topics)} in {timeout} s")
        time.sleep(0.2)


@contextmanager
def throwaway(mode, brokers=1, **broker_settings):
    """A Place on `brokers` brokers started for the experiment, stopped and deleted on
    exit, whatever happened (an error, Ctrl-C)."""
    home = Path(tempfile.mkdtemp(prefix="irislab-settings-"))
    cluster = LocalCluster(mode, free_ports(brokers), home, brokers, **broker_settings)
    try:
        cluster.start()
        yield Place(cluster.bootstrap, cluster)
    finally:
        cluster.stop()
        shutil.rmtree(home, ignore_errors=True)


def lab_records():
    """The lab's 150 flowers as the producer sends them: (key, value) bytes, the id as text
    and the row as JSON."""
    iris = bundled_iris()
    rows = iris[list(MEASUREMENTS)].to_numpy().tolist()
    return [(b"%d" % i, json.dumps({"id": i, **dict(zip(MEASUREMENTS, row)),
                                    "species": name}).encode())
            for i, (row, name) in enumerate(zip(rows, iris["species"]))]


def send_all(producer, topic, records, partition=None):
    """Send (key, value) pairs and wait until the broker confirmed each; their offsets."""
    futures = [producer.send(topic, key=key, value=value, partition=partition)
               for key, value in records]
    producer.flush()
    return [future.get(timeout=0).offset for future in futures]


def read_to_end(consumer, timeout=30):
    """Poll until the consumer has a partition and its position is at the end of each it
    has (end_offsets: the last stable offset for a read_committed consumer); the records
    read. A group member joins its group on its first poll()s."""
    read, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            read.extend(records)
        assigned = consumer.assignment()
        if assigned:
            ends = consumer.end_offsets(list(assigned))
            if all(consumer.position(tp) >= end for tp, end in ends.items()):
                return read
    raise TimeoutError(f"the consumer did not reach the end of its partitions in {timeout} s")


def group(name):
    """A name no run has used, settings.NAME.<8 hex digits>: a new group has no committed
    positions and no members, a new transactional id no open transaction."""
    return f"{PREFIX}{name}.{uuid.uuid4().hex[:8]}"
