"""The lab's layout, defined once: topics, partitions, where each species goes, colours.

Everything else -- producer, consumers, topic admin, docker-compose checks, tests --
reads these names instead of spelling topic names or partition numbers itself.
"""

VIRGINICA_SETOSA = "virginicasetosa"
VERSICOLOR = "versicolor"

# topic -> partition count, on one broker or many
TOPIC_PARTITIONS = {VIRGINICA_SETOSA: 2, VERSICOLOR: 2}


def replication_factor(brokers):
    """Copies of each partition on a cluster of `brokers`: one on a single broker, three
    (Kafka's usual choice) from three brokers up."""
    return min(brokers, 3)


def min_insync_replicas(replicas):
    """In-sync copies an acks=all write needs: all but one, so one broker may be down
    while writes go on, and never fewer than one."""
    return max(1, replicas - 1)


# a single broker, as in the lab
REPLICATION_FACTOR = replication_factor(1)

# species -> (topic, partition); None means "spread over the topic's partitions"
SPECIES_PARTITION = {
    "virginica": (VIRGINICA_SETOSA, 0),
    "setosa": (VIRGINICA_SETOSA, 1),
    "versicolor": (VERSICOLOR, None),
}

# the sepal scatter plot's colours
SPECIES_COLOUR = {"virginica": "red", "setosa": "blue", "versicolor": "green"}


def partition_for(species, record_id):
    """The (topic, partition) a record goes to. Versicolor alternates by id parity,
    so the same data set always lands the same way."""
    topic, partition = SPECIES_PARTITION[species]
    if partition is None:
        partition = record_id % TOPIC_PARTITIONS[topic]
    return topic, partition


# consumer role -> the (topic, partition)s it assigns
ROLE_PARTITIONS = {
    "all": [(topic, p) for topic, n in TOPIC_PARTITIONS.items() for p in range(n)],
    "setosa": [SPECIES_PARTITION["setosa"]],
    "virginica": [SPECIES_PARTITION["virginica"]],
}


def partition_label(topic, partition):
    """virginicasetosa[1]: how every output names one partition."""
    return f"{topic}[{partition}]"


def layout_order(key):
    """Sort key for (topic, partition) pairs: the lab's partitions in the layout's order
    (virginicasetosa 0, 1, versicolor 0, 1), any other topic's after them by name."""
    order = ROLE_PARTITIONS["all"]
    return (order.index(key), "", 0) if key in order else (len(order), *key)
