"""Each setting's experiment: the function that makes its effect happen and measures it, and
what it needs to run: how many brokers, and whether it must start them itself (it kills
one). `python -m irislab.settings NAME` runs one."""

from dataclasses import dataclass
from typing import Callable

from irislab.settings import (batching, delivery, fetching, lab_answers, membership, offsets,
                              transactions)


@dataclass(frozen=True)
class Experiment:
    run: Callable            # run(place) -> Result
    brokers: int = 1         # the brokers it starts when no cluster is given
    own_brokers: bool = False  # it kills a broker: it runs only on brokers it starts
    figure: bool = False     # its result is a curve or a comparison: --plot draws it


EXPERIMENTS = {
    # the producer's
    "acks": Experiment(delivery.acks, brokers=3, own_brokers=True),
    "linger_ms": Experiment(batching.linger_ms, figure=True),
    "batch_size": Experiment(batching.batch_size, figure=True),
    "compression_type": Experiment(batching.compression_type, figure=True),
    "enable_idempotence": Experiment(delivery.enable_idempotence),
    "transactional_id": Experiment(transactions.transactional_id),
    "max_in_flight_requests_per_connection":
        Experiment(delivery.max_in_flight_requests_per_connection),
    "delivery_timeout_ms": Experiment(delivery.delivery_timeout_ms),
    "key_serializer": Experiment(lab_answers.key_serializer),
    "partitioner": Experiment(lab_answers.partitioner),
    # the consumer's
    "auto_offset_reset": Experiment(offsets.auto_offset_reset),
    "enable_auto_commit": Experiment(offsets.enable_auto_commit),
    "max_poll_records": Experiment(fetching.max_poll_records),
    "fetch_min_bytes": Experiment(fetching.fetch_min_bytes, figure=True),
    "session_timeout_ms": Experiment(membership.session_timeout_ms),
    "max_poll_interval_ms": Experiment(membership.max_poll_interval_ms),
    "isolation_level": Experiment(transactions.isolation_level),
    "group_id": Experiment(lab_answers.group_id),
    "consumer_timeout_ms": Experiment(lab_answers.consumer_timeout_ms),
}
