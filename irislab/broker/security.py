"""A secured local cluster (`start --security sasl-ssl`): its users, their passwords and
client.properties files, and the steps that secure the cluster around its start.

Every listener a client can reach speaks SASL_SSL: TLS with the certificates made for the
run (certificates.py), SCRAM-SHA-512 logins, and an authorizer that refuses what no ACL
allows (acls.py). The users:

    broker    the brokers' own login to each other (and, on KRaft's controller listener,
              their certificate); a super user
    admin     the operator: creates the lab's topics and the ACLs; a super user
    producer  sends to the lab's topics, and nothing more
    consumer  reads the lab's topics, in groups named lab*, and nothing more

Their passwords are random, made when a layout's data folder is first secured and kept
beside the data they were stored in (data/<mode>-<N>-sasl-ssl/passwords.json, mode 600):
the brokers store only salted credentials, so the data and its passwords go together.
Each start writes the clients' files, in librdkafka's spelling, where `--client-config`
takes them:

    <home>/client-admin.properties, client-producer.properties, client-consumer.properties

Before the brokers start, users are stored where each mode keeps them. KRaft: the users
the brokers need to start (broker, and admin, as whom the runner asks whether they are up),
in the metadata log, written when the storage is formatted (kafka-storage format
--add-scram); once the brokers answer, admin adds producer and consumer through the admin
API (AlterUserScramCredentials, stored in the same log). ZooKeeper mode: all four, in
ZooKeeper's znodes, through kafka-configs --zookeeper. Then admin creates the lab's topics
and grants the ACLs.
"""

import json
import secrets
import subprocess
from pathlib import Path

from kafka import KafkaAdminClient
from kafka.admin import UserScramCredentialUpsertion
from kafka.errors import KafkaError

from irislab.admin import connect, ensure_topics
from irislab.broker import acls
from irislab.broker.certificates import make_certificates
from irislab.broker.configs import write_private
from irislab.broker.jars import java
from irislab.clientconfig import ClientConfigError, read_client_config
from irislab.errors import BrokerError
from irislab.layout import TOPIC_PARTITIONS
from irislab.waiting import wait_until

SECURITY = ("sasl-ssl",)  # the choices of --security
MECHANISM = "SCRAM-SHA-512"
USERS = ("broker", "admin", "producer", "consumer")
SUPER_USERS = ("broker", "admin")
CLIENT_USERS = ("admin", "producer", "consumer")
# the users stored before the brokers start, by mode; the others are added through admin.
# KRaft: those the brokers need to start. ZooKeeper mode: all of them, since there only the
# controller takes AlterUserScramCredentials, and kafka-python 3.0.12 sends it to any broker
# and reports the others' refusal (NOT_CONTROLLER) as success
STORED_BEFORE_START = {"kraft": ("broker", "admin"), "zookeeper": USERS}

CLIENT_FILE = """\
# The login of user "{user}" on irislab's secured local cluster
# (python -m irislab.broker start --security sasl-ssl): python producer1.py,
# consumer.py or -m irislab.admin --client-config {path}
bootstrap.servers={bootstrap}
security.protocol=SASL_SSL
sasl.mechanisms={mechanism}
sasl.username={user}
sasl.password={password}
ssl.ca.location={ca}
"""


