"""producer1.py without a broker: NumpyEncoder converts the rows' NumPy values and the bytes on
the wire are the documented contract; --repeat's ids; the command line; and the one adapter
on kafka-python's internals that settles records stuck on a dead leader."""

import inspect
import json
import socket
import threading
import time

import numpy as np
import pytest
from kafka import KafkaProducer, TopicPartition
from kafka.errors import KafkaTimeoutError
from kafka.producer.sender import Sender

import producer1
from irislab.dataset import load_iris
from irislab.producing import Progress, abort_unsettled, producer_config, settle
from irislab.record import MEASUREMENTS

# the record value the design documents for the first flower, key order and spacing included
CONTRACT = ('{"id": 0, "sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, '
            '"petal_width": 0.2, "species": "setosa"}')


def lab_rows():
    """The data set as producer1.main takes it: Xdat (the lab's dataset.values[:, 0:4]), species."""
    iris = load_iris()
    return iris[list(MEASUREMENTS)].to_numpy(), iris["species"].to_numpy()


@pytest.fixture
def default_calls(monkeypatch):
    """The types NumpyEncoder.default() is called with, as producer1 uses it."""
    calls = []
    default = producer1.NumpyEncoder.default

    def spy(self, obj):
        calls.append(type(obj))
        return default(self, obj)
    monkeypatch.setattr(producer1.NumpyEncoder, "default", spy)
    return calls


# -- NumpyEncoder and the bytes on the wire -----------------------------------------------

def test_plain_json_refuses_the_numpy_values_a_row_holds():
    Xdat, _ = lab_rows()
    for value in (Xdat[0], np.int64(0)):
        with pytest.raises(TypeError):
            json.dumps(value)  # the reason the lab needs NumpyEncoder


def test_default_converts_arrays_and_numpy_numbers_to_python_ones():
    Xdat, _ = lab_rows()
    encoder = producer1.NumpyEncoder()
    row = encoder.default(Xdat[0])
    assert row == [5.1, 3.5, 1.4, 0.2] and [type(x) for x in row] == [float] * 4
    for value, expected in ((np.int64(7), 7), (np.int32(7), 7), (np.float64(5.1), 5.1),
                            (np.float32(0.5), 0.5)):
        converted = encoder.default(value)
        assert converted == expected and type(converted) is type(expected)
    with pytest.raises(TypeError):
        encoder.default(object())  # anything else: json's own error


def test_default_is_called_for_the_arrays_and_numpy_numbers_json_cannot_write(default_calls):
    Xdat, _ = lab_rows()
    text = json.dumps({"row": Xdat[0], "id": np.int64(0), "width": np.float32(0.5),
                       "length": np.float64(5.1)}, cls=producer1.NumpyEncoder)
    assert json.loads(text) == {"row": [5.1, 3.5, 1.4, 0.2], "id": 0, "width": 0.5,
                                "length": 5.1}
    # np.float64 is a Python float (a subclass), which json writes itself, the same way
    assert default_calls == [np.ndarray, np.int64, np.float32]


def test_each_flower_is_written_by_numpy_encoder_from_its_numpy_id(default_calls):
    Xdat, species = lab_rows()
    producer1.flower_values(Xdat, species)
    assert default_calls.count(np.int64) == 150


def test_the_bytes_on_the_wire_are_the_documented_contract():
    Xdat, species = lab_rows()
    values = producer1.flower_values(Xdat, species)
    assert values[0] == CONTRACT.encode()
    # every record: what plain json writes for plain Python values, field by field
    for i, value in enumerate(values):
        plain = {"id": i, **dict(zip(MEASUREMENTS, Xdat[i].tolist())), "species": str(species[i])}
        assert value == json.dumps(plain).encode("utf-8")


def test_routing_by_prediction_adds_the_predicted_species_last():
    Xdat, species = lab_rows()
    predicted = np.array(["virginica"] * 150)  # NumPy strings, as model.predict returns them
    value = producer1.flower_values(Xdat, species, predicted)[0]
    assert value == CONTRACT[:-1].encode() + b', "predicted": "virginica"}'


def test_a_length_that_is_not_a_number_is_refused_not_written():
    Xdat, species = lab_rows()
    Xdat = Xdat.copy()
    Xdat[3, 1] = np.nan
    with pytest.raises(ValueError):
        producer1.flower_values(Xdat, species)


def test_the_key_is_the_id_as_text():
    serialize = producer1.IdSerializer().serialize
    assert [serialize("versicolor", None, i) for i in (0, 7, 149, 10**12)] == [
        b"0", b"7", b"149", b"1000000000000"]


# -- --repeat: the same records again, counted per partition --------------------------------

