"""Make sure the lab's topics exist with the layout's partition counts, and show where
their partitions live.

    python -m irislab.admin [--reset] [--bootstrap-server HOST:PORT[,HOST:PORT...]] [--client-config FILE]
    python -m irislab.admin --describe
    python -m irislab.admin --groups [NAME ...] [--watch]

A topic that exists with another partition count is an error, raised before anything
is sent: records would otherwise land on partitions no consumer role reads. Topics are
created replicated as the cluster's size allows (irislab.layout.replication_factor).
--describe prints, like kafka-topics --describe, each lab partition's leader, replicas
and in-sync replicas, the live brokers and the controller. --groups prints, like
kafka-consumer-groups --describe, each consumer group's committed offsets and lag
(irislab/group_offsets.py); --watch prints them again every second.
"""

import argparse
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Optional

from kafka import KafkaAdminClient
from kafka.errors import (AuthorizationError, ClusterAuthorizationFailedError,
                          GroupAuthorizationFailedError, KafkaError,
                          KafkaTimeoutError, TopicAlreadyExistsError,
                          TopicAuthorizationFailedError, UnknownTopicOrPartitionError)

from irislab import access, cli, clientconfig, cluster_facts, group_offsets, preflight
from irislab.cluster_facts import ask
from irislab.errors import LabError, LayoutError, run_command
from irislab.layout import (TOPIC_PARTITIONS, min_insync_replicas, partition_label,
                            replication_factor)
from irislab.waiting import wait_until


def connect(settings, timeout_ms=cli.CONNECT_MS, say_waiting=False):
    """An admin client built with `settings` (cli.client_settings: the address, and any
    --client-config), or with a bare bootstrap address. say_waiting: a command's first
    connection says on stderr that it is still trying, if it has not connected within a
    second, rather than wait in silence until its error."""
    if isinstance(settings, str):
        settings = {"bootstrap_servers": settings}
    bootstrap = settings["bootstrap_servers"]
    cli.check_resolves(bootstrap)
    waiting = cli.said_if_slow(f"trying to reach a Kafka broker at {bootstrap} for up to "
                               f"{timeout_ms / 1000:g} s ...") if say_waiting else nullcontext()
    with waiting:
        # a refused certificate, protocol or login is said now, in up to half the time:
        # kafka-python would only log it and try again until its timeout
        started = time.monotonic()
        answered = preflight.check_connection(settings, timeout_ms / 2000)
        bootstrap_ms = timeout_ms - int((time.monotonic() - started) * 1000)
        if answered:
            # kafka-python bootstraps from a broker of the list picked at random, and on
            # picking one that is down waits out its reconnect backoff (up to 30 s) before it
            # picks again: with 2 of 3 brokers down it could miss the live one for 8 s. Start
            # from the one that answered; the client learns the others from it.
            settings = clientconfig.KafkaSettings(settings, bootstrap_servers=answered)
        try:
            return KafkaAdminClient(**settings, bootstrap_timeout_ms=bootstrap_ms,
                                    request_timeout_ms=timeout_ms)
        except KafkaTimeoutError:
            raise cli.unreachable(bootstrap) from None


def lab_topics(admin, names=tuple(TOPIC_PARTITIONS)):
    """Lab topic (or one of `names`) -> its partitions (as describe_topics gives them), for
    those that exist. A topic the client may not DESCRIBE is an AccessError: the broker would
    not even say whether it exists."""
    described = ask(admin.describe_topics, list(names))
    hidden = in_layout_order(t["name"] for t in described
                             if t["error_code"] == TopicAuthorizationFailedError.errno)
    if hidden:
        raise access.not_authorized(admin.config, "DESCRIBE", "topic", hidden)
    return {t["name"]: sorted(t["partitions"], key=lambda p: p["partition_index"])
            for t in described if t["error_code"] == 0}


def in_layout_order(topics):
    """Topics as the layout lists them, any others after (a broker answers in its own
    order)."""
    topics = set(topics)
    return [topic for topic in TOPIC_PARTITIONS if topic in topics] + sorted(
        topics.difference(TOPIC_PARTITIONS))


