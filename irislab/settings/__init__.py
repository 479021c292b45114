"""The lab's open question, "describe any 2 configurable variables for the Producer and 2 for
the Consumer", answered for every setting a student may pick: what each does, its default in
the kafka-python installed here (read from kafka-python itself, never typed in) and in
kafka-python 1.4.4, the version the lab was written against, with the line of 1.4.4's source
it was read from.

    python -m irislab.settings            a line per setting: client, name, its default
                                          here and in 1.4.4, what it does
    python -m irislab.settings --json     the same as a JSON array, with the source line of
                                          each 1.4.4 default, the companion settings, and
                                          the command and test that show the effect
    python -m irislab.settings NAME       its experiment: the effect made to happen on a
                                          real broker, and measured

This module is the catalogue, and imports nothing of irislab; the experiments are
experiments.py and the modules it names, run where place.py says, reported as result.py
says. docs/settings.md says where each 1.4.4 default was read.
"""

from dataclasses import dataclass
from typing import Optional

from kafka import KafkaConsumer, KafkaProducer
from kafka.partitioner import DefaultPartitioner

# kafka-python 1.4.4 (dpkp/kafka-python, tag 1.4.4, commit a3c5559b93fa): where its
# DEFAULT_CONFIGs are. 1.4.5 has the same defaults for every setting below.
LAB_VERSION = "1.4.4"
PRODUCER_14 = "kafka/producer/kafka.py"
CONSUMER_14 = "kafka/consumer/group.py"
NOT_IN_14 = object()  # a setting kafka-python 1.4.4 did not have


@dataclass(frozen=True)
class Setting:
    client: str                 # "producer" or "consumer"
    name: str                   # kafka-python's keyword
    what: str                   # one sentence: what it does
    lab_default: object         # its default in kafka-python 1.4.4, or NOT_IN_14
    lab_line: Optional[int]     # the line of 1.4.4's DEFAULT_CONFIG that sets it
    companions: tuple = ()      # settings that work with it, listed with it

    @property
    def test(self):
        """The test that shows its effect on a real broker (pytest's node id)."""
        return TESTS[self.name]

    @property
    def command(self):
        """The command that shows its effect: its experiment."""
        return f"python -m irislab.settings {self.name}"

    @property
    def default(self):
        """Its default in the kafka-python installed here."""
        return defaults(self.client)[self.name]

    @property
    def lab_source(self):
        if self.lab_default is NOT_IN_14:
            return None
        path = PRODUCER_14 if self.client == "producer" else CONSUMER_14
        return f"kafka-python {LAB_VERSION} {path}:{self.lab_line}"


def defaults(client):
    return (KafkaProducer if client == "producer" else KafkaConsumer).DEFAULT_CONFIG


SETTINGS = (
    Setting("producer", "acks", "how many replicas must hold a record before the broker "
            "confirms it: 0 none (not even the leader's answer is awaited), 1 the leader, "
            "all (-1) every in-sync replica", 1, 285),
    Setting("producer", "linger_ms", "how long a record may wait for others to fill its "
            "batch before the batch is sent", 0, 290),
    Setting("producer", "batch_size", "the most bytes of records sent to one partition in "
            "one batch", 16384, 289),
    Setting("producer", "compression_type", "how each batch is compressed on its way and on "
            "the broker's disk: none, gzip, snappy, lz4 or zstd", None, 287),
    Setting("producer", "enable_idempotence", "the broker drops a retried batch it already "
            "holds, so a retry never writes a record twice, and keeps each partition's "
            "order", NOT_IN_14, None),
    Setting("producer", "transactional_id", "makes the producer transactional: records sent "
            "between begin and commit are all visible, or, aborted, none, and a new producer "
            "with the same id fences the old one", NOT_IN_14, None),
    Setting("producer", "max_in_flight_requests_per_connection", "how many requests may await "
            "an answer on one connection; more than one may reorder a retried batch unless "
            "idempotence is on", 5, 306),
    Setting("producer", "delivery_timeout_ms", "how long a record may take, retries "
            "included, from send() to its confirmation before it fails", NOT_IN_14, None),
    Setting("producer", "key_serializer", "turns the key given to send() into bytes; without "
            "it, the key must be bytes already", None, 283),
    Setting("producer", "partitioner", "picks the partition of a record sent without one: "
            "the murmur2 hash of its key, or at random without a key", DefaultPartitioner(),
            291),
    Setting("consumer", "auto_offset_reset", "where a consumer starts on a partition it has "
            "no committed position for: earliest, or latest (only what comes next)",
            "latest", 265),
    Setting("consumer", "enable_auto_commit", "commits the positions of what poll() handed "
            "over in the background, every auto_commit_interval_ms, whether or not it was "
            "processed", True, 266, companions=("auto_commit_interval_ms",)),
    Setting("consumer", "max_poll_records", "the most records one poll() hands over", 500, 272),
    Setting("consumer", "fetch_min_bytes", "the broker answers a fetch once it has this many "
            "bytes for it, or after fetch_max_wait_ms", 1, 257,
            companions=("fetch_max_wait_ms",)),
    Setting("consumer", "session_timeout_ms", "how long the group waits for a member's "
            "heartbeat, sent every heartbeat_interval_ms, before it gives the member's "
            "partitions to the others", 10000, 274, companions=("heartbeat_interval_ms",)),
    Setting("consumer", "max_poll_interval_ms", "the longest a member may go between two "
            "poll()s before the group counts it as gone and moves its partitions",
            300000, 273),
    Setting("consumer", "isolation_level", "read_committed hides the records of aborted and "
            "open transactions; read_uncommitted shows every record", NOT_IN_14, None),
    Setting("consumer", "group_id", "the consumer group: members share the partitions, and "
            "the group's committed positions let a rerun go on where the last one stopped",
            None, 253),
    Setting("consumer", "consumer_timeout_ms", "how long `for message in consumer` waits for "
            "a record before the loop ends; forever by default", float("inf"), 281),
)