def test_records_per_partition_counts_whole_passes_and_the_part_of_the_last():
    destinations = [("a", 0), ("b", 1), ("a", 0)]
    assert producer1.records_per_partition(destinations, 0) == {}
    assert producer1.records_per_partition(destinations, 2) == {("a", 0): 1, ("b", 1): 1}
    assert producer1.records_per_partition(destinations, 7) == {("a", 0): 5, ("b", 1): 2}


# -- the command line ------------------------------------------------------------------------

def test_the_defaults():
    args = producer1.build_parser().parse_args([])
    assert (args.delay, args.repeat, args.summary, args.delivery_timeout_ms, args.csv,
            args.reset_topics, args.route_by) == (0.0, 1, False, 120000, None, False, "species")


@pytest.mark.parametrize("argv,error", [
    (["--delay", "-1"], "argument --delay: '-1' is not a number of seconds >= 0"),
    (["--delay", "inf"], "argument --delay: 'inf' is not a number of seconds >= 0"),
    (["--repeat", "0"], "argument --repeat: '0' is not a whole number > 0"),
    (["--delivery-timeout-ms", "999"],
     "argument --delivery-timeout-ms: '999' is not a number of milliseconds >= 1000"),
    (["--route-by", "colour"], "argument --route-by: invalid choice: 'colour'"),
    (["--bootstrap-server", "localhost"],
     "argument --bootstrap-server: 'localhost' is not HOST:PORT"),
])
def test_bad_usage_is_exit_2_with_one_error_line(capsys, argv, error):
    with pytest.raises(SystemExit) as exited:
        producer1.build_parser().parse_args(argv)
    assert exited.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("usage: producer1.py")
    assert lines[-1].startswith(f"producer1.py: error: {error}")


@pytest.mark.parametrize("delivery_timeout_ms", [1000, 35000, 120000])
def test_the_producer_accepts_its_settings(delivery_timeout_ms):
    config = producer_config(delivery_timeout_ms)
    assert config["acks"] == "all" and config["delivery_timeout_ms"] == delivery_timeout_ms
    # kafka-python itself checks delivery timeout >= linger + request timeout
    idle_producer(**config).close()


# -- --summary's progress -------------------------------------------------------------------

def test_progress_without_a_terminal_is_a_line_every_tenth(capsys):
    progress = Progress(1500)
    for sent in range(150, 1501, 150):
        progress.update(sent)
    progress.close()
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "sent 150 of 1500 records (10%)" and lines[-1] == (
        "sent 1500 of 1500 records (100%)")
    assert len(lines) == 10


# -- settling records stuck on a dead leader -------------------------------------------------

@pytest.fixture
def dead_address():
    """An address whose port is taken but never listens: every connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield "127.0.0.1:%d" % sock.getsockname()[1]


def idle_producer(bootstrap="127.0.0.1:9", **config):
    # api_version given: kafka-python does not ask a broker for it, so nothing is contacted
    return KafkaProducer(bootstrap_servers=bootstrap, api_version=(2, 1, 0), **config)


def stuck_record(producer):
    """A record the producer holds for a partition whose leader never answers, as send()
    leaves one after its metadata lookup (which needs a broker, so it is skipped here)."""
    future, *_ = producer._accumulator.append(
        TopicPartition("virginicasetosa", 1), int(time.time() * 1000), b"0",
        CONTRACT.encode(), [])
    return future


def test_kafka_python_still_has_what_abort_unsettled_relies_on(dead_address):
    producer = idle_producer(dead_address)
    try:
        sender = producer._sender
        assert isinstance(sender, Sender) and isinstance(sender, threading.Thread)
        assert list(inspect.signature(Sender.force_close).parameters) == ["self"]
    finally:
        abort_unsettled(producer)
        producer.close()


def test_close_with_a_timeout_still_cannot_fail_a_stuck_record(dead_address):
    """If this fails, kafka-python's public close() now settles such records:
    irislab.producing.settle should use it instead of abort_unsettled."""
    producer = idle_producer(dead_address)
    future = stuck_record(producer)
    try:
        with pytest.raises(KafkaTimeoutError):
            producer.close(timeout=0.2)
        assert not future.is_done
    finally:
        abort_unsettled(producer)
        producer.close()


def test_abort_unsettled_fails_a_stuck_record_and_stops_the_io_thread(dead_address):
    producer = idle_producer(dead_address)
    future = stuck_record(producer)
    abort_unsettled(producer)
    assert future.is_done and future.failed()  # reported as not delivered, never as delivered
    assert "closed forcefully" in str(future.exception)
    assert not producer._sender.is_alive()
    producer.close()


def test_settle_fails_what_is_left_at_the_deadline(dead_address):
    producer = idle_producer(dead_address)
    future = stuck_record(producer)
    errors = []
    future.add_errback(errors.append)
    settle(producer, deadline=time.monotonic())
    assert future.failed() and len(errors) == 1
    assert not producer._sender.is_alive()
