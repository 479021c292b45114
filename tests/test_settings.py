"""python -m irislab.settings: every setting a student may pick for the lab's question, with its
default read from the installed kafka-python and its default in kafka-python 1.4.4."""

import ast
import json
import math

import pytest
from kafka import KafkaConsumer, KafkaProducer

from irislab import settings
from irislab.settings import __main__ as command
from tests.lab import ROOT, run_python

pytestmark = pytest.mark.unit

# the list: the settings most tutorials and exam questions name
ASKED = {
    "producer": {"acks", "linger_ms", "batch_size", "compression_type", "enable_idempotence",
                 "transactional_id", "max_in_flight_requests_per_connection",
                 "delivery_timeout_ms", "key_serializer", "partitioner"},
    "consumer": {"auto_offset_reset", "enable_auto_commit", "max_poll_records",
                 "fetch_min_bytes", "session_timeout_ms", "max_poll_interval_ms",
                 "isolation_level", "group_id", "consumer_timeout_ms"},
}
CONFIG = {"producer": KafkaProducer.DEFAULT_CONFIG, "consumer": KafkaConsumer.DEFAULT_CONFIG}


def listed():
    result = run_python("-m", "irislab.settings", "--json", timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # plain JSON: no Infinity, no NaN


def test_json_lists_the_asked_settings_once_each_with_every_field():
    rows = listed()
    assert {client: {r["name"] for r in rows if r["client"] == client} for client in ASKED} == ASKED
    assert len(rows) == sum(map(len, ASKED.values()))
    for row in rows:
        assert set(row) >= {"client", "name", "default", "lab_default", "lab_source", "what",
                            "command", "test"}
        assert row["what"].strip() and "\n" not in row["what"]


def test_each_default_is_the_installed_kafka_pythons_own():
    for row in map(settings.as_dict, settings.SETTINGS):
        value = CONFIG[row["client"]][row["name"]]
        if isinstance(value, float) and math.isinf(value):
            assert row["default"] == "inf"
        elif value is None or isinstance(value, (bool, int, str)):
            assert row["default"] == value and type(row["default"]) is type(value)
        else:  # an instance: its class, as Python would call it
            assert row["default"] == f"{type(value).__name__}()"
        for name, pair in row["with"].items():
            assert pair["default"] == CONFIG[row["client"]][name]


def test_the_defaults_are_read_at_run_time_not_typed_in(monkeypatch, capsys):
    monkeypatch.setitem(KafkaProducer.DEFAULT_CONFIG, "acks", 7)
    monkeypatch.setitem(KafkaConsumer.DEFAULT_CONFIG, "session_timeout_ms", 12345)
    assert command.main(command.build_parser().parse_args(["--json"])) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["acks"]["default"] == 7 and rows["session_timeout_ms"]["default"] == 12345


def test_the_settings_kafka_python_1_4_lacked_have_no_lab_default_and_the_others_a_source():
    lacked = {"enable_idempotence", "transactional_id", "delivery_timeout_ms", "isolation_level"}
    for row in map(settings.as_dict, settings.SETTINGS):
        if row["name"] in lacked:
            assert row["lab_default"] is None and row["lab_source"] is None
        else:
            path = "kafka/producer/kafka.py" if row["client"] == "producer" else \
                "kafka/consumer/group.py"
            assert row["lab_source"].startswith(f"kafka-python 1.4.4 {path}:")


def test_each_test_named_exists():
    named = [row["test"] for row in map(settings.as_dict, settings.SETTINGS)]
    assert all(named)  # every setting has one
    for node in named:
        path, _, function = node.partition("::")
        tree = ast.parse((ROOT / path).read_text())
        assert function in {f.name for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)}, node


def test_the_table_has_a_line_per_setting_with_both_defaults(capsys):
    assert command.main(command.build_parser().parse_args([])) == 0
    header, *lines = capsys.readouterr().out.splitlines()
    assert header.split()[:2] == ["client", "setting"]
    assert len(lines) == len(settings.SETTINGS)
    for setting, line in zip(settings.SETTINGS, lines):
        assert line.split()[:4] == [setting.client, setting.name,
                                    settings.spelled(CONFIG[setting.client][setting.name]),
                                    settings.spelled(setting.lab_default)]
        assert line.endswith(setting.what)
    idempotence = next(line for line in lines if line.split()[1] == "enable_idempotence")
    assert idempotence.split()[3] == "-"  # not in 1.4.4


# --- python -m irislab.settings NAME: its command line

def parse(*argv):
    return command.parse_args(list(argv))


def usage_error(capsys, *argv):
    """The one-line usage error argparse gives (exit 2)."""
    with pytest.raises(SystemExit) as exited:
        parse(*argv)
    assert exited.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_every_setting_has_an_experiment_and_every_experiment_a_setting():
    assert set(command.EXPERIMENTS) == {s.name for s in settings.SETTINGS}
    for s in settings.SETTINGS:
        assert s.command == f"python -m irislab.settings {s.name}"


def test_an_unknown_name_is_a_usage_error_that_lists_the_names(capsys):
    error = usage_error(capsys, "ack")
    assert "invalid choice: 'ack'" in error
    for s in settings.SETTINGS:
        assert s.name in error


def test_a_companion_runs_its_settings_experiment():
    assert command.experiment_names()["fetch_max_wait_ms"] == "fetch_min_bytes"
    assert command.experiment_names()["auto_commit_interval_ms"] == "enable_auto_commit"
    assert command.experiment_names()["heartbeat_interval_ms"] == "session_timeout_ms"
    assert parse("fetch_max_wait_ms").name == "fetch_max_wait_ms"


def test_acks_kills_a_broker_so_it_refuses_a_cluster_it_did_not_start(capsys):
    assert "runs only on brokers it starts" in usage_error(
        capsys, "acks", "--bootstrap-server", "127.0.0.1:9092")
    assert parse("acks").name == "acks"


def test_plot_goes_with_the_experiments_that_draw_a_figure(capsys):
    assert "auto_offset_reset has no figure" in usage_error(
        capsys, "auto_offset_reset", "--plot", "x.png")
    assert "go with a NAME" in usage_error(capsys, "--plot", "x.png")
    assert "go with a NAME" in usage_error(capsys, "--bootstrap-server", "127.0.0.1:9092")
    assert parse("compression_type", "--plot", "x.png").plot == "x.png"


def test_json_is_for_the_list(capsys):
    assert "--json lists the settings" in usage_error(capsys, "acks", "--json")
