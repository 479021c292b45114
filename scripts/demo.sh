#!/usr/bin/env bash
# `make demo`: the whole lab on a local Apache Kafka, in the lab's order.
#   MODE=zookeeper (Kafka 3.9 + ZooKeeper, the default) or MODE=kraft (Kafka 4.x)
#   PORT=9092      the broker's port on 127.0.0.1
# Outputs go to out/: each consumer's output, the producer's, and the sepal plot.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${MODE:-zookeeper}
PORT=${PORT:-9092}
PY=.venv/bin/python
HOME_DIR=var/demo
OUT=out
BOOTSTRAP=127.0.0.1:$PORT

source scripts/lab_steps.sh

say "Starting Apache Kafka ($MODE mode) on $BOOTSTRAP, with a fresh data folder $HOME_DIR"
start_fresh_broker --mode "$MODE" --port "$PORT"

say "Creating the topics (python -m irislab.admin)"
$PY -m irislab.admin --bootstrap-server "$BOOTSTRAP"

run_the_lab --bootstrap-server "$BOOTSTRAP" -- --bootstrap-server "$BOOTSTRAP"

for role in all setosa virginica; do
    say "consumer --role $role ($OUT/consumer-$role.txt), first and last lines:"
    head -n 4 "$OUT/consumer-$role.txt"
    echo "..."
    tail -n 2 "$OUT/consumer-$role.txt"
done
say "The sepal plot is $OUT/iris_sepal.png; the producer's report is $OUT/producer.txt"
exit $failed
