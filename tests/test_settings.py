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
    named = [row["test"] for row in map(settings.as_dict, settings.SETTINGS) if row["test"]]
    assert named
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
