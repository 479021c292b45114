"""Experiments on what a producer's confirmation is worth: acks, enable_idempotence,
max_in_flight_requests_per_connection, delivery_timeout_ms."""

import json
import time

from kafka import TopicPartition
from kafka.metrics.stats import Total

from irislab.settings.place import lab_records, read_to_end, send_all
from irislab.settings.proxy import LosingProxy
from irislab.settings.result import Result
from irislab.waiting import wait_until


# --- helpers

class Tally(Total):
    """How many times a sensor recorded anything: requests, whatever their size."""
    __slots__ = ()

    def record(self, config, value, now):
        self._total += 1


def counter(producer, sensor, name, stat=Total):
    """A running total of what the producer's `sensor` records (kafka-python keeps rates
    over a window): record-retries, request-latency, bytes-sent (a Tally: requests). Read
    it with metric(producer, name)."""
    metrics = producer._metrics
    metrics.get_sensor(sensor).add(
        metrics.metric_name(name, "producer-metrics", "irislab's total"), stat())


def metric(producer, name):
    return producer.metrics()["producer-metrics"][name]


def partition_records(place, topic, timeout=30):
    """Every record of partition 0 of `topic`, read from the beginning by a new consumer."""
    consumer = place.consumer(enable_auto_commit=False)
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        return read_to_end(consumer, timeout)
    finally:
        consumer.close()


def end_offset(place, topic):
    consumer = place.consumer(enable_auto_commit=False)
    try:
        tp = TopicPartition(topic, 0)
        return consumer.end_offsets([tp])[tp]
    finally:
        consumer.close()


def numbered(count):
    """`count` of the lab's records, repeated, each value carrying its place "seq"."""
    records = lab_records()
    return [(records[i % len(records)][0],
             json.dumps({**json.loads(records[i % len(records)][1]), "seq": i}).encode())
            for i in range(count)]


# --- the experiments

STREAM = 2000     # records streamed per acks value: the lab's 150 over and over
STALL_AT = 800     # the followers stall (SIGSTOP) once this many have been sent,
KILL_AT = 1200    # and the leader is killed (SIGKILL) once this many have
PAUSE = 0.001     # s between sends: a stream, not one burst


def partition_state(client, topic):
    """(leader id, in-sync replica ids) of partition 0 of `topic`, as the cluster says."""
    partition = client.describe_topics([topic])[0]["partitions"][0]
    return partition["leader_id"], partition["isr_nodes"]


def wait_all_in_sync(client, topic):
    """Wait until partition 0 of `topic` has a leader and its three replicas in sync, as the
    cluster says: just after the topic is created, the broker asked may not know its
    partitions yet; after a crash, the old leader must catch up again."""
    def all_in_sync():
        leader, in_sync = partition_state(client, topic)
        return leader >= 0 and len(in_sync) == 3
    wait_until(all_in_sync, 60, interval=0.5, retry_on=(Exception,))


def acks(place):
    """For each acks value, a stream of numbered records to a partition on three brokers.
    Mid-stream its two followers stall (SIGSTOP, as in a long GC pause or a network
    partition) and, a moment later, before they have been dropped from the in-sync replicas,
    the leader crashes (SIGKILL); the followers go on, one becomes the leader without what
    the old leader took alone. The killed broker is started again and waits until it is back
    in sync (it drops what the new leader never had) before the partition is read: what the
    producer was told, against what the cluster kept."""
    cluster = place.cluster
    stream = numbered(STREAM)
    rows = []
    client = place.admin()
    try:
        for value in (0, 1, "all"):
            topic = place.topic(f"acks.{value}", 1, 3, **{"min.insync.replicas": 2})
            wait_all_in_sync(client, topic)
            leader, in_sync = partition_state(client, topic)
            followers = [cluster.kafka(i).process() for i in in_sync if i != leader]
            # idempotence needs acks=all: switch it off ourselves for 0 and 1
            producer = place.producer(acks=value, enable_idempotence=value == "all",
                                      delivery_timeout_ms=40000, request_timeout_ms=10000)
            futures = []
            try:
                for i, (key, data) in enumerate(stream):
                    if i == STALL_AT:
                        for follower in followers:
                            follower.suspend()
                    if i == KILL_AT:
                        cluster.kill(leader)
                        for follower in followers:
                            follower.resume()
                    futures.append(producer.send(topic, key=key, value=data))
                    time.sleep(PAUSE)
                producer.flush(timeout=45)
            finally:
                for follower in followers:
                    follower.resume()  # whatever happened
                producer.close(timeout=5)
            confirmed = {i for i, f in enumerate(futures) if f.succeeded()}
            new_leader = partition_state(client, topic)[0]
            cluster.start_node(leader)
            wait_all_in_sync(client, topic)  # the old leader truncated what it alone had
            found = {json.loads(r.value)["seq"] for r in partition_records(place, topic)}
            rows.append((str(value), leader, new_leader, STREAM, len(confirmed), len(found),
                         len(confirmed - found)))
    finally:
        client.close()
    lost = {row[0]: row[6] for row in rows}
    why = (" (written by the old leader alone while the followers stalled, or sent into its "
           "dead socket; it dropped them when it came back as a follower)" if lost["0"] else "")
    return Result("acks", ("acks", "killed leader", "new leader", "sent", "confirmed",
                           "found on the cluster", "confirmed but lost"), rows,
                  f"the partition's followers stalled after {STALL_AT} of {STREAM} records, its "
                  f"leader was SIGKILLed after {KILL_AT} and a follower took over: with acks=0 "
                  f"the producer confirmed every record it sent and {lost['0']} of them were "
                  f"lost{why}; acks=1 lost "
                  f"{lost['1']} records the old leader had confirmed alone; acks=all lost "
                  f"{lost['all']}: it confirmed a record only once min.insync.replicas=2 "
                  f"brokers had it, so the stalled followers held back its confirmations")


