"""The README's four terminals, run as written (producer1.py --delay 0.4, the consumers'
default 10 s timeout), in the README's order, against a real broker: each consumer's output
is complete. A virginica consumer started too early (the data set lists virginica last, 40 s
into the stream) says why it read nothing."""

from tests.lab import (READING_LINE, assert_role_printed_exactly_its_records,
                       reset_topics, start_consumer, start_producer)


def test_the_readme_steps_give_three_complete_outputs(kafka, tmp_path):
    reset_topics(kafka.bootstrap)
    # terminal 1: role all, before the producer
    all_ = start_consumer(kafka.bootstrap, "all", "--plot-file", tmp_path / "sepal.png")
    all_.wait_for_line(READING_LINE)  # assigned and sought to the beginning
    # terminal 2: the producer, a row every 0.4 s
    producer = start_producer(kafka.bootstrap, "--delay", "0.4")
    # terminal 3: setosa, any time: here at once
    setosa = start_consumer(kafka.bootstrap, "setosa")
    # not a README step: virginica started now stops before its first record arrives
    early = start_consumer(kafka.bootstrap, "virginica")
    early_out, early_err = early.communicate(timeout=60)
    assert producer.poll() is None, "the producer should still be streaming"
    out, err = producer.communicate(timeout=120)
    assert producer.returncode == 0, err
    assert out.splitlines()[-1].startswith("delivered 150 of 150 records sent")
    # terminal 4: virginica, once the producer has finished
    virginica = start_consumer(kafka.bootstrap, "virginica")
    for role, consumer in (("all", all_), ("setosa", setosa), ("virginica", virginica)):
        out, err = consumer.communicate(timeout=60)
        assert consumer.returncode == 0, err
        assert_role_printed_exactly_its_records(role, out, err)
    assert early.returncode == 0, early_err
    assert early_out.splitlines()[-2:] == [
        "read 0 records, skipped 0 malformed",
        "nothing arrived within 10 s (--timeout-ms): start this consumer after the producer, "
        "or raise --timeout-ms"]
