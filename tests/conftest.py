"""Fixtures: one real Apache Kafka broker per mode for the whole test session, and every
script a test starts stopped when it ends. What tests share besides fixtures is in lab.py.

IRISLAB_MODES (e.g. "kraft") restricts the run to some modes; the default is both.
Tests marked `unit` need no broker: `make test-fast` runs them alone.
"""

from pathlib import Path
from typing import NamedTuple

import pytest

from irislab.broker import free_port, local_broker
from tests.lab import MODES, scripts_running, stop_scripts

# fixtures that start Apache Kafka: a unit test may use none of them
BROKER_FIXTURES = {"kafka", "own_broker", "cluster", "healthy"}


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
def every_script_stopped_at_the_end():
    """And so are those a module's fixture started, should it fail before they ended."""
    yield
    stop_scripts()


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("unit"):
            brokers = BROKER_FIXTURES & set(item.fixturenames)
            if brokers:
                raise pytest.UsageError(f"{item.nodeid} is marked unit but starts a broker "
                                        f"(fixture {', '.join(sorted(brokers))})")
