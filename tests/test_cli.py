"""The command lines without a broker: bad usage is exit 2 with one line naming the bad value,
bad input files are exit 1 with one line naming the file, both before any broker is contacted;
and the bootstrap list's parsing on its own.

Each script's entry point runs as a user runs it, in a process of its own, once (--help);
the other cases run the same two steps, parse the arguments then run_command(main, ...), in
the test's own process, which does not pay a Python start-up with pandas and kafka-python for
each of them."""

import argparse
import importlib
from typing import NamedTuple

import pytest

from irislab.cli import bootstrap_address, positive_int
from irislab.errors import run_command
from tests.lab import run_python

pytestmark = pytest.mark.unit

CONSUMER = ("consumer.py",)
PRODUCER = ("producer1.py",)
ADMIN = ("-m", "irislab.admin")
BROKER = ("-m", "irislab.broker")
PROG = {CONSUMER: "consumer.py", PRODUCER: "producer1.py", ADMIN: "python -m irislab.admin",
        BROKER: "python -m irislab.broker"}
# each command's module, and the name its __main__ line gives run_command
ENTRY = {CONSUMER: ("consumer", "consumer.py"), PRODUCER: ("producer1", "producer1.py"),
         ADMIN: ("irislab.admin", "python -m irislab.admin"),
         BROKER: ("irislab.broker.__main__", "irislab.broker")}


