"""`make cluster-demo`: the lab on three brokers, and what ZooKeeper (or KRaft's quorum) does
when brokers crash while the iris records stream.

    python scripts/cluster_demo.py [--mode zookeeper|kraft] [--port 9092]

It starts three brokers, creates the lab's topics (replication factor 3), starts the three
consumers, a member of a consumer group and a slow producer, then, mid-stream: kills the
broker that leads virginicasetosa partition 0 (a new leader takes over; the group's lag is
shown), starts it again (the lag again); kills the controller (a new one is elected), starts
it again. It times each failover, checks that every row landed once on its partition (read
back by kafka-python's plain consumer, not by consumer.py) and that each lab consumer's
output is complete. Everything it shows is also in out/cluster/.

Failovers are timed from the instant of the SIGKILL: the demo kills a node itself, as
`python -m irislab.broker kill --node N` does, rather than timing from when that command
returns (a Python start-up and more later, by which time a KRaft quorum, which elects
within about 2 s, may have a new leader already).
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from irislab import admin  # noqa: E402
from irislab.broker import LocalCluster  # noqa: E402
from irislab.cluster_facts import controller_id  # noqa: E402
from irislab.dataset import load_iris  # noqa: E402
from irislab.errors import LabError  # noqa: E402
from irislab.layout import ROLE_PARTITIONS, SPECIES_PARTITION, partition_for  # noqa: E402
from irislab.waiting import wait_until  # noqa: E402

HOME = ROOT / "var" / "cluster-demo"
OUT = ROOT / "out" / "cluster"
EXPECTED = {"all": 150, "setosa": 50, "virginica": 50}
GROUP = "cluster-demo"  # a consumer group, whose lag the demo shows with a broker down and back


def say(text):
    print(f"\n==> {text}", flush=True)
    with open(OUT / "demo.txt", "a") as log:
        log.write(f"\n==> {text}\n")


def show(text):
    print(text, flush=True)
    with open(OUT / "demo.txt", "a") as log:
        log.write(text + "\n")


def run(*args, check=True):
    """Run `python ARGS` as a user would, show the command and what it printed."""
    show("$ python " + " ".join(map(str, args)).replace(str(ROOT) + "/", ""))
    result = subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True,
                            text=True)
    show((result.stdout + result.stderr).rstrip())
    if check and result.returncode != 0:
        sys.exit(f"cluster demo: that command failed (exit {result.returncode})")
    return result


def broker(*args):
    return run("-m", "irislab.broker", *args, "--home", HOME)


def describe(bootstrap, name):
    text = run("-m", "irislab.admin", "--describe", "--bootstrap-server", bootstrap).stdout
    (OUT / f"describe-{name}.txt").write_text(text)


def leader(bootstrap, topic, partition):
    with admin.connect(bootstrap) as client:
        return admin.lab_topics(client)[topic][partition]["leader_id"]


def in_sync(bootstrap, without=None):
    """Is every lab partition's Isr whole (or, given a broker, is that one out of every Isr)?"""
    with admin.connect(bootstrap) as client:
        partitions = [p for ps in admin.lab_topics(client).values() for p in ps]
    if without is not None:
        return all(without not in p["isr_nodes"] for p in partitions)
    return all(len(p["isr_nodes"]) == len(p["replica_nodes"]) for p in partitions)


def wait_for(condition, what, timeout=90):
    """Wait until condition() holds, asked every 0.1 s; the demo ends if it never does."""
    try:
        # a broker mid-failover may refuse a request: that is "not yet", ask again
        wait_until(condition, timeout, interval=0.1, retry_on=(LabError, KafkaError))
    except TimeoutError:
        sys.exit(f"cluster demo: no {what} within {timeout} s")


def crash(node):
    """SIGKILL a node as `python -m irislab.broker kill --node N` does, from here, and
    return the instant of the signal (time.monotonic()), which failovers are timed from."""
    killed_at = LocalCluster.running_in(HOME).kill(node)
    show(f"killed node {node} (SIGKILL), as python -m irislab.broker kill --node {node} does")
    return killed_at


