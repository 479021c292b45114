"""The lab's layout without a broker: where each species goes, which partitions each consumer
role reads, how many copies a cluster keeps, and how outputs name a partition. Checked against
the lab's own statement of the routing (tests.lab), not against the layout itself."""

import re

import pytest

from irislab.layout import (REPLICATION_FACTOR, ROLE_PARTITIONS, SPECIES_COLOUR,
                            TOPIC_PARTITIONS, min_insync_replicas, partition_for,
                            partition_label, replication_factor)
from irislab.record import SPECIES
from tests.lab import EXPECTED_HOME, ROLE_SPECIES
from tests.lab import SPECIES as SPECIES_OF_ID

pytestmark = pytest.mark.unit

EVERY_PARTITION = [(topic, p) for topic, n in TOPIC_PARTITIONS.items() for p in range(n)]


def test_the_lab_has_two_topics_of_two_partitions():
    assert TOPIC_PARTITIONS == {"virginicasetosa": 2, "versicolor": 2}


def test_the_three_species_of_iris():
    assert sorted(SPECIES) == ["setosa", "versicolor", "virginica"]
    assert set(SPECIES_OF_ID) == set(SPECIES)


@pytest.mark.parametrize("species", sorted(EXPECTED_HOME))
def test_each_species_goes_where_the_lab_says(species):
    topic, partitions = EXPECTED_HOME[species]
    ids = [i for i, s in enumerate(SPECIES_OF_ID) if s == species]
    assert {partition_for(species, i) for i in ids} == {(topic, p) for p in partitions}


def test_versicolor_alternates_by_id_parity_and_splits_the_data_set_evenly():
    ids = [i for i, s in enumerate(SPECIES_OF_ID) if s == "versicolor"]
    assert all(partition_for("versicolor", i) == ("versicolor", i % 2) for i in ids)
    assert sum(partition_for("versicolor", i)[1] for i in ids) == len(ids) // 2


@pytest.mark.parametrize("record_id", [0, 1, 149, 150, 151, 10**6 + 1])
def test_the_same_record_always_lands_on_the_same_partition(record_id):
    for species in SPECIES:
        assert partition_for(species, record_id) == partition_for(species, record_id)
        topic, partition = partition_for(species, record_id)
        assert 0 <= partition < TOPIC_PARTITIONS[topic]


def test_an_unknown_species_has_no_partition():
    with pytest.raises(KeyError):
        partition_for("rosa", 0)


def test_role_all_reads_every_partition_exactly_once():
    assert sorted(ROLE_PARTITIONS["all"]) == sorted(EVERY_PARTITION)
    assert len(ROLE_PARTITIONS["all"]) == len(set(ROLE_PARTITIONS["all"])) == 4


@pytest.mark.parametrize("role", ["setosa", "virginica"])
def test_a_species_role_reads_the_one_partition_its_species_goes_to(role):
    assert ROLE_PARTITIONS[role] == [partition_for(role, 0)]
    assert ROLE_PARTITIONS[role] == [(EXPECTED_HOME[role][0], p) for p in EXPECTED_HOME[role][1]]


@pytest.mark.parametrize("role", sorted(ROLE_SPECIES))
def test_each_role_reads_the_records_of_its_species_and_no_others(role):
    reads = set(ROLE_PARTITIONS[role])
    for record_id, species in enumerate(SPECIES_OF_ID):
        assert (partition_for(species, record_id) in reads) == (species in ROLE_SPECIES[role])


def test_the_species_roles_read_different_partitions():
    assert not set(ROLE_PARTITIONS["setosa"]) & set(ROLE_PARTITIONS["virginica"])
    assert sorted(ROLE_PARTITIONS) == ["all", "setosa", "virginica"]


@pytest.mark.parametrize("brokers,copies", [(1, 1), (2, 2), (3, 3), (4, 3), (5, 3)])
def test_replication_factor_is_the_brokers_up_to_three(brokers, copies):
    assert replication_factor(brokers) == copies


@pytest.mark.parametrize("replicas,in_sync", [(1, 1), (2, 1), (3, 2)])
def test_min_insync_replicas_is_all_copies_but_one_and_at_least_one(replicas, in_sync):
    assert min_insync_replicas(replicas) == in_sync


@pytest.mark.parametrize("brokers", [2, 3, 4, 5])
def test_on_a_cluster_writes_go_on_with_one_broker_down(brokers):
    copies = replication_factor(brokers)
    assert 1 <= min_insync_replicas(copies) <= copies - 1


def test_a_single_broker_keeps_one_copy_as_in_the_lab():
    assert REPLICATION_FACTOR == 1
    assert min_insync_replicas(REPLICATION_FACTOR) == 1


@pytest.mark.parametrize("topic,partition", EVERY_PARTITION)
def test_partition_label_is_the_topic_and_the_partition_in_brackets(topic, partition):
    label = partition_label(topic, partition)
    assert label == f"{topic}[{partition}]"
    # what the tests read back out of an output line
    assert re.fullmatch(r"(\w+)\[(\d+)\]", label).groups() == (topic, str(partition))


def test_each_species_has_its_own_colour_as_in_the_lab():
    assert SPECIES_COLOUR == {"virginica": "red", "setosa": "blue", "versicolor": "green"}
