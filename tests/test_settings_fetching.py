"""max_poll_records and fetch_min_bytes (with fetch_max_wait_ms) on a real broker: what the
experiments of python -m irislab.settings show; kcat checks what the topics hold."""

from irislab.settings import fetching
from irislab.settings.place import Place
from tests.lab import kcat_records


def test_max_poll_records_caps_the_records_each_poll_hands_over(kafka):
    result = fetching.max_poll_records(Place(kafka.bootstrap))
    on_topic = kcat_records(kafka.bootstrap, "settings.max_poll_records", 0)
    assert len(on_topic) == 150 * fetching.POLL_RECORDS
    for limit in (1, 10, 500):
        row = result.row(limit)
        assert row["records read"] == len(on_topic)
        assert row["most per poll"] <= limit
        assert row["poll() calls with records"] >= len(on_topic) / limit
    assert result.row(1)["poll() calls with records"] == len(on_topic)
    # the default hands over more than 10 at a time: the fetches bring hundreds
    assert result.row(500)["most per poll"] > 10


def test_fetch_min_bytes_gathers_records_in_fewer_later_fetches(kafka):
    result = fetching.fetch_min_bytes(Place(kafka.bootstrap))
    for min_bytes in fetching.MIN_BYTES:
        on_topic = kcat_records(kafka.bootstrap, f"settings.fetch_min_bytes.{min_bytes}", 0)
        assert len(on_topic) == result.row(min_bytes)["records"] == 150
    low, high = result.row(1), result.row(4096)
    assert high["fetches"] < low["fetches"] / 3
    assert high["records per fetch"] > 3 * low["records per fetch"]
    # the broker held the fetches: the records reached the consumer later
    assert high["mean ms to receipt"] > low["mean ms to receipt"]
