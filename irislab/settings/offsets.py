"""Experiments on a group's positions: where a new group starts (auto_offset_reset), and
what a crash replays when kafka-python commits them in the background (enable_auto_commit,
with auto_commit_interval_ms)."""

import json
import signal
import time

from kafka import TopicPartition

from irislab import cli
from irislab.settings.child import Child
from irislab.settings.place import group, lab_records, read_to_end, send_all
from irislab.settings.result import Result
from irislab.waiting import wait_until

LATER = 10  # records sent after the consumers joined


def auto_offset_reset(place):
    """A new group reads the lab's 150 records with earliest and none with latest; both then
    read what is sent after they joined."""
    topic = place.topic("auto_offset_reset")
    records = lab_records()
    producer = place.producer()
    send_all(producer, topic, records)
    consumers = {reset: place.consumer(topic, group_id=group("auto_offset_reset"),
                                       auto_offset_reset=reset, enable_auto_commit=False)
                 for reset in ("earliest", "latest")}
    try:
        at_join = {reset: len(read_to_end(c)) for reset, c in consumers.items()}
        send_all(producer, topic, records[:LATER])
        after = {reset: len(read_to_end(c)) for reset, c in consumers.items()}
    finally:
        producer.close()
        for c in consumers.values():
            c.close()
    rows = [(reset, len(records), at_join[reset], LATER, after[reset]) for reset in consumers]
    return Result("auto_offset_reset",
                  ("auto_offset_reset", "on the topic", "a new group read", "sent later",
                   "then read"), rows,
                  f"a new group starts at the first record with earliest ({at_join['earliest']} "
                  f"read) and at the end with latest ({at_join['latest']}); both read the "
                  f"{LATER} sent after they joined")


# enable_auto_commit: the group member runs as a child process, so that it can be stopped as
# a crash stops it (SIGKILL: no close(), no last commit) or as Ctrl-C does
INTERVAL_MS = 1000  # auto_commit_interval_ms: short, the default is 5000
BATCH = 30          # max_poll_records: what one poll() hands over
STOP_AT = 45        # records shown when it is stopped: in the middle of the 2nd poll's batch

# The member: shows each record (prints its id) and after `until` records waits for a line
# on stdin before it goes on (a slow step the experiment controls). Without auto-commit it
# commits as irislab's consumer does: what it has shown, after showing it (GroupOffsets).
MEMBER = r"""
import json, sys, time
from kafka import KafkaConsumer
from irislab.groups import GroupOffsets
job = json.loads(sys.stdin.readline())
consumer = KafkaConsumer(job["topic"], **job["settings"])
offsets = None if job["settings"]["enable_auto_commit"] else GroupOffsets(consumer)
shown, until = 0, int(sys.stdin.readline())
try:
    while True:
        for tp, records in consumer.poll(timeout_ms=500).items():
            for record in records:
                print("shown", json.loads(record.value)["id"], flush=True)
                shown += 1
                if offsets is not None:
                    offsets.shown[tp.topic, tp.partition] = record.offset + 1
                    offsets.commit()
                while shown >= until:
                    print("waiting", time.monotonic(), flush=True)
                    until = int(sys.stdin.readline())
finally:
    consumer.close()  # with enable_auto_commit, close() commits the position
"""


class Member(Child):
    """The member's process, and the ids it has shown."""

    def __init__(self, place, topic, group_id, auto):
        config = {**place.settings, **cli.CLIENT_SETTINGS, "group_id": group_id,
                  "auto_offset_reset": "earliest", "enable_auto_commit": auto,
                  "auto_commit_interval_ms": INTERVAL_MS, "max_poll_records": BATCH}
        # stdin stays open: show_until() tells it how far to go
        super().__init__(MEMBER, send=[{"topic": topic, "settings": config}],
                         keep_stdin=True, name="the member")
        self.shown = []

    def show_until(self, count, timeout=40):
        """Let it go on until it has shown `count` records and waits; the monotonic time
        (the same clock in every process) at which it started to wait."""
        self.tell(str(count))
        deadline = time.monotonic() + timeout
        while True:
            try:
                _, line = self.next(deadline - time.monotonic())
            except TimeoutError:
                raise TimeoutError(f"the member had shown {len(self.shown)} records after "
                                   f"{timeout} s") from None
            word, value = line.split()
            if word == "shown":
                self.shown.append(int(value))
            else:
                return float(value)