class Security:
    """The secrets and files of a cluster kept in `home`, whose data folder is `data`,
    running in `mode` (kraft or zookeeper)."""

    def __init__(self, home, data, mode):
        self.home = Path(home)
        self.mode = mode
        self.stored_before_start = STORED_BEFORE_START[mode]
        self.folder = self.home / "security"
        self.ca_file = self.folder / "ca.pem"
        self.keystore = self.folder / "broker.pem"
        self.passwords_file = Path(data) / "passwords.json"
        # written once the users are in ZooKeeper: a start that failed before that does it again
        self.stored_in_zookeeper = Path(data) / "zookeeper" / "users-stored"
        self._passwords = None

    def client_file(self, user):
        return self.home / f"client-{user}.properties"

    @property
    def passwords(self):
        """user -> password: those the data folder was secured with, or new ones."""
        if self._passwords is None:
            try:
                self._passwords = json.loads(self.passwords_file.read_text())
            except FileNotFoundError:
                data = self.passwords_file.parent
                if data.is_dir() and any(data.iterdir()):  # users stored with other passwords
                    raise BrokerError(
                        f"{data} holds a secured cluster whose passwords are gone "
                        f"({self.passwords_file.name} is missing), so no broker could log in: "
                        f"restore that file, or delete {data} to start afresh "
                        "(its records go with it)") from None
                # 24 URL-safe characters: 144 random bits, and nothing to quote or escape
                self._passwords = {user: secrets.token_urlsafe(18) for user in USERS}
                self.passwords_file.parent.mkdir(parents=True, exist_ok=True)
                write_private(self.passwords_file, json.dumps(self._passwords).encode())
            except (OSError, ValueError) as e:
                raise BrokerError(f"cannot read the passwords in {self.passwords_file}: {e}")
        return self._passwords

    def hide(self, text):
        """text with every password replaced by ******: a tool's output shown in an error."""
        for password in self.passwords.values():
            text = text.replace(password, "******")
        return text

    # --- before the brokers start

    def prepare(self, bootstrap):
        """A new CA and certificate for the run, and the clients' files naming `bootstrap`.
        Returns the values the sasl-ssl-<mode>.properties template takes."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        make_certificates(self.folder)
        for user in CLIENT_USERS:
            path = self.client_file(user)
            write_private(path, CLIENT_FILE.format(
                user=user, password=self.passwords[user], bootstrap=bootstrap,
                mechanism=MECHANISM, ca=self.ca_file, path=path).encode())
        return {"keystore": self.keystore, "truststore": self.ca_file,
                "broker_password": self.passwords["broker"],
                "super_users": ";".join(f"User:{user}" for user in SUPER_USERS)}

    def format_arguments(self):
        """kafka-storage format's arguments that store the users the brokers need."""
        return [argument for user in self.stored_before_start for argument in
                ("--add-scram", f"{MECHANISM}=[name={user},password={self.passwords[user]}]")]

    def store_in_zookeeper(self, zookeeper_port):
        """Write the users into ZooKeeper, unless they are there from an earlier start on
        the same data (one kafka-configs each, at once: each is a JVM start)."""
        if self.stored_in_zookeeper.exists():
            return
        runs = [subprocess.Popen(
            java(self.mode, "kafka.admin.ConfigCommand", "--zookeeper", f"127.0.0.1:{zookeeper_port}",
                 "--alter", "--entity-type", "users", "--entity-name", user,
                 "--add-config", f"{MECHANISM}=[password={self.passwords[user]}]"),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for user in self.stored_before_start]
        for run in runs:
            output = run.communicate()[0]
            if run.returncode != 0:
                raise BrokerError("storing the SCRAM users in ZooKeeper failed:\n"
                                  + self.hide(output.strip()))
        self.stored_in_zookeeper.touch()

    # --- once the brokers answer

    def client_settings(self, user="admin", bootstrap=None):
        """kafka-python's settings for `user` (from its file), at `bootstrap` if given."""
        try:
            settings = read_client_config(self.client_file(user))
        except ClientConfigError as e:
            raise BrokerError(f"the secured cluster's client file will not do: {e}") from None
        if bootstrap:
            settings["bootstrap_servers"] = bootstrap
        return settings

    def secure(self, addresses, timeout=30):
        """As admin: add the lab's users, create its topics, grant the ACLs; then wait
        until every broker lets each user in and shows it the topics (credentials and ACLs
        reach each broker a moment after they are stored)."""
        settings = self.client_settings(bootstrap=",".join(addresses))
        with connect(settings) as admin:
            added = [UserScramCredentialUpsertion(user, MECHANISM, self.passwords[user])
                     for user in USERS if user not in self.stored_before_start]
            if added:
                failed = {user: error for user, error
                          in admin.alter_user_scram_credentials(added).items() if error}
                if failed:
                    raise BrokerError(f"the brokers refused to add the SCRAM users: {failed}")
            acls.grant(admin, acls.lab_acls())
        ensure_topics(settings)
        pending = [(user, address) for user in acls.GRANTS for address in addresses]

        def all_in():
            pending[:] = [(u, a) for u, a in pending if not self._sees_topics(u, a)]
            return not pending
        try:
            wait_until(all_in, timeout, interval=0.2)
        except TimeoutError:
            user, address = pending[0]
            raise BrokerError(f"user {user} cannot log in to {address} or see the lab's "
                              f"topics there {timeout:.0f} s after they were granted") from None

    def _sees_topics(self, user, address):
        try:
            with KafkaAdminClient(**self.client_settings(user, address),
                                  bootstrap_timeout_ms=2000, request_timeout_ms=2000) as admin:
                topics = admin.describe_topics(list(TOPIC_PARTITIONS))
        except KafkaError:
            return False
        return all(topic["error_code"] == 0 for topic in topics)