REQUEST_TIMEOUT_MS = 2000  # how long the producer waits for an answer before it resends


def enable_idempotence(place):
    """The network loses the broker's answer to a produce request the broker has written;
    the producer times the request out and sends the batch again. Without idempotence the
    broker writes it twice; with it, the broker knows the batch by its producer id and
    sequence number and writes it once."""
    records = lab_records()
    names = {idempotence: place.topic(f"enable_idempotence.{str(idempotence).lower()}")
             for idempotence in (True, False)}
    rows = []
    for idempotence, topic in names.items():
        proxy = LosingProxy()
        producer = place.producer(enable_idempotence=idempotence, acks="all",
                                  proxy_url=proxy.url, request_timeout_ms=REQUEST_TIMEOUT_MS,
                                  delivery_timeout_ms=30000, linger_ms=100,
                                  batch_size=1 << 20)  # the 149 records in one batch
        try:
            counter(producer, "record-retries", "record-retry-total")
            send_all(producer, topic, records[:1])  # connected, and a producer id if any
            proxy.losing = True
            futures = [producer.send(topic, key=k, value=v) for k, v in records[1:]]
            # the broker has the batch: from now on what is lost is only its answer
            wait_until(lambda: end_offset(place, topic) >= len(records), 30, interval=0.2)
            proxy.losing = False
            producer.flush(timeout=30)
            confirmed = sum(f.succeeded() for f in futures) + 1
            retried = int(metric(producer, "record-retry-total"))
            pid = (producer._transaction_manager.producer_id_and_epoch.producer_id
                   if idempotence else "-")
        finally:
            producer.close(timeout=10)
            proxy.close()
        on_broker = partition_records(place, topic)
        ids = {json.loads(r.value)["id"] for r in on_broker}
        rows.append((idempotence, len(records), confirmed, retried, pid, len(on_broker),
                     len(ids), len(on_broker) - len(ids)))
    on = dict(zip((True, False), rows))
    return Result("enable_idempotence",
                  ("enable_idempotence", "sent", "confirmed", "records retried",
                   "producer id", "on the broker", "distinct ids", "duplicates"), rows,
                  f"the broker's answer to a written batch was lost and the producer resent "
                  f"it ({on[False][3]} records retried without idempotence, {on[True][3]} with):"
                  f" without idempotence the broker wrote them again ({on[False][7]} "
                  f"duplicates), with it the broker recognised producer {on[True][4]}'s "
                  f"sequence numbers and kept one copy ({on[True][7]} duplicates)")


IN_FLIGHT_RECORDS = 20000  # the lab's 150 records over and over, numbered


def out_of_order(values):
    """How many records came after one sent later than them."""
    seqs = [json.loads(v)["seq"] for v in values]
    return sum(a > b for a, b in zip(seqs, seqs[1:]))