class Ran(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run_here(capsys):
    """run_here(command, *args): the command's __main__ line in this process: its arguments
    parsed (argparse exits 2 on bad usage), then run_command(main, args, name); what it
    printed, and its exit status."""
    def run(command, *args):
        name, prog = ENTRY[command]
        module = importlib.import_module(name)
        parse = getattr(module, "parse_args", None) or module.build_parser().parse_args
        try:
            code = run_command(module.main, parse([str(a) for a in args]), prog)
        except SystemExit as e:
            code = e.code
        out, err = capsys.readouterr()
        return Ran(code, out, err)
    return run

# (command, its arguments, what the error line must name)
BAD_USAGE = [
    (CONSUMER, [], "--role"),
    (CONSUMER, ["--role", "nope"], "'nope'"),
    (CONSUMER, ["--role", "Setosa"], "'Setosa'"),
    (CONSUMER, ["--role", "all", "--timeout-ms", "0"], "'0'"),
    (CONSUMER, ["--role", "all", "--timeout-ms", "-5"], "'-5'"),
    (CONSUMER, ["--role", "all", "--timeout-ms", "x"], "'x'"),
    (CONSUMER, ["--role", "all", "--timeout-ms", "1.5"], "'1.5'"),
    (CONSUMER, ["--role", "all", "--bootstrap-server", "nohost"], "'nohost'"),
    (CONSUMER, ["--role", "all", "--bootstrap-server", "no-port"], "'no-port'"),
    (CONSUMER, ["--role", "all", "--bootstrap-server", "localhost:0"], "'localhost:0'"),
    (CONSUMER, ["--role", "all", "--bootstrap-server", "localhost:65536"], "'localhost:65536'"),
    (CONSUMER, ["--role", "all", "--group", "  "], "--group"),
    (CONSUMER, ["--role", "all", "--group", ""], "--group"),
    (CONSUMER, ["--role", "setosa", "--live"], "--live"),
    (CONSUMER, ["--role", "virginica", "--live"], "--live"),
    (CONSUMER, ["--role", "all", "--group", "g", "--assignor", "sticky"], "'sticky'"),
    (CONSUMER, ["--role", "all", "--assignor", "cooperative"], "--assignor"),
    (CONSUMER, ["--role", "setosa", "--group", "g", "--assignor", "cooperative"], "--assignor"),
    (CONSUMER, ["--role", "all", "--no-such-option"], "--no-such-option"),
    (PRODUCER, ["--delay", "-1"], "'-1'"),
    (PRODUCER, ["--delay", "nan"], "'nan'"),
    (PRODUCER, ["--delay", "inf"], "'inf'"),
    (PRODUCER, ["--delay", "soon"], "'soon'"),
    (PRODUCER, ["--repeat", "0"], "'0'"),
    (PRODUCER, ["--repeat", "2.5"], "'2.5'"),
    (PRODUCER, ["--delivery-timeout-ms", "999"], "'999'"),
    (PRODUCER, ["--route-by", "x"], "'x'"),
    (PRODUCER, ["--bootstrap-server", "nohost"], "'nohost'"),
    (PRODUCER, ["--bootstrap-server", "127.0.0.1:9092,"], "'127.0.0.1:9092,'"),
    (PRODUCER, ["stray"], "stray"),
    (ADMIN, ["--bootstrap-server", "nohost"], "'nohost'"),
    (ADMIN, ["--bootstrap-server", "127.0.0.1:9092;127.0.0.1:9093"],
     "'127.0.0.1:9092;127.0.0.1:9093'"),
    (ADMIN, ["--reset", "--describe"], "--describe"),
    (ADMIN, ["--groups", "  "], "--groups"),
    (ADMIN, ["--groups", "lab", ""], "--groups"),
    (ADMIN, ["--describe", "--groups"], "--groups"),
    (ADMIN, ["--watch"], "--watch"),
    (ADMIN, ["--no-such-option"], "--no-such-option"),
    (BROKER, [], ""),
    (BROKER, ["nosuch"], "'nosuch'"),
    (BROKER, ["start", "--mode", "nosuch"], "'nosuch'"),
    (BROKER, ["start", "--brokers", "0"], "'0'"),
    (BROKER, ["start", "--brokers", "6"], "'6'"),
    (BROKER, ["start", "--port", "x"], "'x'"),
    (BROKER, ["kill", "--node", "x"], "'x'"),
]


def assert_bad_usage(result, command, named):
    """Exit 2, argparse's usage, then exactly one error line, the last, naming the value."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("usage: ")
    assert [line for line in lines if "error" in line] == [lines[-1]]
    assert lines[-1].startswith(f"{PROG[command]}: error: ")
    assert named in lines[-1]


@pytest.mark.parametrize("command,args,named", BAD_USAGE,
                         ids=[" ".join([*c, *a]) or "none" for c, a, _ in BAD_USAGE])
def test_bad_usage_is_exit_2_and_one_line_naming_the_bad_value(run_here, command, args, named):
    assert_bad_usage(run_here(command, *args), command, named)


@pytest.mark.parametrize("command,args", [(CONSUMER, ["--role", "all"]), (PRODUCER, []),
                                          (ADMIN, [])], ids=["consumer", "producer", "admin"])
def test_a_malformed_kafka_bootstrap_servers_is_bad_usage_naming_it(run_here, monkeypatch,
                                                                   command, args):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker-without-port")
    assert_bad_usage(run_here(command, *args), command, "'broker-without-port'")


@pytest.mark.parametrize("command", [CONSUMER, PRODUCER, ADMIN, BROKER],
                         ids=["consumer", "producer", "admin", "broker"])
def test_help_is_exit_0_on_stdout(command):
    result = run_python(*command, "--help", timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: ") and result.stderr == ""
    assert "--help" in result.stdout


def test_the_consumers_help_names_the_three_roles(run_here):
    result = run_here(CONSUMER, "--help")
    assert result.returncode == 0 and "{all,setosa,virginica}" in result.stdout


# --- bad input files: exit 1, one line naming the file, before any broker is contacted

@pytest.mark.parametrize("lines,error", [
    (["5.1,3.5,1.4,0.2,Iris-setosa", "4.9,x,1.4,0.2,Iris-setosa"],
     "line 2: could not convert string to float: 'x'"),
    (["sepal_length,sepal_width,petal_length,petal_width,species",
      "5.1,3.5,1.4,0.2,Iris-setosa", "5.1,3.5,1.4,Iris-setosa"], "line 3: 4 fields, expected 5"),
    (["5.1,3.5,1.4,0.2,Iris-rosa"], "line 1: unknown species 'Iris-rosa'"),
    (["5.1,-3.5,1.4,0.2,Iris-setosa"], "line 1: '-3.5' is not a length in cm"),
    (["5.1,nan,1.4,0.2,Iris-setosa"], "line 1: 'nan' is not a length in cm"),
    (["5.1,3.5,1.4,0.2,Iris-setosa", "5.1,3.5,1400,0.2,Iris-setosa"],
     "line 2: '1400' is not a length in cm"),
    ([], "has no iris rows"),
])
def test_a_bad_csv_is_a_one_line_error_naming_the_line(run_here, tmp_path, unused_address,
                                                      lines, error):
    csv = tmp_path / "iris.csv"
    csv.write_text("\n".join(lines) + "\n")
    # the file is read before any broker is contacted: nothing is sent
    result = run_here(PRODUCER, "--csv", csv, "--bootstrap-server", unused_address)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"producer1.py: error: {csv}, {error}"
                                          if "line" in error else
                                          f"producer1.py: error: {csv} {error}"]


def test_a_missing_csv_is_a_one_line_error(run_here, tmp_path, unused_address):
    result = run_here(PRODUCER, "--csv", tmp_path / "nosuch.csv", "--bootstrap-server",
                      unused_address)
    assert result.returncode == 1
    assert result.stderr.startswith(f"producer1.py: error: cannot read {tmp_path / 'nosuch.csv'}")
    assert len(result.stderr.splitlines()) == 1


def test_a_plot_file_in_a_missing_folder_is_refused_before_reading(run_here, tmp_path,
                                                                   unused_address):
    plot = tmp_path / "no" / "such" / "plot.png"
    result = run_here(CONSUMER, "--role", "all", "--plot-file", plot, "--bootstrap-server",
                      unused_address)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"consumer.py: error: cannot save the plot to {plot}: no such folder"]


# --- the bootstrap list, parsed on its own

@pytest.mark.parametrize("text,address", [
    ("localhost:9092", "localhost:9092"),
    ("127.0.0.1:9092", "127.0.0.1:9092"),
    ("[::1]:9092", "[::1]:9092"),
    ("kafka-1.example.com:19092", "kafka-1.example.com:19092"),
    ("broker_1:1", "broker_1:1"),
    ("localhost:65535", "localhost:65535"),
    ("localhost:9092,localhost:9093,localhost:9094", "localhost:9092,localhost:9093,localhost:9094"),
    (" localhost:9092 , 127.0.0.1:9093 ", "localhost:9092,127.0.0.1:9093"),
])
def test_a_bootstrap_list_of_host_port_pairs_is_accepted(text, address):
    assert bootstrap_address(text) == address


@pytest.mark.parametrize("text", [
    "", "localhost", "localhost:", ":9092", "localhost:0", "localhost:65536", "localhost:port",
    "localhost:-1", "localhost:+1", "local host:9092", "::1:9092", "[::1]", "[nohex]:9092",
    "localhost:9092,", ",localhost:9092", "localhost:9092,localhost",
    "localhost:9092;localhost:9093", "localhost:9092 localhost:9093", "http://localhost:9092",
])
def test_anything_else_is_refused_naming_the_whole_text(text):
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        bootstrap_address(text)
    assert str(refused.value) == f"{text!r} is not HOST:PORT or a comma-separated list of them"


@pytest.mark.parametrize("text,number", [("1", 1), ("10000", 10000)])
def test_positive_int_accepts_whole_numbers_above_zero(text, number):
    assert positive_int(text) == number


@pytest.mark.parametrize("text", ["0", "-1", "1.5", "x", "", " 1"])
def test_positive_int_refuses_the_rest_naming_it(text):
    with pytest.raises(argparse.ArgumentTypeError, match=repr(text)):
        positive_int(text)


# --- --client-config FILE (a managed cluster's client.properties) on every command

SECRET = "s3cr3t-Pa55"


@pytest.mark.parametrize("command,args", [(CONSUMER, ["--role", "all"]), (PRODUCER, []),
                                          (ADMIN, [])], ids=["consumer", "producer", "admin"])
@pytest.mark.parametrize("text,named", [
    (None, "no-such.properties"),
    ("bootstrap.servers=127.0.0.1:9092\nlinger.mss=5\n", "linger.mss"),
    ("security.protocol=SSL\nssl.truststore.type=JKS\nssl.truststore.location=ca.jks\n",
     "ssl.truststore.type"),
    ("security.protocol=SASL_SSL\nsasl.mechanism=GSSAPI\n", "GSSAPI"),
    (f"security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.username=lab\n"
     f"sasl.password={SECRET}\nsasl.jaas.config=broken {SECRET}\n", "sasl.jaas.config"),
], ids=["missing", "unknown-key", "jks", "gssapi", "bad-jaas"])
def test_a_bad_client_config_is_bad_usage_naming_it_without_a_secret(
        run_here, tmp_path, command, args, text, named):
    path = tmp_path / "no-such.properties"
    if text is not None:
        path = tmp_path / "client.properties"
        path.write_text(text)
    result = run_here(command, *args, "--client-config", path)
    assert_bad_usage(result, command, named)
    assert SECRET not in result.stdout + result.stderr


def test_kafka_client_config_names_the_file_when_no_option_does(run_here, monkeypatch, tmp_path):
    path = tmp_path / "client.properties"
    path.write_text("no.such.key=1\n")
    monkeypatch.setenv("KAFKA_CLIENT_CONFIG", str(path))
    assert_bad_usage(run_here(PRODUCER), PRODUCER, "no.such.key")