def partition_counts(topics):
    """Topic -> its partition count, from lab_topics()."""
    return {topic: len(partitions) for topic, partitions in topics.items()}


@dataclass(frozen=True)
class Needs:
    """What a command is about to do, checked by ensure_topics before it sends or reads
    anything: `operation` (READ or WRITE) on `topics`, and READ on `group`, if any."""
    operation: str
    topics: tuple
    group: Optional[str] = None


# a topic's result when the broker's ACLs refuse to create or delete it
REFUSED = {TopicAuthorizationFailedError.errno, ClusterAuthorizationFailedError.errno}


def ensure_topics(settings, reset=False, needs=None):
    """Create the lab's topics if missing (after deleting them, with reset); check the rest,
    and that the client may do what `needs` says. Returns topic -> (its replication factor,
    "created" or "exists")."""
    with connect(settings, say_waiting=True) as admin:
        if reset:
            delete_topics(admin, list(TOPIC_PARTITIONS), note="a reset deletes the lab's topics")
        # after a reset, every lab topic is created anew, whatever a broker's metadata
        # still shows of the deleted ones
        existing = {} if reset else lab_topics(admin)
        check_layout(partition_counts(existing))
        missing = [topic for topic in TOPIC_PARTITIONS if topic not in existing]
        if missing:
            replicas = replication_factor(len(ask(admin.describe_cluster)["brokers"]))
            # min.insync.replicas: an acks=all write needs that many copies, so one broker
            # may be down while writes go on, and a write only one broker would hold is refused
            configs = {"min.insync.replicas": str(min_insync_replicas(replicas))}
            create_topics(admin, {t: {"num_partitions": TOPIC_PARTITIONS[t],
                                      "replication_factor": replicas, "configs": configs}
                                  for t in missing}, recreate=reset)
            # another client may have won a creation race, with another partition count
            check_layout(partition_counts(lab_topics(admin)))
        if needs is not None:
            check_needs(admin, needs)
    return {topic: (replicas, "created") if topic in missing
            else (len(existing[topic][0]["replica_nodes"]), "exists") for topic in TOPIC_PARTITIONS}


def check_needs(admin, needs):
    """An AccessError naming what the broker's ACLs refuse of `needs`. The broker lists the
    operations the client may do on each topic and group; where it lists none (before Kafka
    2.3, or a group that does not exist yet) the command goes on, and a refusal comes when
    it reads or writes."""
    refused = in_layout_order(
        t["name"] for t in ask(admin.describe_topics, list(needs.topics))
        if t["error_code"] == TopicAuthorizationFailedError.errno
        or needs.operation not in (t.get("authorized_operations") or [needs.operation]))
    if refused:
        raise access.not_authorized(admin.config, needs.operation, "topic", refused)
    if needs.group is not None:
        try:
            allowed = (group_offsets.ask_coordinator(admin.describe_groups,
                                                     [needs.group])[needs.group]
                       .get("authorized_operations") or ["READ"])  # not said: go on
        except GroupAuthorizationFailedError:  # not even DESCRIBE, which READ implies
            allowed = []
        if "READ" not in allowed:
            raise access.not_authorized(admin.config, "READ", "group", [needs.group])


def check_layout(counts):
    for topic, count in counts.items():
        if count != TOPIC_PARTITIONS[topic]:
            raise LayoutError(
                f"topic {topic} has {count} partition(s), the lab needs {TOPIC_PARTITIONS[topic]}: "
                f"delete it (producer1.py --reset-topics) and run again")