def max_in_flight_requests_per_connection(place):
    """The same 20,000 records in many small requests (linger_ms=0, batch_size 1 KiB) with
    1, 2 and 5 requests allowed in flight: the rate, the requests the connection really had
    in flight (Little's law: the sum of the requests' latencies over the time taken), and
    whether the partition holds them in the order sent."""
    records = numbered(IN_FLIGHT_RECORDS)
    cases = [(1, False), (2, False), (5, False), (5, True)]
    rows = []
    for in_flight, idempotence in cases:
        topic = place.topic(f"max_in_flight_requests_per_connection.{in_flight}."
                            f"{'idempotent' if idempotence else 'plain'}")
        producer = place.producer(max_in_flight_requests_per_connection=in_flight,
                                  enable_idempotence=idempotence, linger_ms=0,
                                  batch_size=1024)
        try:
            producer.partitions_for(topic)  # its metadata, before the clock starts
            counter(producer, "bytes-sent", "requests-sent", Tally)
            counter(producer, "request-latency", "request-latency-total")
            started = time.monotonic()
            send_all(producer, topic, records)
            took = time.monotonic() - started
            requests = metric(producer, "requests-sent")
            in_flight_avg = metric(producer, "request-latency-total") / 1000 / took
        finally:
            producer.close(timeout=10)
        on_broker = [r.value for r in partition_records(place, topic)]
        rows.append((in_flight, idempotence, len(on_broker), round(took, 1),
                     round(len(records) / took), int(requests), round(in_flight_avg, 2),
                     out_of_order(on_broker)))
    by_case = dict(zip(cases, rows))
    one, five, idem = by_case[1, False], by_case[5, False], by_case[5, True]
    return Result("max_in_flight_requests_per_connection",
                  ("max_in_flight", "enable_idempotence", "on the broker", "seconds",
                   "records/s", "requests", "avg in flight", "out of order"), rows,
                  f"with 1 request allowed in flight the producer waited for each answer "
                  f"({one[6]} in flight on average, {one[4]:,} records/s); with 5 it kept "
                  f"{five[6]} in flight ({five[4]:,} records/s: the Python producer's own work "
                  f"limits the rate here); idempotent with 5 allowed it had {idem[6]} in flight, "
                  f"as kafka-python keeps the order by sending one batch per partition at a "
                  f"time, and {idem[7]} records were out of order")


DELIVERY_TIMEOUTS_MS = (3000, 8000)


def delivery_timeout_ms(place):
    """The lab's 150 records sent while the network to the brokers is gone (the producer
    talks to them through a proxy that closes every connection and refuses new ones): the
    producer keeps them and tries to connect again, and gives a record up, telling the
    application, once delivery_timeout_ms has passed since its send(): not before, and none
    is dropped silently."""
    records = lab_records()
    rows = []
    for timeout_ms in DELIVERY_TIMEOUTS_MS:
        topic = place.topic(f"delivery_timeout_ms.{timeout_ms}")
        proxy = LosingProxy()
        # not idempotent: kafka-python's idempotent producer, once a batch expires, wants a
        # new epoch from the unreachable broker first and stops expiring the others
        producer = place.producer(proxy_url=proxy.url, delivery_timeout_ms=timeout_ms,
                                  request_timeout_ms=2000, enable_idempotence=False)
        delivered, failed, errors = [], [], set()

        def failure(sent_at, error):
            failed.append(time.monotonic() - sent_at)
            errors.add(type(error).__name__)

        try:
            send_all(producer, topic, records[:1])  # connected, before the network goes
            proxy.cut_off()
            for key, value in records:
                sent_at = time.monotonic()
                future = producer.send(topic, key=key, value=value)
                future.add_callback(lambda _, t=sent_at: delivered.append(time.monotonic() - t))
                future.add_errback(failure, sent_at)
            producer.flush(timeout=timeout_ms / 1000 + 30)
        finally:
            producer.close(timeout=5)
            proxy.close()
        rows.append((timeout_ms, len(records), len(delivered), len(failed),
                     round(min(failed), 2) if failed else "-",
                     round(max(failed), 2) if failed else "-",
                     ", ".join(sorted(errors)) or "-", end_offset(place, topic) - 1))
    short, long = rows
    return Result("delivery_timeout_ms",
                  ("delivery_timeout_ms", "sent", "delivered", "failed",
                   "first failure after s", "last failure after s", "error",
                   "on the broker"), rows,
                  f"with the brokers out of reach the producer held the records and gave each "
                  f"up no sooner than delivery_timeout_ms after its send(): after {short[4]} to "
                  f"{short[5]} s with {short[0]} ms, {long[4]} to {long[5]} s with {long[0]} ms; "
                  f"every record sent was reported delivered or failed ({short[2]} + "
                  f"{short[3]}, {long[2]} + {long[3]} of {len(records)})")
