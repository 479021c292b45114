"""What a consumer group has read and what it still has to read, as Kafka's own tool shows it
(kafka-consumer-groups --describe): the group's state, its assignor and members, then one row
per partition with the group's committed offset, the partition's log-end offset and the lag
between them. python -m irislab.admin --groups prints it.

    describe_groups(admin, names)   the groups, asked of the cluster: [GroupView]
    ask_coordinator(request, ...)   a question about groups, asked once their coordinator
                                    is up (a fresh broker starts it on a group's first use)
    groups_text(groups)             the text admin prints

A partition gets a row if a member holds it or the group has committed an offset for it.
`-` marks what is not there, as the tool prints it: no commit yet (CURRENT-OFFSET and LAG),
no member holding the partition (CONSUMER-ID, HOST, CLIENT-ID), no leader to ask for the
log-end offset (LOG-END-OFFSET and LAG).
"""

import sys
import time
from dataclasses import dataclass
from typing import Optional

from kafka import TopicPartition
from kafka.admin import OffsetSpec
from kafka.errors import (CoordinatorLoadInProgressError, CoordinatorNotAvailableError,
                          GroupIdNotFoundError, NotCoordinatorError)

from irislab.cluster_facts import ask
from irislab.errors import LabError
from irislab.groups import REBALANCING, partition_list
from irislab.layout import layout_order

# How long to wait for a group's coordinator. A broker that has never had a group creates
# __consumer_offsets (50 partitions) on the first FindCoordinator, and answers "not
# available" until it has: about a second on an idle machine, several on a busy one.
COORDINATOR_WAIT_S = 30
COORDINATOR_STARTING = (CoordinatorNotAvailableError, CoordinatorLoadInProgressError,
                        NotCoordinatorError)

MISSING = "-"
COLUMNS = ("GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
           "CONSUMER-ID", "HOST", "CLIENT-ID")


@dataclass(frozen=True)
class Member:
    member_id: str
    client_id: str
    host: str
    partitions: tuple  # ((topic, partition), ...), in the layout's order


@dataclass(frozen=True)
class PartitionRow:
    topic: str
    partition: int
    committed: Optional[int]   # the group's committed offset; None: nothing committed
    end: Optional[int]         # the log-end offset; None: no leader to ask
    member: Optional[Member]   # who holds the partition; None: no member does

    @property
    def lag(self):
        return None if self.committed is None or self.end is None else self.end - self.committed


@dataclass(frozen=True)
class GroupView:
    name: str
    state: str        # Kafka's: Stable, Empty, PreparingRebalance, CompletingRebalance
    assignor: str     # the assignor the members agreed on; "" without members
    members: tuple    # (Member, ...)
    rows: tuple       # (PartitionRow, ...), in the layout's order


def consumer_group_names(admin):
    """The names of the cluster's consumer groups (classic and KIP-848 consumer groups, and
    groups that only commit offsets, as the lab's roles setosa and virginica do)."""
    return sorted(g["group_id"] for g in ask(admin.list_groups)
                  if g["protocol_type"] in ("consumer", ""))


def describe_groups(admin, names=None):
    """[GroupView] of the named groups, or of every consumer group. A named group that does
    not exist is an error naming it."""
    if names is None:
        names = consumer_group_names(admin)
    names = list(dict.fromkeys(names))  # each once, in the order given
    if not names:
        return []
    described = ask_coordinator(admin.describe_groups, names)
    missing = [name for name in names if not exists(described[name])]
    if missing:
        raise LabError(f"no consumer group {', '.join(map(repr, missing))} on the cluster "
                       "(python -m irislab.admin --groups lists those there are)")
    committed = ask_coordinator(admin.list_group_offsets, names)
    members = {name: members_of(described[name]) for name in names}
    held = {name: {tp: m for m in members[name] for tp in m.partitions} for name in names}
    keys = {name: sorted({(tp.topic, tp.partition) for tp, o in committed[name].items()
                          if o.offset >= 0} | set(held[name]), key=layout_order)
            for name in names}
    ends = log_end_offsets(admin, {key for name in names for key in keys[name]})
    views = []
    for name in names:
        offsets = {(tp.topic, tp.partition): o.offset for tp, o in committed[name].items()
                   if o.offset >= 0}
        rows = tuple(PartitionRow(t, p, offsets.get((t, p)), ends.get((t, p)),
                                  held[name].get((t, p))) for t, p in keys[name])
        group = described[name]
        views.append(GroupView(name, group["group_state"], group["protocol_data"] or "",
                               members[name], rows))
    return views