# setting -> the test of its experiment on a real broker (both modes; acks on three brokers of
# its own), in tests/test_settings_MODULE.py:
# (MODULE, the test's name after "test_NAME_")
TESTS = {name: f"tests/test_settings_{module}.py::test_{name}_{rest}" for name, (module, rest) in {
    "acks": ("delivery", "a_killed_leader_loses_unconfirmed_records_never_those_acks_all_"
                         "confirmed"),
    "enable_idempotence": ("delivery", "a_resent_batch_is_written_twice_without_it_once_with_it"),
    "max_in_flight_requests_per_connection": ("delivery", "more_in_flight_and_the_idempotent_"
                                                          "order_kept"),
    "delivery_timeout_ms": ("delivery", "records_fail_when_it_has_passed_and_none_is_dropped"),
    "linger_ms": ("batching", "gathers_more_records_per_batch_in_fewer_requests"),
    "batch_size": ("batching", "caps_the_bytes_of_a_batch"),
    "compression_type": ("batching", "stores_fewer_bytes_with_every_codec"),
    "transactional_id": ("transactions", "commits_aborts_and_fences"),
    "key_serializer": ("lab_answers", "stores_the_id_as_text_and_equal_keys_share_a_partition"),
    "partitioner": ("lab_answers", "the_default_hashes_the_key_and_the_lab_s_routes_by_species"),
    "auto_offset_reset": ("offsets", "a_new_group_reads_all_with_earliest_none_with_latest"),
    "enable_auto_commit": ("offsets",
                           "a_killed_member_shows_again_what_it_showed_since_its_commit"),
    "max_poll_records": ("fetching", "caps_the_records_each_poll_hands_over"),
    "fetch_min_bytes": ("fetching", "gathers_records_in_fewer_later_fetches"),
    "session_timeout_ms": ("membership",
                           "a_crashed_member_s_partitions_move_after_it_a_closed_one_s_sooner"),
    "max_poll_interval_ms": ("membership",
                             "a_member_too_slow_between_polls_loses_its_partition_and_commit"),
    "isolation_level": ("transactions", "read_committed_waits_for_the_open_transaction"),
    "group_id": ("lab_answers", "a_rerun_of_the_group_reads_nothing_and_one_without_reads_all"),
    "consumer_timeout_ms": ("lab_answers", "ends_the_loop_once_no_record_came_for_that_long"),
}.items()}

# the companions' 1.4.4 defaults and the lines that set them (all consumer settings)
COMPANIONS_14 = {"auto_commit_interval_ms": (5000, 267), "fetch_max_wait_ms": (500, 256),
                 "heartbeat_interval_ms": (3000, 275)}


def spelled(value):
    """A default as Python spells it, a class or a function by its name, an instance as
    its class's call; "-" for a setting kafka-python 1.4.4 did not have."""
    if value is NOT_IN_14:
        return "-"
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)  # float('inf') is inf
    if isinstance(value, type) or (callable(value) and hasattr(value, "__name__")):
        return value.__name__
    return f"{type(value).__name__}()"


def shown(value):
    """A default as JSON holds it; one it cannot hold (infinity, a class, an instance, a
    function) as Python spells it; null for a setting 1.4.4 did not have."""
    if value is NOT_IN_14:
        return None
    if value is None or isinstance(value, (bool, str)) or (
            isinstance(value, (int, float)) and abs(value) != float("inf")):
        return value
    return spelled(value)


def as_dict(setting):
    """The setting as --json gives it."""
    return {"client": setting.client, "name": setting.name, "default": shown(setting.default),
            "lab_default": shown(setting.lab_default), "lab_source": setting.lab_source,
            "with": {name: {"default": shown(defaults(setting.client)[name]),
                            "lab_default": COMPANIONS_14[name][0],
                            "lab_source": f"kafka-python {LAB_VERSION} {CONSUMER_14}:"
                                          f"{COMPANIONS_14[name][1]}"}
                     for name in setting.companions},
            "what": setting.what, "command": setting.command, "test": setting.test}
