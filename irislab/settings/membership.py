"""Experiments on how a group notices that a member is gone: session_timeout_ms (with
heartbeat_interval_ms), max_poll_interval_ms."""

import json
import signal
import sys
import time

from kafka import KafkaConsumer
from kafka.errors import InvalidSessionTimeoutError, KafkaError
from kafka.structs import MemberState, OffsetAndMetadata

from irislab import cli
from irislab.settings import LAB_VERSION, SETTINGS
from irislab.settings.child import Child
from irislab.settings.result import Result
from irislab.waiting import wait_until

# the member() processes import this module: place.py (group(), the lab's records) is
# imported in the functions that need it, as it brings pandas, which would slow their start
# on a busy machine by seconds

# session_timeout_ms: the two timeouts tried (the default, 45 s, would make the run too
# long), each with heartbeat_interval_ms a third of it, as Kafka recommends
SESSION_TIMEOUTS = (6000, 15000)
BROKER_MINIMUM = 6000  # group.min.session.timeout.ms's default
KILLED, CLOSED = "killed (SIGKILL: no LeaveGroup)", "closed (close(): LeaveGroup)"
REFUSED = "joined with less than the broker allows"

# max_poll_interval_ms: one member's processing of a poll()'s records takes QUICK s, then SLOW s
MAX_POLL_INTERVAL_MS = 3000
QUICK, SLOW = 0.5, 6.0
BATCH = 10  # records sent to each partition per round


# --- session_timeout_ms: two member processes per group, one of which leaves

def member():
    """A group member as a process of its own: python -c "...member()" TOPIC GROUP
    SESSION_MS, the client settings as a JSON line on stdin (not on the command line: they
    may hold a password). It prints its partitions as a JSON list each time they change;
    SIGTERM makes it close() (which sends LeaveGroup), SIGKILL is a crash."""
    topic, group_id, session_ms = sys.argv[1], sys.argv[2], int(sys.argv[3])
    settings = json.loads(sys.stdin.readline())
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    consumer = KafkaConsumer(topic, group_id=group_id, session_timeout_ms=session_ms,
                             heartbeat_interval_ms=session_ms // 3, enable_auto_commit=False,
                             **settings, **cli.CLIENT_SETTINGS)
    while not consumer.partitions_for_topic(topic):  # as place.know_partitions, without
        time.sleep(0.2)                               # importing place (pandas) in a child
    shown = None
    try:
        while not stop:
            consumer.poll(timeout_ms=100)
            partitions = sorted(tp.partition for tp in consumer.assignment())
            if partitions != shown:
                print(json.dumps(partitions), flush=True)
                shown = partitions
    finally:
        consumer.close()


class Member(Child):
    """A member() process, and the partitions it said it had, with when the parent read
    each line (its own clock: the child's is not comparable)."""

    def __init__(self, place, topic, group_id, session_ms):
        super().__init__("from irislab.settings.membership import member; member()",
                         topic, group_id, session_ms, send=[dict(place.settings)],
                         name="a group member process")
        self.group_id = group_id
        self.said = []  # (monotonic time, partitions)

    def partitions(self):
        """What it said last (None before it said anything); takes in what it said since.
        Asked only of a member that should be running: its exit is an error."""
        while True:
            try:
                read, line = self.next(0)
            except TimeoutError:
                break
            self.said.append((read, json.loads(line)))
        return self.said[-1][1] if self.said else None

    def had_since(self, since, partitions):
        """When it first said it had `partitions` after `since`, or None."""
        self.partitions()
        return next((t for t, p in self.said if t >= since and p == partitions), None)


def wait_for(what, condition, timeout):
    """wait_until(), checking often (done() notes when the broker dropped a member), saying
    what did not happen."""
    try:
        wait_until(condition, timeout, interval=0.05)
    except TimeoutError as e:
        raise TimeoutError(f"{what}: {e}") from None