def ask_coordinator(request, names, wait_s=COORDINATOR_WAIT_S):
    """request(names), a question about consumer groups that their coordinator answers,
    asked again while the broker says the coordinator is not there yet (not available, still
    loading the groups, or moving: NotCoordinator), as Kafka's own tools wait for it; one
    line on stderr says so, once. After wait_s it is a LabError."""
    deadline = time.monotonic() + wait_s
    said = False
    while True:
        try:
            answer = ask(request, names, unless=COORDINATOR_STARTING)
            starting = coordinator_starting(answer)
        except COORDINATOR_STARTING as e:
            starting = type(e).__name__
        if starting is None:
            return answer
        if time.monotonic() >= deadline:
            raise LabError(f"no coordinator for group {', '.join(names)} after {wait_s} s: "
                           f"the broker still answers {starting}")
        if not said:
            print(f"waiting for the coordinator of group {', '.join(names)}: a broker starts "
                  "it on a group's first use (topic __consumer_offsets)",
                  file=sys.stderr, flush=True)
            said = True
        time.sleep(0.2)


def coordinator_starting(answer):
    """The name of the error, if a group of a describe_groups answer (which carries each
    group's error as text, where other requests raise it) says its coordinator is not there
    yet; else None."""
    for group in answer.values():
        error = group.get("error") if isinstance(group, dict) else None
        for starting in COORDINATOR_STARTING:
            if error and starting.__name__ in error:
                return starting.__name__
    return None


def exists(described):
    """Does a describe_groups answer show a group? KRaft's coordinator answers
    GroupIdNotFound for one that is not there, ZooKeeper mode's the state Dead."""
    error = described["error"]
    if error and GroupIdNotFoundError.__name__ not in error:
        raise LabError(f"cannot describe group {described['group_id']!r}: {error}")
    return not error and described["group_state"] != "Dead"


def members_of(described):
    """The group's members, as Members: the partitions each was assigned."""
    members = []
    for m in described["members"]:
        # kafka-python decodes an assignment into a dict; a member still joining has none yet
        assignment = m["member_assignment"] if isinstance(m["member_assignment"], dict) else {}
        owned = [(t["topic"], p) for t in assignment.get("assigned_partitions", ())
                 for p in t["partitions"]]
        members.append(Member(m["member_id"], m["client_id"], m["client_host"],
                              tuple(sorted(owned, key=layout_order))))
    return tuple(members)


def log_end_offsets(admin, keys):
    """(topic, partition) -> the offset the next record will get, for the partitions with a
    leader; none for the others (a topic deleted since, or a leader lost and not yet
    replaced)."""
    if not keys:
        return {}
    leaders = {(t["name"], p["partition_index"]): p["leader_id"]
               for t in ask(admin.describe_topics, sorted({t for t, _ in keys}))
               if t["error_code"] == 0 for p in t["partitions"]}
    asked = {TopicPartition(*key): OffsetSpec.LATEST for key in keys if leaders.get(key, -1) >= 0}
    if not asked:
        return {}
    return {(tp.topic, tp.partition): o.offset
            for tp, o in ask(admin.list_partition_offsets, asked).items()}


# -- the text -------------------------------------------------------------------------------

def groups_text(groups):
    """Each group: a line with its state, assignor and members, a line per member, then its
    partitions in Kafka's columns."""
    return "\n\n".join(group_text(group) for group in groups)


def group_text(group):
    lines = [group_heading(group)]
    for m in group.members:
        lines.append(f"  member {m.member_id} (client {m.client_id}, host {m.host}): "
                     f"{partition_list(TopicPartition(t, p) for t, p in m.partitions)}")
    if group.rows:
        lines += ["", *offsets_table(group)]
    else:
        lines.append("  nothing committed yet")
    return "\n".join(lines)


def group_heading(group):
    count = len(group.members)
    members = f"{count} member{'s' if count != 1 else ''}" if count else "no members"
    assignor = ""
    if group.assignor:
        how = REBALANCING.get(group.assignor)
        assignor = f", assignor {group.assignor}" + (f" ({how} rebalancing)" if how else "")
    return f"group {group.name}: {group.state}{assignor}, {members}"


def offsets_table(group):
    """The rows in kafka-consumer-groups --describe's columns and widths: GROUP, TOPIC,
    CONSUMER-ID and HOST at least 15 wide (or as wide as their longest value), PARTITION 10,
    the offsets and the lag 15, each followed by a space."""
    cells = [[group.name, row.topic, str(row.partition), text(row.committed), text(row.end),
              text(row.lag), *((row.member.member_id, row.member.host, row.member.client_id)
                               if row.member else (MISSING,) * 3)]
             for row in group.rows]
    widths = [max([15, *(len(c[i]) for c in cells)]) for i in (0, 1)] + [10, 15, 15, 15] + \
             [max([15, *(len(c[i]) for c in cells)]) for i in (6, 7)]
    return [" ".join(f"{cell:<{width}}" for cell, width in zip(line, widths)) + " " + line[-1]
            for line in [list(COLUMNS), *cells]]


def text(number):
    return MISSING if number is None else str(number)