def new_controller(bootstrap, killed):
    """The new controller's id once there is one that is not the killed node and that
    answers at its own address, naming itself; else None. (KRaft: only the quorum's leader
    answers DescribeQuorum, so its answer is never a stale one.)"""
    named = controller_id(bootstrap)
    if named in (None, -1, killed):
        return None
    address = LocalCluster.running_in(HOME).address(named)
    return named if controller_id(address) == named else None


def read_back(bootstrap):
    """(topic, partition) -> ids found there, read from the beginning by a plain consumer."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=5000)
    tps = [TopicPartition(t, p) for t, p in ROLE_PARTITIONS["all"]]
    consumer.assign(tps)
    consumer.seek_to_beginning()
    ends = consumer.end_offsets(tps)
    found = {(tp.topic, tp.partition): [] for tp in tps}
    for message in consumer:
        found[message.topic, message.partition].append(int(message.key))
        if all(consumer.position(tp) >= ends[tp] for tp in tps):
            break
    consumer.close()
    return found


def main(args):
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "demo.txt").write_text("")
    bootstrap = ",".join(f"127.0.0.1:{args.port + i}" for i in range(3))
    say(f"Starting three Kafka brokers ({args.mode} mode) with fresh data in "
        f"{HOME.relative_to(ROOT)}")
    subprocess.run([sys.executable, "-m", "irislab.broker", "stop", "--home", HOME],
                   cwd=ROOT, capture_output=True)  # a demo interrupted earlier
    subprocess.run(["rm", "-rf", str(HOME)])
    broker("start", "--brokers", "3", "--mode", args.mode, "--port", args.port)
    failovers = {}
    try:
        say("Creating the lab's topics: 2 partitions each, every partition copied on all three "
            "brokers, and an acks=all write needs 2 copies in sync (min.insync.replicas)")
        run("-m", "irislab.admin", "--bootstrap-server", bootstrap)
        say("Where each partition lives: one leader takes the writes, the followers copy it; "
            "Isr is the copies in sync")
        describe(bootstrap, "1-start")

        say(f"Starting the three consumers, a member of consumer group {GROUP} and a slow "
            "producer (0.1 s a row, 15 s in all)")
        consumers = {role: subprocess.Popen(
            [sys.executable, "consumer.py", "--role", role, "--bootstrap-server", bootstrap,
             "--timeout-ms", "30000", "--plot-file", OUT / "iris_sepal.png"], cwd=ROOT,
            stdout=open(OUT / f"consumer-{role}.txt", "w"), stderr=subprocess.STDOUT)
            for role in EXPECTED}
        member = subprocess.Popen(
            [sys.executable, "consumer.py", "--role", "all", "--group", GROUP, "--summary",
             "--bootstrap-server", bootstrap, "--timeout-ms", "30000",
             "--plot-file", OUT / "iris_sepal_group.png"], cwd=ROOT,
            stdout=open(OUT / "consumer-group.txt", "w"), stderr=subprocess.STDOUT)
        time.sleep(3)
        producer = subprocess.Popen(
            [sys.executable, "producer1.py", "--bootstrap-server", bootstrap, "--delay", "0.1"],
            cwd=ROOT, stdout=open(OUT / "producer.txt", "w"), stderr=subprocess.STDOUT)
        time.sleep(3)

        topic, partition = SPECIES_PARTITION["virginica"]
        victim = leader(bootstrap, topic, partition)
        say(f"Crash: killing broker {victim}, the leader of {topic} partition {partition}, "
            "while the producer streams")
        killed_at = crash(victim)
        wait_for(lambda: leader(bootstrap, topic, partition) not in (victim, -1), "new leader")
        failovers["new leader"] = time.monotonic() - killed_at
        show(f"a new leader, broker {leader(bootstrap, topic, partition)}, "
             f"{failovers['new leader']:.1f} s after the SIGKILL")
        describe(bootstrap, "2-leader-killed")
        say(f"Group {GROUP} while broker {victim} is down: its committed offsets on the "
            "replicated __consumer_offsets, its lag")
        run("-m", "irislab.admin", "--groups", GROUP, "--bootstrap-server", bootstrap,
            check=False)
        say(f"Starting broker {victim} again on its data: it catches up and rejoins the Isr")
        restarted = time.monotonic()
        broker("start", "--node", victim)
        wait_for(lambda: in_sync(bootstrap), "full Isr")
        failovers["back in sync"] = time.monotonic() - restarted
        show(f"every Isr whole again {failovers['back in sync']:.1f} s after the start")
        say(f"Group {GROUP} with broker {victim} back")
        run("-m", "irislab.admin", "--groups", GROUP, "--bootstrap-server", bootstrap,
            check=False)

        controller, how = admin.describe_controller(bootstrap)
        say(f"Crash: killing the controller, broker {controller} ({how})")
        killed_at = crash(controller)
        elected = {}
        def is_elected():
            elected["id"] = new_controller(bootstrap, controller)
            return elected["id"] is not None
        wait_for(is_elected, "new controller")
        failovers["new controller"] = time.monotonic() - killed_at
        show(f"a new controller, broker {elected['id']}, {failovers['new controller']:.1f} s "
             "after the SIGKILL")
        wait_for(lambda: in_sync(bootstrap, without=controller), "Isr without the dead broker")
        show(f"broker {controller} is out of every Isr, its leaderships moved")
        describe(bootstrap, "3-controller-killed")
        say(f"Starting broker {controller} again on its data")
        broker("start", "--node", controller)
        wait_for(lambda: in_sync(bootstrap), "full Isr")
        describe(bootstrap, "4-all-back")

        say("Waiting for the producer, then for the consumers (each stops 30 s after its "
            "last record)")
        producer.wait()
        show((OUT / "producer.txt").read_text().splitlines()[-1])
        complete = True
        for role, consumer in consumers.items():
            consumer.wait()
            last = (OUT / f"consumer-{role}.txt").read_text().splitlines()[-1]
            show(f"consumer --role {role}: {last}")
            complete &= consumer.returncode == 0 and last == (
                f"read {EXPECTED[role]} records, skipped 0 malformed")
        member.wait()  # at least once: a rebalance may show a record twice
        show(f"consumer --role all --group {GROUP}: "
             f"{(OUT / 'consumer-group.txt').read_text().splitlines()[-1]}")

        say("Reading every partition back with a plain kafka-python consumer")
        found = read_back(bootstrap)
        iris = load_iris()
        expected = {}
        for record_id, species in enumerate(iris.species.tolist()):
            expected.setdefault(partition_for(species, record_id), []).append(record_id)
        once = all(sorted(found[tp]) == ids for tp, ids in expected.items())
        for (t, p), ids in found.items():
            show(f"{t}[{p}]: {len(ids)} records, {len(set(ids))} distinct ids")
        show("every row once, on its partition" if once else "ROWS MISSING OR DUPLICATED")

        say("Measured (a failover from the instant of the SIGKILL)")
        show(f"a new leader {failovers['new leader']:.1f} s after its leader was killed")
        show(f"a new controller {failovers['new controller']:.1f} s after the controller "
             "was killed")
        show(f"a restarted broker back in every Isr {failovers['back in sync']:.1f} s after "
             "its start command")
        show(f"outputs in {OUT.relative_to(ROOT)}/")
        return 0 if once and complete and producer.returncode == 0 else 1
    finally:
        say("Stopping the cluster")
        broker("stop")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=("zookeeper", "kraft"), default="zookeeper")
    parser.add_argument("--port", type=int, default=9092,
                        help="broker i listens on 127.0.0.1:PORT+i-1 (default: 9092)")
    sys.exit(main(parser.parse_args()))