def committed(admin, group_id, tp):
    """The group's committed offset of the partition, None if there is none."""
    offset = admin.list_group_offsets(group_id)[group_id].get(tp)
    return offset.offset if offset is not None and offset.offset >= 0 else None


def crash(place, admin, topic, auto, sig):
    """A member shows a batch, takes longer than the interval over it, shows STOP_AT in
    all and is stopped with `sig`; then a rerun in its group reads on from the group's
    committed position. (shown before, committed at the stop, shown by the rerun)."""
    group_id = group("enable_auto_commit")
    tp = TopicPartition(topic, 0)
    member = Member(place, topic, group_id, auto)
    try:
        waited_from = member.show_until(BATCH)
        # the slow step: at least the interval, so the next poll() is due an auto-commit
        time.sleep(max(0, waited_from + INTERVAL_MS / 1000 - time.monotonic()))
        member.show_until(STOP_AT)
        # the state to stop in: a commit made (an auto-commit is asynchronous: it lands
        # after the member has shown on), and the member waiting in the middle of a batch
        wait_until(lambda: (committed(admin, group_id, tp) or 0) > 0, timeout=30)
        member.stop(sig)
    finally:
        member.close()
    at_stop = committed(admin, group_id, tp)
    # the rerun takes the partition with assign(): it starts at the group's committed
    # position at once, rather than after the killed member's session has expired
    rerun = place.consumer(group_id=group_id, enable_auto_commit=False,
                           auto_offset_reset="earliest")
    try:
        rerun.assign([tp])
        again = [json.loads(r.value)["id"] for r in read_to_end(rerun)]
    finally:
        rerun.close()
    return member.shown, at_stop, again


def enable_auto_commit(place):
    """A member that auto-commits every INTERVAL_MS, killed after showing records since its
    last auto-commit, has them shown again by the rerun; irislab's way (commit after
    showing) shows none again; Ctrl-C, whose close() auto-commits the records handed over
    but not shown yet, loses them."""
    topic = place.topic("enable_auto_commit")
    records = lab_records()
    producer = place.producer()
    try:
        send_all(producer, topic, records)
    finally:
        producer.close()
    cases = ((f"auto-commit every {INTERVAL_MS} ms", True, signal.SIGKILL, "SIGKILL"),
             ("commit after show (irislab)", False, signal.SIGKILL, "SIGKILL"),
             (f"auto-commit every {INTERVAL_MS} ms", True, signal.SIGINT, "Ctrl-C, close()"))
    rows = []
    with place.admin() as admin:
        for mode, auto, sig, how in cases:
            shown, at_stop, again = crash(place, admin, topic, auto, sig)
            duplicates = len(set(shown) & set(again))
            lost = len(records) - len(set(shown) | set(again))
            rows.append((mode, how, len(shown), at_stop, len(again), duplicates, lost))
    columns = ("commits", "stopped by", "shown before", "committed at the stop",
               "shown by the rerun", "duplicates", "lost")
    killed, ours, closed = (dict(zip(columns, row)) for row in rows)
    return Result("enable_auto_commit", columns, rows,
                  f"killed after showing {killed['shown before']}, an auto-committing member "
                  f"had committed only {killed['committed at the stop']} (kafka-python "
                  f"auto-commits in poll() what the poll before handed over): its rerun "
                  f"showed {killed['duplicates']} again; committing after showing (irislab's way) "
                  f"left {ours['duplicates']} duplicates; stopped by Ctrl-C, close() "
                  f"auto-commits records handed over but not shown: {closed['lost']} lost")
