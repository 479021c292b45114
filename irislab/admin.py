"""Make sure the lab's topics exist with the layout's partition counts.

    python -m irislab.admin [--reset] [--bootstrap-server HOST:PORT]

A topic that exists with another partition count is an error, raised before anything
is sent: records would otherwise land on partitions no consumer role reads.
"""

import argparse
import sys
import time

from kafka import KafkaAdminClient
from kafka.errors import KafkaTimeoutError, TopicAlreadyExistsError

from irislab import LabError, cli
from irislab.layout import REPLICATION_FACTOR, TOPIC_PARTITIONS


class LayoutError(LabError):
    """A lab topic exists with the wrong number of partitions."""


def connect(bootstrap):
    cli.check_resolves(bootstrap)
    try:
        return KafkaAdminClient(bootstrap_servers=bootstrap, bootstrap_timeout_ms=cli.CONNECT_MS,
                                request_timeout_ms=cli.CONNECT_MS)
    except KafkaTimeoutError:
        raise cli.unreachable(bootstrap) from None


def partition_counts(admin):
    """Lab topic -> its partition count, for those that exist."""
    return {t["name"]: len(t["partitions"]) for t in admin.describe_topics(list(TOPIC_PARTITIONS))
            if t["error_code"] == 0}


def ensure_topics(bootstrap, reset=False):
    """Create the lab's topics if missing (after deleting them, with reset); check the rest.
    Returns the topics it created."""
    with connect(bootstrap) as admin:
        if reset:
            delete_topics(admin)
        existing = partition_counts(admin)
        check_layout(existing)
        missing = [topic for topic in TOPIC_PARTITIONS if topic not in existing]
        if missing:
            create_topics(admin, missing)
            check_layout(partition_counts(admin))  # another client may have won a creation race
        return missing


def check_layout(counts):
    for topic, count in counts.items():
        if count != TOPIC_PARTITIONS[topic]:
            raise LayoutError(
                f"topic {topic} has {count} partition(s), the lab needs {TOPIC_PARTITIONS[topic]}: "
                f"delete it (producer1.py --reset-topics) and run again")


def create_topics(admin, topics, timeout=30):
    spec = {t: {"num_partitions": TOPIC_PARTITIONS[t], "replication_factor": REPLICATION_FACTOR}
            for t in topics}
    deadline = time.monotonic() + timeout
    while True:
        result = admin.create_topics(spec, raise_errors=False)
        # TopicAlreadyExists: someone else created it, or a deletion is still finishing
        pending = [t["name"] for t in result["topics"]
                   if t["error_code"] == TopicAlreadyExistsError.errno]
        others = [f"{t['name']}: {t['error_message'] or t['error_code']}"
                  for t in result["topics"] if t["error_code"] not in (0, TopicAlreadyExistsError.errno)]
        if others:
            raise LabError("could not create topics: " + "; ".join(others))
        existing = partition_counts(admin)
        if all(t in existing for t in pending) or time.monotonic() > deadline:
            break
        spec = {t: spec[t] for t in pending if t not in existing}
        time.sleep(0.5)
    admin.wait_for_topics(topics, timeout_ms=timeout * 1000)


def delete_topics(admin, timeout=30):
    present = list(partition_counts(admin))
    if not present:
        return
    admin.delete_topics(present)
    deadline = time.monotonic() + timeout
    while partition_counts(admin):
        if time.monotonic() > deadline:
            raise LabError(f"topics {', '.join(present)} were not deleted within {timeout} s")
        time.sleep(0.3)


def main(args):
    created = ensure_topics(args.bootstrap_server, reset=args.reset)
    for topic, count in TOPIC_PARTITIONS.items():
        state = "created" if topic in created else "exists"
        print(f"{topic}: {count} partitions, replication factor {REPLICATION_FACTOR} ({state})")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m irislab.admin", description=__doc__.split("\n")[0])
    parser.add_argument("--reset", action="store_true", help="delete and recreate the lab's topics")
    cli.add_bootstrap_argument(parser)
    sys.exit(cli.run(main, parser.parse_args(), parser.prog))
