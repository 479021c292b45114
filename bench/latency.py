"""The lab end to end on a warm broker: from starting producer1.py to all three consumers done.

    .venv/bin/python bench/latency.py [--runs 3] [--mode zookeeper|kraft]

One local broker for the whole run; one unmeasured warm-up run first. Each measured run
resets the topics (not timed), then times: python producer1.py (150 records, every delivery
confirmed), then the three roles at once with --exit-at-end, each reading its partitions
from the beginning to the end and printing its records, table or plot. The target is under 3 s.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from irislab import cli  # noqa: E402
from irislab.broker import kafka_version, local_broker  # noqa: E402

PY = sys.executable


def run(*args, **kwargs):
    return subprocess.run([PY, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          check=True, **kwargs)


def lab_run(bootstrap, plot_file):
    """Seconds from producer start to the last consumer's exit."""
    run("-m", "irislab.admin", "--reset", "--bootstrap-server", bootstrap)
    started = time.monotonic()
    run("producer1.py", "--bootstrap-server", bootstrap)
    consumers = [subprocess.Popen([PY, "consumer.py", "--role", role, "--exit-at-end",
                                   "--bootstrap-server", bootstrap, "--plot-file", plot_file],
                                  cwd=ROOT, stdout=subprocess.DEVNULL)
                 for role in ("all", "setosa", "virginica")]
    if any(consumer.wait() != 0 for consumer in consumers):
        sys.exit("bench: a consumer failed")
    return time.monotonic() - started


def main(args):
    with tempfile.TemporaryDirectory(prefix="irislab-latency-") as tmp, \
            local_broker(args.mode, home=Path(tmp) / "broker") as bootstrap:
        plot = Path(tmp) / "plot.png"
        lab_run(bootstrap, plot)  # warm-up: the broker's first topics, the OS file cache
        times = [lab_run(bootstrap, plot) for _ in range(args.runs)]
    median = statistics.median(times)
    print(f"Apache Kafka {kafka_version(args.mode)} ({args.mode} mode), warm local broker: "
          f"producer1.py start -> all three consumers done (--exit-at-end)")
    print("runs: " + ", ".join(f"{t:.2f} s" for t in times))
    print(f"median {median:.2f} s; target under 3 s: {'met' if median < 3 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=cli.positive_int, default=3,
                        help="measured runs; the median is reported (default: 3)")
    parser.add_argument("--mode", choices=("zookeeper", "kraft"), default="kraft",
                        help="kraft: Kafka 4.x; zookeeper: Kafka 3.9 (default: kraft)")
    try:
        sys.exit(main(parser.parse_args()))
    except KeyboardInterrupt:
        sys.exit(130)
