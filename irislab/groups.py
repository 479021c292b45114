"""A consumer as a member of a consumer group, the lab's group_id answer: the group shares
the topics' partitions among its members and keeps each member's committed position.

consumer.py --group reads through irislab/reading.py, which uses these: the member's session
settings, GroupOffsets (commit only what has been shown), ShowRebalance (print `assigned:` /
`revoked:` as partitions move) and leave_on_sigterm (a member stopped with SIGTERM leaves its
group at once).
"""

import signal
import sys

from kafka import AsyncConsumerRebalanceListener, OffsetAndMetadata, TopicPartition
from kafka.errors import KafkaError

from irislab.layout import ROLE_PARTITIONS, partition_label

# How long the group waits for a member's heartbeat before it gives the member's partitions
# to the others: what a SIGKILLed consumer costs. Kafka's default, 45 s, is long to watch in
# a lab; 10 s still rides out a busy laptop's pauses, and the broker accepts 6 s and up
# (group.min.session.timeout.ms). A member that stops cleanly leaves the group at once.
SESSION_TIMEOUT_MS = 10_000
# Heartbeats also tell a member that the group is rebalancing (a member came or went):
# every second, so the partitions move within about a second.
HEARTBEAT_INTERVAL_MS = 1000


def partition_list(tps):
    """virginicasetosa[0], versicolor[1]: in the layout's order."""
    order = ROLE_PARTITIONS["all"]
    keys = sorted(((tp.topic, tp.partition) for tp in tps),
                  key=lambda key: order.index(key) if key in order else len(order))
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
    these on its network thread, where a commit must be awaited, not waited for.)"""

    def __init__(self, offsets):
        self.offsets = offsets
        self.held = set()     # the partitions this member holds now
        self.assigned = None  # a new assignment, until the reading loop takes it

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
        print(f"revoked: {partition_list(revoked)}", flush=True)

    async def on_partitions_assigned(self, assigned):
        if set(assigned) != self.held:  # from none to none is no change
            self.held = self.assigned = set(assigned)
            print(f"assigned: {partition_list(assigned)}", flush=True)

    async def on_partitions_lost(self, lost):
        # the group gave them away already (this member missed its heartbeats): nothing to commit
        self.offsets.forget(lost)
        self.held -= set(lost)
        print(f"lost: {partition_list(lost)}", flush=True)


def leave_on_sigterm():
    """SIGTERM stops a group member as Ctrl-C does: it commits, leaves its group (so its
    partitions move to the others at once) and shows what it read."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)