def create_topics(admin, spec, recreate=False, timeout=30):
    """Create the topics `spec` gives (name -> create_topics' num_partitions,
    replication_factor and configs). The controller answers TopicAlreadyExists when another
    client created one first (fine, once it shows in the metadata) or, when we recreate
    topics we just deleted, while that deletion is still finishing: then try again."""
    topics = list(spec)
    def created():  # once no topic is left that the controller still says exists
        nonlocal spec
        result = ask(admin.create_topics, spec, raise_errors=False)
        refused = in_layout_order(t["name"] for t in result["topics"]
                                  if t["error_code"] in REFUSED)
        if refused:
            raise access.cannot_create(admin.config, refused)
        exists = [t["name"] for t in result["topics"]
                  if t["error_code"] == TopicAlreadyExistsError.errno]
        others = [f"{t['name']}: {t['error_message'] or t['error_code']}"
                  for t in result["topics"] if t["error_code"] not in (0, TopicAlreadyExistsError.errno)]
        if others:
            raise LabError("could not create topics: " + "; ".join(others))
        if not recreate:
            shown = lab_topics(admin, exists)
            exists = [t for t in exists if t not in shown]
        spec = {t: spec[t] for t in exists}
        return not exists

    try:
        wait_until(created, timeout, interval=0.5)
    except TimeoutError:
        raise LabError(f"could not create {', '.join(spec)} within {timeout} s: the broker "
                       "says it exists, but a deletion of it is not finished") from None
    admin.wait_for_topics(topics, timeout_ms=timeout * 1000)


def delete_topics(admin, names, note="", timeout=30):
    """Delete the topics. The controller is asked, for all of them: a broker's metadata may
    lag behind it, in either direction."""
    result = ask(admin.delete_topics, names, raise_errors=False)
    refused = in_layout_order(t["name"] for t in result["topics"] if t["error_code"] in REFUSED)
    if refused:
        raise access.not_authorized(admin.config, "DELETE", "topic", refused, note=note)
    failed = [f"{t['name']}: {t.get('error_message') or t['error_code']}" for t in result["topics"]
              if t["error_code"] not in (0, UnknownTopicOrPartitionError.errno)]
    if failed:
        raise LabError("could not delete topics: " + "; ".join(failed))
    try:
        wait_until(lambda: not lab_topics(admin, names), timeout, interval=0.3)
    except TimeoutError:
        raise LabError(f"topics {', '.join(names)} were not deleted within "
                       f"{timeout} s") from None


def describe_controller(settings, timeout_ms=3000):
    """(controller id, how it was chosen), as the cluster reports it."""
    with connect(settings, timeout_ms) as admin:
        return cluster_facts.controller(admin)


def controller_if_allowed(admin):
    """cluster_facts.controller; (None, why not) where the client may not ask (KRaft: DESCRIBE
    on the cluster)."""
    try:
        return cluster_facts.controller(admin)
    except AuthorizationError:
        return None, str(access.not_authorized(admin.config, "DESCRIBE", "cluster"))


def describe(settings):
    """The lab's partitions (leader, replicas, in-sync replicas), the live brokers and the
    controller, as lines of text in kafka-topics --describe's shape."""
    def ids(nodes):
        return ",".join(map(str, nodes)) or "-"
    with connect(settings, say_waiting=True) as admin:
        topics = lab_topics(admin)
        brokers = sorted(ask(admin.describe_cluster)["brokers"], key=lambda b: b["broker_id"])
        controller, how = controller_if_allowed(admin)
    lines = []
    for topic in TOPIC_PARTITIONS:
        if topic not in topics:
            lines.append(f"Topic: {topic}\t(does not exist: python -m irislab.admin creates it)")
        for p in topics.get(topic, ()):
            leader = p["leader_id"] if p["leader_id"] >= 0 else "none"
            lines.append(f"Topic: {topic}\tPartition: {p['partition_index']}\tLeader: {leader}\t"
                         f"Replicas: {ids(p['replica_nodes'])}\tIsr: {ids(p['isr_nodes'])}")
    lines.append("Brokers alive: " + ", ".join(f"{b['broker_id']} ({b['host']}:{b['port']})"
                                               for b in brokers))
    shown = "not shown" if controller is None else controller if controller >= 0 else "none"
    lines.append(f"Controller: {shown} ({how})")
    return "\n".join(lines)


