"""`make cluster-demo`: the lab on three brokers, and what ZooKeeper (or KRaft's quorum) does
when brokers crash while the iris records stream.

    python scripts/cluster_demo.py [--mode zookeeper|kraft] [--port 9092]

It starts three brokers, creates the lab's topics (replication factor 3), starts the three
consumers and a slow producer, then, mid-stream: kills the broker that leads
virginicasetosa partition 0 (a new leader takes over), starts it again; kills the
controller (a new one is elected), starts it again. It times each failover, checks that
every row landed once on its partition (read back by kafka-python's plain consumer, not
by consumer.py) and that each consumer's output is complete. Everything it shows is also
in out/cluster/.
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

from irislab import LabError, admin  # noqa: E402
from irislab.layout import ROLE_PARTITIONS, SPECIES_PARTITION, partition_for  # noqa: E402
from irislab.dataset import load_iris  # noqa: E402

HOME = ROOT / "var" / "cluster-demo"
OUT = ROOT / "out" / "cluster"
EXPECTED = {"all": 150, "setosa": 50, "virginica": 50}


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
    """Seconds until condition() holds, asked every 0.2 s."""
    started = time.monotonic()
    while True:
        try:
            if condition():
                return time.monotonic() - started
        except (LabError, KafkaError):  # a broker mid-failover may refuse: ask again
            pass
        if time.monotonic() - started > timeout:
            sys.exit(f"cluster demo: no {what} within {timeout} s")
        time.sleep(0.2)


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

        say("Starting the three consumers and a slow producer (0.1 s a row, 15 s in all)")
        consumers = {role: subprocess.Popen(
            [sys.executable, "consumer.py", "--role", role, "--bootstrap-server", bootstrap,
             "--timeout-ms", "30000", "--plot-file", OUT / "iris_sepal.png"], cwd=ROOT,
            stdout=open(OUT / f"consumer-{role}.txt", "w"), stderr=subprocess.STDOUT)
            for role in EXPECTED}
        time.sleep(3)
        producer = subprocess.Popen(
            [sys.executable, "producer1.py", "--bootstrap-server", bootstrap, "--delay", "0.1"],
            cwd=ROOT, stdout=open(OUT / "producer.txt", "w"), stderr=subprocess.STDOUT)
        time.sleep(3)

        topic, partition = SPECIES_PARTITION["virginica"]
        victim = leader(bootstrap, topic, partition)
        say(f"Crash: killing broker {victim}, the leader of {topic} partition {partition}, "
            "while the producer streams")
        broker("kill", "--node", victim)
        failovers["new leader"] = wait_for(
            lambda: leader(bootstrap, topic, partition) not in (victim, -1), "new leader")
        show(f"a new leader, broker {leader(bootstrap, topic, partition)}, after "
             f"{failovers['new leader']:.1f} s; broker {victim} is out of every Isr")
        describe(bootstrap, "2-leader-killed")
        say(f"Starting broker {victim} again on its data: it catches up and rejoins the Isr")
        restarted = time.monotonic()
        broker("start", "--node", victim)
        wait_for(lambda: in_sync(bootstrap), "full Isr")
        failovers["back in sync"] = time.monotonic() - restarted
        show(f"every Isr whole again {failovers['back in sync']:.1f} s after the start")

        controller, how = admin.describe_controller(bootstrap)
        say(f"Crash: killing the controller, broker {controller} ({how})")
        broker("kill", "--node", controller)
        failovers["new controller"] = wait_for(
            lambda: admin.describe_controller(bootstrap)[0] not in (controller, -1),
            "new controller")
        show(f"a new controller, broker {admin.describe_controller(bootstrap)[0]}, after "
             f"{failovers['new controller']:.1f} s")
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

        say("Measured")
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
