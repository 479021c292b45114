"""What producer1.py needs beyond the lab's producer: its client settings, --summary's
progress, and settling the last deliveries when a broker is down."""

import sys
import time

from kafka.errors import KafkaTimeoutError

from irislab.cli import CLIENT_SETTINGS
from irislab.progress import progress_bar

# acks=all: the broker confirms a record only once it is written; with kafka-python's
# default idempotence, a retry after a lost connection doubles nothing. The rest is for
# throughput (docs, "Throughput"): kafka-python checksums every byte it sends and reads in
# pure Python, and gzip makes the JSON many times smaller; fuller batches compress better;
# 5 ms is Apache Kafka 4's own default linger.
PRODUCER_SETTINGS = {"acks": "all", "compression_type": "gzip",
                     "batch_size": 128 * 1024, "linger_ms": 5}


def producer_config(delivery_timeout_ms=120000):
    """KafkaProducer's settings, but for the address and the serializers."""
    return {**PRODUCER_SETTINGS, **CLIENT_SETTINGS,
            "delivery_timeout_ms": delivery_timeout_ms,
            # kafka-python wants the delivery timeout above linger + one request's timeout
            "request_timeout_ms": min(30000, delivery_timeout_ms
                                      - PRODUCER_SETTINGS["linger_ms"] - 1)}


class Progress:
    """--summary's progress on stderr: a tqdm bar (records, rate, time left) on a terminal,
    else a line every 10%."""

    def __init__(self, total):
        self.total, self.shown = total, 0
        self.bar = progress_bar(total)
        self.every = max(total // 10, 1)

    def update(self, sent):
        if self.bar is not None:
            self.bar.update(sent - self.shown)
            self.shown = sent
        elif sent // self.every > self.shown // self.every:
            self.shown = sent
            print(f"sent {sent} of {self.total} records ({sent / self.total:.0%})",
                  file=sys.stderr)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def settle(producer, deadline):
    """Wait until the brokers have confirmed or refused every record sent, then close the
    producer. kafka-python can leave a record unsettled past its delivery timeout (a batch
    for a leader that is down); at the deadline what is left is failed (abort_unsettled):
    it counts as not delivered."""
    while True:
        try:
            # flush's timeout is per batch, so wait in short steps to keep to the deadline
            producer.flush(timeout=0.5)
            break
        except KafkaTimeoutError:
            if time.monotonic() > deadline:
                abort_unsettled(producer)
                break
    producer.close()


def abort_unsettled(producer):
    """Fail every record the producer still holds and stop its I/O thread.

    The one place irislab reaches into kafka-python (3.x) internals, since no public call
    can: KafkaProducer.close(timeout) flushes first, and that flush raises KafkaTimeoutError
    on a batch still waiting for a dead leader before close would abort anything. The
    producer's sender thread can: after force_close() it fails every incomplete batch's
    futures as it ends. tests/test_producer.py fails if kafka-python changes underneath."""
    sender = producer._sender
    sender.force_close()
    sender.join()
