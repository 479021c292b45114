"""A secured cluster's passwords (irislab/broker/security.py): made once, kept mode 600
beside the data they were stored in, and read back on every later start; a data folder whose
passwords are gone is refused in one line, since no broker could log in to it."""

import stat

import pytest

from irislab.broker.security import USERS, Security
from irislab.errors import BrokerError

pytestmark = pytest.mark.unit


def test_passwords_are_made_once_kept_private_and_read_back(tmp_path):
    data = tmp_path / "data" / "kraft-1-sasl-ssl"
    made = Security(tmp_path, data, "kraft").passwords
    assert sorted(made) == sorted(USERS) and len(set(made.values())) == len(USERS)
    assert stat.S_IMODE((data / "passwords.json").stat().st_mode) == 0o600
    (data / "kafka-1").mkdir()  # the brokers' data, stored with those passwords
    assert Security(tmp_path, data, "kraft").passwords == made


def test_data_whose_passwords_are_gone_is_refused_in_one_line(tmp_path):
    data = tmp_path / "data" / "zookeeper-1-sasl-ssl"
    Security(tmp_path, data, "zookeeper").passwords
    (data / "zookeeper").mkdir()
    (data / "passwords.json").unlink()
    with pytest.raises(BrokerError) as refused:
        Security(tmp_path, data, "zookeeper").passwords
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"{data} holds a secured cluster whose passwords are gone")
    assert f"delete {data} to start afresh" in message
    assert not (data / "passwords.json").exists()  # no new passwords that would not work