def refused_session_timeout(place, topic, group_id, session_ms):
    """The error the broker answers a JoinGroup with session_ms with, or None if it let the
    consumer in."""
    consumer = place.consumer(topic, group_id=group_id,
                              session_timeout_ms=session_ms,
                              heartbeat_interval_ms=session_ms // 3)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not consumer.assignment():
            consumer.poll(timeout_ms=200)
        return None
    except InvalidSessionTimeoutError as e:
        return type(e).__name__
    finally:
        consumer.close()


def session_timeout_ms(place):
    """Groups of two member processes, each with a partition: one leaves, by a crash
    (SIGKILL) or by close(); the time until the broker dropped it from the group, and until
    the other had both partitions. After a crash the broker waits a session timeout from the
    member's last heartbeat (up to heartbeat_interval_ms before the kill); a close() sends
    LeaveGroup, dropping it at once. Either way the survivor learns of the rebalance from
    its next heartbeat's answer, up to heartbeat_interval_ms later."""
    from irislab.settings.place import group
    topic = place.topic("session_timeout_ms", partitions=2)
    cases = [(how, ms) for how in (KILLED, CLOSED) for ms in SESSION_TIMEOUTS]
    groups = {}
    try:
        # every group at once, so that the run takes about the longest timeout, not the sum
        for case in cases:
            name = group("session_timeout_ms")
            groups[case] = [Member(place, topic, name, case[1]) for _ in range(2)]
        refused = refused_session_timeout(place, topic, group("session_timeout_ms"),
                                          BROKER_MINIMUM // 2)
        wait_for("each member of each group having a partition",
                 lambda: all(len(m.partitions() or ()) == 1
                             for members in groups.values() for m in members), 40)
        left, dropped = {}, {}
        for (how, ms), (leaving, _) in groups.items():
            left[how, ms] = time.monotonic()
            leaving.signal(signal.SIGKILL if how == KILLED else signal.SIGTERM)
        with place.admin() as admin:
            def done():
                # the broker's view: when the group is down to one member
                names = {members[0].group_id: case for case, members in groups.items()
                         if case not in dropped}
                if names:
                    for name, described in admin.describe_groups(list(names)).items():
                        if len(described["members"]) == 1:
                            dropped[names[name]] = time.monotonic() - left[names[name]]
                return len(dropped) == len(groups) and all(
                    survivor.had_since(left[case], [0, 1])
                    for case, (_, survivor) in groups.items())
            wait_for("the survivors having both partitions", done,
                     max(SESSION_TIMEOUTS) / 1000 * 2 + 10)
        moved = {case: survivor.had_since(left[case], [0, 1]) - left[case]
                 for case, (_, survivor) in groups.items()}
    finally:
        for members in groups.values():
            for m in members:
                m.close()
    rows = [(how, ms, ms // 3, round(dropped[how, ms], 1), round(moved[how, ms], 1))
            for how, ms in cases]
    rows.append((REFUSED, BROKER_MINIMUM // 2, BROKER_MINIMUM // 6,
                 f"refused: {refused or 'accepted!'}", "-"))
    kills = ", ".join(f"{moved[KILLED, ms]:.1f} s with {ms / 1000:g} s"
                      for ms in SESSION_TIMEOUTS)
    (setting,) = [s for s in SETTINGS if s.name == "session_timeout_ms"]
    closes = ", ".join(f"{moved[CLOSED, ms]:.1f} s" for ms in SESSION_TIMEOUTS)
    return Result("session_timeout_ms",
                  ("how the member left", "session_timeout_ms", "heartbeat_interval_ms",
                   "s until the broker dropped it", "s until the survivor had both partitions"),
                  rows,
                  f"a crashed member's partitions moved after about its session timeout "
                  f"({kills}; the default is {setting.default / 1000:g} s, "
                  f"{setting.lab_default / 1000:g} s in kafka-python {LAB_VERSION}), a closed "
                  f"one's at the survivor's next heartbeat ({closes}); the broker refuses a "
                  f"timeout under its group.min.session.timeout.ms ({BROKER_MINIMUM} ms)")


# --- max_poll_interval_ms: two members in one process, one of which stops calling poll()

class Members:
    """Consumers of one group polled in turn from one thread, each poll() short, so that
    none goes max_poll_interval_ms without one; the records each read, when it last polled."""

    def __init__(self, consumers):
        self.consumers = consumers
        self.read = {c: [] for c in consumers}
        self.polled = {}

    def poll(self, *consumers):
        for c in consumers or self.consumers:
            for records in c.poll(timeout_ms=100).values():
                self.read[c].extend(records)
            self.polled[c] = time.monotonic()

    def poll_until(self, condition, timeout, what, *consumers):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} did not happen in {timeout} s")
            self.poll(*consumers)


def at_end(consumer):
    """Whether the consumer has partitions and has read each to its end."""
    assigned = consumer.assignment()
    return bool(assigned) and all(consumer.position(tp) >= end
                                  for tp, end in consumer.end_offsets(list(assigned)).items())


def max_poll_interval_ms(place):
    """Two members, a partition each, read a batch of records per partition. One processes
    its batch in QUICK s and commits: accepted. Then it processes the next in SLOW s, longer
    than max_poll_interval_ms without a poll(): its own heartbeat thread leaves the group,
    the other member is given its partition and reads the batch again, and its commit is
    refused."""
    from irislab.settings.place import group, lab_records, send_all
    topic = place.topic("max_poll_interval_ms", partitions=2)
    name = group("max_poll_interval_ms")
    config = dict(group_id=name, max_poll_interval_ms=MAX_POLL_INTERVAL_MS,
                  heartbeat_interval_ms=1000,  # the heartbeat thread checks the poll timer
                  enable_auto_commit=False, auto_offset_reset="earliest")
    producer = place.producer()
    slow, other = place.consumer(topic, **config), place.consumer(topic, **config)
    members = Members([slow, other])
    records, rows = lab_records(), []
    try:
        members.poll_until(lambda: len(slow.assignment()) == len(other.assignment()) == 1,
                           30, "each member having a partition")
        (mine,) = slow.assignment()
        for n, processing in enumerate((QUICK, SLOW)):
            for p in (0, 1):
                send_all(producer, topic, records[(2 * n + p) * BATCH:][:BATCH], partition=p)
            members.poll_until(lambda: at_end(slow) and at_end(other), 30,
                               "both members reading the batch")
            batch = [r for r in members.read[slow] if r.offset >= n * BATCH]
            # processing: no slow.poll(), but the other member goes on polling
            last_poll = members.polled[slow]
            left = moved = None
            while time.monotonic() - last_poll < processing:
                members.poll(other)
                now = time.monotonic()
                if left is None and slow.group_metadata().state != MemberState.STABLE:
                    left = now - last_poll
                if moved is None and mine in other.assignment():
                    moved = now - last_poll
            try:
                slow.commit({mine: OffsetAndMetadata(batch[-1].offset + 1, "", -1)})
                commit = "accepted"
            except KafkaError as e:
                commit = type(e).__name__
            between = time.monotonic() - last_poll
            if processing == SLOW:
                members.poll_until(lambda: mine in other.assignment() and at_end(other), 30,
                                   "the other member reading the slow one's partition", other)
                moved = moved or time.monotonic() - last_poll
            again = {r.offset for r in batch} & {
                r.offset for r in members.read[other] if r.partition == mine.partition}
            rows.append((round(between, 1), MAX_POLL_INTERVAL_MS,
                         round(left, 1) if left else "stayed", commit,
                         f"the other member, at {moved:.1f} s" if moved else "kept it",
                         len(again)))
            other.commit()
    finally:
        producer.close()
        slow.close()
        other.close()
    return Result("max_poll_interval_ms",
                  ("s between its poll()s", "max_poll_interval_ms", "it left the group at (s)",
                   "its commit", "its partition went to", "records read again by the other"),
                  rows,
                  f"a member that went {rows[1][0]:.1f} s without poll() was taken out of the "
                  f"group by its own heartbeat thread {rows[1][2]} s after its last poll, its "
                  f"commit was refused ({rows[1][3]}) and the other member read its "
                  f"{rows[1][5]} records again; within {MAX_POLL_INTERVAL_MS / 1000:g} s "
                  f"its commit was {rows[0][3]}")