def diagnose(settings, partitions):
    """Why acks=all writes to these (topic, partition)s cannot succeed now, in the lab's
    words, as one line; empty if the cluster shows no reason."""
    try:
        with connect(settings, timeout_ms=3000) as admin:
            topics = lab_topics(admin)
            live = {b["broker_id"] for b in ask(admin.describe_cluster)["brokers"]}
            controller, how = controller_if_allowed(admin)
    except (LabError, KafkaError) as e:
        return f"no broker answers to say why ({e})"
    no_leader, too_few = [], []
    for topic, partition in sorted(partitions):
        described = topics.get(topic, [])
        if partition >= len(described):
            continue
        p = described[partition]
        isr, replicas = [b for b in p["isr_nodes"] if b in live], p["replica_nodes"]
        need = min_insync_replicas(len(replicas))
        if p["leader_id"] not in live:
            no_leader.append(partition_label(topic, partition))
        elif len(isr) < need:
            too_few.append(f"{partition_label(topic, partition)} {len(isr)}/{len(replicas)} in sync "
                           f"(min.insync.replicas {need})")
    reasons = [] if controller is None or controller >= 0 else [f"no controller ({how})"]
    if no_leader:
        reasons.append("no live leader for " + ", ".join(no_leader))
    if too_few:
        reasons.append("not enough in-sync replicas: " + ", ".join(too_few))
    return "; ".join(reasons)


def groups_report(settings, names=None):
    """--groups: the named consumer groups (or all), as text: state, assignor, members, and
    a row per partition in kafka-consumer-groups' columns."""
    with connect(settings, say_waiting=True) as admin:
        groups = group_offsets.describe_groups(admin, names)
    if not groups:
        return f"no consumer groups on the cluster at {settings['bootstrap_servers']}"
    return group_offsets.groups_text(groups)


WATCH_INTERVAL_S = 1


def watch_groups(settings, names=None):
    """--groups --watch: the report again about every second until Ctrl-C, in place on a
    terminal. A failure before the first report ends the command (no broker, no such group);
    a later one is shown and the next round asks again, with a new client, as a broker that
    restarts or a group coordinator that moves needs."""
    clear = "\033[H\033[2J" if sys.stdout.isatty() else ""
    shown = False
    while True:
        started = time.monotonic()
        try:
            report = groups_report(settings, names)
        except (LabError, KafkaError) as e:
            if not shown:
                raise
            report = f"no answer: {e}"
        print(f"{clear}{time.strftime('%H:%M:%S')}, every {WATCH_INTERVAL_S} s until Ctrl-C\n\n"
              f"{report}\n", flush=True)
        shown = True
        time.sleep(max(0.0, WATCH_INTERVAL_S - (time.monotonic() - started)))


def main(args):
    settings = cli.client_settings(args)
    with access.refusals_explained(settings, "DESCRIBE"):
        if args.describe:
            print(describe(settings))
            return 0
        if args.groups is not None:
            names = args.groups or None  # none named: every group
            if args.watch:
                return watch_groups(settings, names)
            print(groups_report(settings, names))
            return 0
        for topic, (replicas, state) in ensure_topics(settings, args.reset).items():
            print(f"{topic}: {TOPIC_PARTITIONS[topic]} partitions, replication factor "
                  f"{replicas} ({state})")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m irislab.admin",
                                     description=__doc__.split("\n")[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--reset", action="store_true", help="delete and recreate the lab's topics")
    action.add_argument("--describe", action="store_true",
                        help="show each lab partition's leader, replicas and in-sync replicas, "
                             "the live brokers and the controller")
    action.add_argument("--groups", nargs="*", metavar="NAME", type=cli.group_name,
                        help="show the consumer groups NAME ... (none named: every one): "
                             "state, assignor and members, then each partition's committed "
                             "offset, log-end offset and lag, in kafka-consumer-groups "
                             "--describe's columns")
    parser.add_argument("--watch", action="store_true",
                        help="with --groups: show them again every second, until Ctrl-C")
    cli.add_connection_arguments(parser)
    return parser


def parse_args(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.watch and args.groups is None:
        parser.error("--watch shows --groups again every second: use it with --groups")
    return args


if __name__ == "__main__":
    sys.exit(run_command(main, parse_args(), "python -m irislab.admin"))
