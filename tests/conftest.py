"""Fixtures: one real Apache Kafka broker per mode for the whole test session (and one
secured broker per mode, for the tests that use it), and every script a test starts
stopped when it ends. What tests share besides fixtures is in lab.py.

IRISLAB_MODES (e.g. "kraft") restricts the run to some modes; the default is both.
Tests marked `unit` need no broker: `make test-fast` runs them alone.
"""

from pathlib import Path
from typing import NamedTuple

import psutil
import pytest
from hypothesis import HealthCheck, settings

from irislab.broker import LocalCluster, free_port, free_ports, local_broker
from tests.lab import (MODES, live_processes_mentioning, run_python, scripts_running,
                       stop_scripts)

# Hypothesis (the decoder's fuzz tests): the same examples on every run (derandomize), so that
# the suite cannot fail at random; no example database; no per-example deadline (a slow CI
# machine is not a bug). make test runs "thorough"; make test-fast selects "fast", a tenth of
# the examples (--hypothesis-profile=fast).
settings.register_profile("thorough", max_examples=1000, derandomize=True, database=None,
                          deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fast", settings.get_profile("thorough"), max_examples=100)
settings.load_profile("thorough")

# fixtures that start Apache Kafka: a unit test may use none of them
BROKER_FIXTURES = {"kafka", "own_broker", "cluster", "healthy", "secured",
                   "secured_cluster"}


class Kafka(NamedTuple):
    mode: str
    home: Path
    bootstrap: str

    @property
    def port(self):
        return int(self.bootstrap.rsplit(":", 1)[1])


@pytest.fixture(scope="session", params=MODES)
def kafka(request, tmp_path_factory):
    home = tmp_path_factory.mktemp(f"broker-{request.param}")
    with local_broker(request.param, home) as bootstrap:
        yield Kafka(request.param, home, bootstrap)


class Secured(NamedTuple):
    """A secured broker (start --security sasl-ssl) and the users' files it wrote."""
    mode: str
    home: Path
    bootstrap: str

    def client_file(self, user):
        """The user's client.properties (admin, producer, consumer), librdkafka's spelling."""
        return self.home / f"client-{user}.properties"


@pytest.fixture(scope="session", params=MODES)
def secured(request, tmp_path_factory):
    """One broker per mode secured with TLS, SCRAM-SHA-512 logins and ACLs."""
    home = tmp_path_factory.mktemp(f"secured-{request.param}")
    cluster = LocalCluster(request.param, free_ports(1), home, security="sasl-ssl").start()
    try:
        yield Secured(request.param, home, cluster.bootstrap)
    finally:
        cluster.stop()


@pytest.fixture(scope="module", params=MODES)
def secured_cluster(request, tmp_path_factory):
    """Three brokers secured alike, started as a user starts them: with the command line."""
    home = tmp_path_factory.mktemp(f"secured-cluster-{request.param}")
    started = run_python("-m", "irislab.broker", "start", "--brokers", "3", "--security",
                         "sasl-ssl", "--mode", request.param, "--port", free_ports(3),
                         "--home", home, timeout=240)
    assert started.returncode == 0, started.stderr
    try:
        yield Secured(request.param, home, LocalCluster.running_in(home).bootstrap)
    finally:
        assert LocalCluster.running_in(home).stop()


@pytest.fixture
def unused_address():
    """A loopback address where no broker listens."""
    return f"127.0.0.1:{free_port()}"


@pytest.fixture(autouse=True)
def every_script_stopped():
    """Every script the test started (start_python) is killed and reaped when it ends,
    passed or failed."""
    before = scripts_running()
    yield
    stop_scripts(keep=before)


@pytest.fixture(scope="session", autouse=True)
def every_script_stopped_at_the_end(tmp_path_factory):
    """And so are those a module's fixture started, should it fail before they ended.
    Set up before the broker fixtures, so torn down after them: then no process runs
    from the session's folders, or a broker's stop missed it (killed here, and an error)."""
    yield
    stop_scripts()
    left = []
    for pid in live_processes_mentioning(str(tmp_path_factory.getbasetemp())):
        try:
            proc = psutil.Process(pid)
            left.append(" ".join(proc.cmdline()[-2:]))
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    assert not left, "still running at the session's end: " + "; ".join(left)


# before pytest-xdist's own, which reads the xdist_group marks to group the tests
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("unit"):
            brokers = BROKER_FIXTURES & set(item.fixturenames)
            if brokers:
                raise pytest.UsageError(f"{item.nodeid} is marked unit but starts a broker "
                                        f"(fixture {', '.join(sorted(brokers))})")
        mode = broker_mode(item)
        if mode is not None:  # make test: each mode's tests in one worker, with its brokers
            item.add_marker(pytest.mark.xdist_group(mode))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # in a make test worker, pytest-xdist has appended the test's group to its nodeid; a
    # pytest that ignores that (9.2: pytest-xdist#1386) would silently spread a mode's
    # brokers over both workers
    if (item.config.getoption("loadgroup", False) and item.get_closest_marker("xdist_group")
            and "@" not in item.nodeid):
        pytest.fail("pytest-xdist did not group this test by its xdist_group mark: this pytest "
                    "and pytest-xdist do not work together (docs/development.md)", pytrace=False)


def broker_mode(item):
    """The mode of the brokers a test runs against (a broker fixture's parameter, or its own
    `mode`), or None."""
    params = item.callspec.params if hasattr(item, "callspec") else {}
    modes = {value for name, value in params.items()
             if name in BROKER_FIXTURES | {"mode"} and value in MODES}
    return modes.pop() if len(modes) == 1 else None
