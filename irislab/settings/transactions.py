"""Experiments on transactions: transactional_id (the producer's) and isolation_level (the
consumer's).

A transaction's records go to the log as they are sent; what makes them count is the marker
the broker writes when the producer commits or aborts. A read_committed consumer reads up
to the partition's last stable offset (the first offset of a transaction still open) and
skips what was aborted; a read_uncommitted one (kafka-python's default) reads everything.
kcat (librdkafka) reads read_committed unless told `-X isolation.level=read_uncommitted`."""

import re

from kafka import TopicPartition
from kafka.errors import KafkaError

from irislab.settings.place import group, lab_records, read_to_end, send_all
from irislab.settings.result import Result

LEVELS = ("read_committed", "read_uncommitted")


def species(records, name):
    """The lab's records of one species."""
    return [(key, value) for key, value in records if b'"species": "%s"' % name.encode() in value]


def reader(place, topic, level):
    """A consumer of the topic's partition 0 from its first record, in no group."""
    consumer = place.consumer(group_id=None, isolation_level=level, enable_auto_commit=False)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    return consumer


def counted(place, topic):
    """level -> how many records a new consumer reads from the topic, beginning to end."""
    counts = {}
    for level in LEVELS:
        consumer = reader(place, topic, level)
        try:
            counts[level] = len(read_to_end(consumer))
        finally:
            consumer.close()
    return counts


def refusal(step):
    """The error's class name if step() raised a Kafka error, else "none". A producer in
    an error state raises a plain KafkaError naming the error that put it there."""
    try:
        step()
    except KafkaError as e:
        name = type(e).__name__
        cause = re.search(r"error state: .*?(\w+)$", str(e))
        return f"{name} ({cause[1]})" if name == "KafkaError" and cause else name
    return "none"


def transactional_id(place):
    """A transactional producer commits the setosa records and aborts the virginica ones;
    a second producer with the same transactional_id then fences the first, whose next
    send is refused."""
    topic = place.topic("transactional_id")
    records = lab_records()
    setosa, virginica = species(records, "setosa"), species(records, "virginica")
    # an id of this run's own: an open transaction of an earlier run's cannot get in the way
    txn_id = group("transactional_id")  # a name no run has used
    first = place.producer(transactional_id=txn_id)
    second = None
    rows = []
    try:
        first.init_transactions()
        first.begin_transaction()
        send_all(first, topic, setosa)
        first.commit_transaction()
        rows.append(("commit", f"{len(setosa)} setosa", *counted(place, topic).values(), "-",
                     "-"))
        first.begin_transaction()
        send_all(first, topic, virginica)  # on the broker's log, acknowledged, then aborted
        first.abort_transaction()
        rows.append(("abort", f"{len(virginica)} virginica", *counted(place, topic).values(),
                     "-", "-"))
        # the same id, a new producer: init_transactions bumps the id's epoch, so the
        # coordinator refuses the first producer from now on (a zombie of a restarted app)
        second = place.producer(transactional_id=txn_id)
        second.init_transactions()
        first.begin_transaction()  # local: the first producer does not know yet
        refused = refusal(lambda: first.send(topic, key=b"fenced", value=b"{}").get(timeout=30))
        refused_commit = refusal(first.commit_transaction)
        rows.append(("fenced", "1 by the 1st producer", *counted(place, topic).values(),
                     refused, refused_commit))
    finally:
        first.close(timeout=5)
        if second is not None:
            second.close()
    columns = ("transaction", "records sent", "read_committed reads", "read_uncommitted reads",
               "send refused with", "commit refused with")
    fenced = dict(zip(columns, rows[2]))
    return Result("transactional_id", columns, rows,
                  f"read_committed reads only the committed transaction "
                  f"({fenced['read_committed reads']} of "
                  f"{fenced['read_uncommitted reads']} records read_uncommitted reads); a 2nd "
                  f"producer with the same transactional_id fences the 1st (refused with "
                  f"{refused}); kcat reads read_committed unless given "
                  f"-X isolation.level=read_uncommitted")


def isolation_level(place):
    """An open transaction holds a read_committed consumer at the last stable offset, even
    for records a plain producer sends after it; read_uncommitted reads them at once; the
    commit releases them."""
    topic = place.topic("isolation_level")
    records = lab_records()
    setosa, versicolor = species(records, "setosa"), species(records, "versicolor")
    transactional = place.producer(transactional_id=group("isolation_level"))
    plain = place.producer()
    consumers = {level: reader(place, topic, level) for level in LEVELS}
    read = dict.fromkeys(LEVELS, 0)
    rows = []

    def step(what):
        """Each consumer reads what it may; its count so far, and the ends it reads to."""
        for level, consumer in consumers.items():
            read[level] += len(read_to_end(consumer))
        tp = TopicPartition(topic, 0)
        ends = {level: c.end_offsets([tp])[tp] for level, c in consumers.items()}
        # read_uncommitted's end is the high watermark, read_committed's the last stable one
        rows.append((what, ends["read_uncommitted"], ends["read_committed"],
                     read["read_committed"], read["read_uncommitted"]))

    try:
        transactional.init_transactions()
        transactional.begin_transaction()
        send_all(transactional, topic, setosa)  # on the log, acknowledged, not committed
        step(f"{len(setosa)} setosa sent in a transaction left open")
        send_all(plain, topic, versicolor)
        step(f"{len(versicolor)} versicolor sent by a plain producer")
        transactional.commit_transaction()
        step("the transaction committed")
    finally:
        transactional.close(timeout=5)
        plain.close()
        for consumer in consumers.values():
            consumer.close()
    columns = ("step", "log end offset", "last stable offset", "read_committed has read",
               "read_uncommitted has read")
    held = dict(zip(columns, rows[1]))
    done = dict(zip(columns, rows[2]))
    return Result("isolation_level", columns, rows,
                  f"while the transaction is open read_committed stops at the last stable "
                  f"offset ({held['last stable offset']}) and has read "
                  f"{held['read_committed has read']} records, even of the plain producer's "
                  f"sent after it, while read_uncommitted has read "
                  f"{held['read_uncommitted has read']}; the commit lets read_committed read "
                  f"all {done['read_committed has read']}")
