"""What a running Kafka cluster says about itself, asked through kafka-python's admin
client: which brokers are alive, which node is the controller, and how to ask while a
broker is down. Both the lab's admin tool and the local broker runner use it; it imports
nothing of irislab.
"""

import time

from kafka import KafkaAdminClient
from kafka.errors import AuthorizationError, KafkaError, KafkaTimeoutError, RequestTimedOutError
from kafka.protocol.api_key import ApiKey


def ask(request, *args, attempts=5, unless=(), **kwargs):
    """admin.request(...), tried again when it failed for a broker being down: kafka-python
    sends an admin request to a broker it picks at random, and on a cluster with a broker
    down that one may be it (the next try avoids it). A timeout is not tried again: it has
    waited its whole time already (with no KRaft quorum, five tries took 15 s). Errors of
    the types in `unless` are raised at once, for the caller to wait on its own terms."""
    for attempt in range(attempts):
        try:
            return request(*args, **kwargs)
        except unless:
            raise
        except KafkaError as e:
            if (not e.retriable or isinstance(e, (KafkaTimeoutError, RequestTimedOutError))
                    or attempt == attempts - 1):
                raise
            time.sleep(0.2)


def controller(admin):
    """(controller id, how it was chosen), as the cluster reports it; id -1 if none.
    KRaft: the leader of the controller quorum, from DescribeQuorum, which only the quorum's
    leader answers (a broker forwards it there); ZooKeeper mode: the broker ZooKeeper
    elected, from the metadata of the broker asked. An AuthorizationError where the client
    may not ask."""
    if ApiKey.DescribeQuorum not in admin.api_versions():  # Kafka 3.9 in ZooKeeper mode
        return ask(admin.describe_cluster)["controller_id"], "the broker elected through ZooKeeper"
    try:
        [quorum] = ask(admin.describe_metadata_quorum)["topics"][0]["partitions"]
    except AuthorizationError:  # the client may not ask (DESCRIBE on the cluster): not "no leader"
        raise
    except KafkaError as e:
        return -1, f"the KRaft controller quorum has no leader that answers: {e}"
    voters = ", ".join(str(v["replica_id"]) for v in quorum["current_voters"])
    return quorum["leader_id"], (f"leader of the KRaft controller quorum; voters {voters}; "
                                 f"epoch {quorum['leader_epoch']}")


def _quick_answer(bootstrap, question, timeout_ms, settings):
    """question(admin) asked at `bootstrap` within about timeout_ms, or None if nothing
    answers there. settings: a secured cluster's (security_protocol, the SASL login, ...)."""
    try:
        admin = KafkaAdminClient(**{**settings, "bootstrap_servers": bootstrap},
                                 bootstrap_timeout_ms=timeout_ms, request_timeout_ms=timeout_ms)
    except KafkaError:
        return None
    try:
        return question(admin)
    except KafkaError:
        return None
    finally:
        admin.close()


def live_broker_ids(bootstrap, timeout_ms=2000, **settings):
    """The ids of the brokers the cluster reports alive, asked at `bootstrap`; empty if
    nothing answers there."""
    ids = _quick_answer(bootstrap, lambda admin: {b["broker_id"] for b in
                                                  admin.describe_cluster()["brokers"]},
                        timeout_ms, settings)
    return ids or set()


def controller_id(bootstrap, timeout_ms=3000, **settings):
    """The controller's id as the cluster at `bootstrap` reports it; None if nothing
    answers, -1 if the cluster has none."""
    return _quick_answer(bootstrap, lambda admin: controller(admin)[0], timeout_ms, settings)
