"""acks, enable_idempotence, max_in_flight_requests_per_connection and delivery_timeout_ms
on real brokers: what the experiments of python -m irislab.settings show, checked against
the brokers with kcat."""

import pytest

from irislab.settings import delivery
from irislab.settings.place import Place, throwaway
from tests.lab import MODES, kcat_records


def seqs(bootstrap, topic):
    return [value["seq"] for _, _, value in kcat_records(bootstrap, topic, 0)]


@pytest.mark.parametrize("mode", MODES)
def test_acks_a_killed_leader_loses_unconfirmed_records_never_those_acks_all_confirmed(mode):
    with throwaway(mode, 3) as place:
        result = delivery.acks(place)
        kept = {acks: set(seqs(place.bootstrap, f"settings.acks.{acks}"))
                for acks in ("0", "1", "all")}
    for acks, found in kept.items():
        row = result.row(acks)
        assert row["killed leader"] != row["new leader"]
        assert row["found on the cluster"] == len(found)  # kcat reads what the experiment read
    # acks=0: the producer cannot know; it "confirms" every record it sent, and those the
    # old leader took while its followers stalled are gone; so are acks=1's
    zero = result.row("0")
    assert zero["confirmed"] == zero["sent"] == delivery.STREAM
    assert zero["confirmed but lost"] > 0
    assert result.row("1")["confirmed but lost"] > 0
    # acks=all: nothing it confirmed is missing from the cluster
    every = result.row("all")
    assert every["confirmed but lost"] == 0
    assert len(kept["all"]) >= every["confirmed"] > 0
    if every["confirmed"] == every["sent"]:
        assert kept["all"] == set(range(delivery.STREAM))


def test_enable_idempotence_a_resent_batch_is_written_twice_without_it_once_with_it(kafka):
    result = delivery.enable_idempotence(Place(kafka.bootstrap))
    ids = {flag: [value["id"] for _, _, value in
                  kcat_records(kafka.bootstrap, f"settings.enable_idempotence.{flag}", 0)]
           for flag in ("true", "false")}
    on, off = result.row(True), result.row(False)
    assert on["records retried"] > 0 and off["records retried"] > 0  # the batch was resent
    assert sorted(ids["true"]) == list(range(150))     # once each
    assert len(ids["false"]) > 150 == len(set(ids["false"]))  # some twice
    assert off["duplicates"] == len(ids["false"]) - 150 > 0
    assert on["duplicates"] == 0 and on["confirmed"] == off["confirmed"] == 150


def test_max_in_flight_requests_per_connection_more_in_flight_and_the_idempotent_order_kept(kafka):
    result = delivery.max_in_flight_requests_per_connection(Place(kafka.bootstrap))
    rows = {(row[0], row[1]): dict(zip(result.columns, row)) for row in result.rows}
    # one in flight at most: the sum of the requests' latencies fits in the time taken
    assert rows[1, False]["avg in flight"] <= 1.05
    assert rows[5, False]["avg in flight"] > rows[1, False]["avg in flight"]
    stored = seqs(kafka.bootstrap,
                  "settings.max_in_flight_requests_per_connection.5.idempotent")
    assert stored == list(range(delivery.IN_FLIGHT_RECORDS))  # all, in the order sent
    assert rows[5, True]["out of order"] == 0


def test_delivery_timeout_ms_records_fail_when_it_has_passed_and_none_is_dropped(kafka):
    result = delivery.delivery_timeout_ms(Place(kafka.bootstrap))
    for timeout_ms in delivery.DELIVERY_TIMEOUTS_MS:
        row = result.row(timeout_ms)
        assert row["sent"] == row["delivered"] + row["failed"] == row["failed"] == 150
        assert row["first failure after s"] >= timeout_ms / 1000 - 0.5  # not before
        assert row["last failure after s"] <= timeout_ms / 1000 + 20
        # only the record sent before the network went is on the broker
        assert [v["id"] for _, _, v in kcat_records(
            kafka.bootstrap, f"settings.delivery_timeout_ms.{timeout_ms}", 0)] == [0]
    short, long = (result.row(t) for t in delivery.DELIVERY_TIMEOUTS_MS)
    assert long["first failure after s"] > short["last failure after s"]
