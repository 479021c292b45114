"""A consumer as a member of a consumer group, the lab's group_id answer: the group shares
the topics' partitions among its members and keeps each member's committed position.

consumer.py --group reads through irislab/reading.py, which uses these: the member's session
settings, ASSIGNORS (--assignor: how the group shares the partitions when members come and
go), GroupOffsets (commit only what has been shown), ShowRebalance (print `assigned:` /
`revoked:` as partitions move) and leave_on_sigterm (a member stopped with SIGTERM leaves its
group at once).
"""

import signal
import sys

from kafka import AsyncConsumerRebalanceListener, OffsetAndMetadata, TopicPartition
from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from kafka.errors import KafkaError

from irislab.errors import LabError
from irislab.layout import layout_order, partition_label

# How long the group waits for a member's heartbeat before it gives the member's partitions
# to the others: what a SIGKILLed consumer costs. Kafka's default, 45 s, is long to watch in
# a lab; 10 s still rides out a busy laptop's pauses, and the broker accepts 6 s and up
# (group.min.session.timeout.ms). A member that stops cleanly leaves the group at once.
SESSION_TIMEOUT_MS = 10_000
# Heartbeats also tell a member that the group is rebalancing (a member came or went):
# every second, so the partitions move within about a second.
HEARTBEAT_INTERVAL_MS = 1000

# --assignor -> kafka-python's partition_assignment_strategy. range is kafka-python's default
# (range, else roundrobin), eager rebalancing: at every change each member gives back all its
# partitions and the group hands them all out again. cooperative is the cooperative-sticky
# assignor (KIP-429): a member gives back only the partitions that move, and keeps reading
# the others. kafka-python refuses a consumer that lists both kinds.
ASSIGNORS = {"range": (RangePartitionAssignor, RoundRobinPartitionAssignor),
             "cooperative": (CooperativeStickyAssignor,)}
# how a group rebalances, by the assignor its members agreed on (Kafka's names)
REBALANCING = {"range": "eager", "roundrobin": "eager", "sticky": "eager",
               "cooperative-sticky": "cooperative"}


def partition_list(tps):
    """virginicasetosa[0], versicolor[1]: in the layout's order."""
    keys = sorted(((tp.topic, tp.partition) for tp in tps), key=layout_order)
    return ", ".join(partition_label(t, p) for t, p in keys) or "(none)"


class GroupOffsets:
    """A group member's offsets: the position after the last record shown, per partition,
    committed to the group only after the records are shown, never before (at-least-once:
    a member that dies between showing and committing has its last records shown again by
    the member that takes its partitions over)."""

    def __init__(self, consumer):
        self.consumer = consumer
        self.shown = {}  # (topic, partition) -> offset after the last record shown

    def uncommitted(self, only=None):
        offsets = {TopicPartition(t, p): OffsetAndMetadata(offset, "", -1)
                   for (t, p), offset in self.shown.items()}
        return {tp: o for tp, o in offsets.items() if only is None or tp in only}

    def forget(self, tps):
        for tp in tps:
            self.shown.pop((tp.topic, tp.partition), None)

    def commit(self):
        offsets = self.uncommitted()
        if offsets:
            try:
                self.consumer.commit(offsets, timeout_ms=5000)
            except KafkaError as e:
                print(f"warning: could not commit to the group ({e}): another member will "
                      "show these records again", file=sys.stderr, flush=True)
            self.shown.clear()


class ShowRebalance(AsyncConsumerRebalanceListener):
    """Prints the member's partitions each time the group moves them, and commits what it
    has shown of a partition before the partition goes to another member. (kafka-python runs
    these on its network thread, where a commit must be awaited, not waited for.)

    Eager rebalancing revokes every partition, then assigns the new set; cooperative
    rebalancing revokes only the partitions that move and assigns only those that are new.
    Either way `assigned:` lists all that the member holds after the change."""

    def __init__(self, offsets):
        self.offsets = offsets
        self.held = set()    # the partitions this member holds now
        self.changed = None  # what it holds after a change, until the reading loop takes it

    async def on_partitions_revoked(self, revoked):
        if not revoked:
            return
        offsets = self.offsets.uncommitted(only=revoked)
        if offsets:
            try:
                await self.offsets.consumer.commit_async(offsets)
            except KafkaError as e:
                print(f"warning: could not commit before giving partitions away ({e})",
                      file=sys.stderr, flush=True)
        self.offsets.forget(revoked)
        self.held -= set(revoked)
        self.changed = set(self.held)
        print(f"revoked: {partition_list(revoked)}", flush=True)

    async def on_partitions_assigned(self, assigned):
        now = self.held | set(assigned)
        if now != self.held:  # from none to none is no change
            self.held, self.changed = now, set(now)
            print(f"assigned: {partition_list(now)}", flush=True)

    async def on_partitions_lost(self, lost):
        # the group gave them away already (this member missed its heartbeats): nothing to commit
        self.offsets.forget(lost)
        self.held -= set(lost)
        self.changed = set(self.held)
        print(f"lost: {partition_list(lost)}", flush=True)


def assignor_refused(group, assignor):
    """The error for a member its group refused (InconsistentGroupProtocol): the members there
    use another assignor. Kafka's way to switch a live group, a rolling restart listing both
    assignors then one listing the new one alone, is not open to kafka-python, which refuses a
    consumer that lists assignors of both rebalancing kinds."""
    return LabError(
        f"group {group} refused this member: its members share the partitions with another "
        f"assignor than {assignor}, and every member of a group must use the same --assignor "
        "(to switch: stop every member, then start them with the new one; the group keeps "
        "its committed offsets)")


def leave_on_sigterm():
    """SIGTERM stops a group member as Ctrl-C does: it commits, leaves its group (so its
    partitions move to the others at once) and shows what it read."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)
