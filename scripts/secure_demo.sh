#!/usr/bin/env bash
# `make secure-demo`: the lab on a secured local Apache Kafka (SASL_SSL: TLS, SCRAM-SHA-512
# logins, ACLs), as the users the cluster made for it, then what the cluster refuses.
#   MODE=zookeeper (Kafka 3.9 + ZooKeeper, the default) or MODE=kraft (Kafka 4.x)
#   PORT=9192      the broker's port on 127.0.0.1 (make demo's broker takes 9092)
# The cluster lives in var/secure-demo (its client-*.properties files too); outputs go to
# out/secure/.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${MODE:-zookeeper}
PORT=${PORT:-9192}
PY=.venv/bin/python
HOME_DIR=var/secure-demo
OUT=out/secure
PRODUCER=$HOME_DIR/client-producer.properties
CONSUMER=$HOME_DIR/client-consumer.properties

source scripts/lab_steps.sh

say "Starting a secured Apache Kafka ($MODE mode) on 127.0.0.1:$PORT, with a fresh folder $HOME_DIR"
start_fresh_broker --security sasl-ssl --mode "$MODE" --port "$PORT"

say "The consumers log in as user consumer (--client-config $CONSUMER):"
sed 's/^sasl.password=.*/sasl.password=(hidden here)/' "$CONSUMER"

run_the_lab --client-config "$CONSUMER" -- --client-config "$PRODUCER"
for role in all setosa virginica; do
    say "consumer --role $role ($OUT/consumer-$role.txt), its last line:"
    tail -n 1 "$OUT/consumer-$role.txt"
done

# What a student sees when a client is not let in, or not allowed: each command's exit
# status and its last line on stderr.
refused() {
    local what=$1
    shift
    say "$what"
    echo "\$ $*"
    local status=0
    "$@" >/dev/null 2>"$OUT/refused.txt" || status=$?
    tail -n 1 "$OUT/refused.txt"
    echo "(exit status $status)"
    if [ "$status" = 0 ]; then failed=1; fi
}

sed 's/^sasl.password=.*/sasl.password=not-the-password/' "$PRODUCER" >"$OUT/wrong-password.properties"
refused "A wrong password: the broker refuses the login" \
    $PY producer1.py --client-config "$OUT/wrong-password.properties"

refused "User consumer tries to produce: no ACL lets it write" \
    $PY producer1.py --client-config "$CONSUMER"

$PY -c "from irislab.broker.certificates import make_certificates; \
make_certificates('$OUT/another-ca')"  # a CA of its own, which signed no broker's certificate
sed "s|^ssl.ca.location=.*|ssl.ca.location=$OUT/another-ca/ca.pem|" "$PRODUCER" >"$OUT/untrusted-ca.properties"
refused "A client that trusts another CA: it refuses the broker's certificate" \
    $PY producer1.py --client-config "$OUT/untrusted-ca.properties"

refused "A plaintext client: the broker speaks only TLS" \
    $PY producer1.py --bootstrap-server "127.0.0.1:$PORT"

say "The sepal plot is $OUT/iris_sepal.png; the producer's report is $OUT/producer.txt"
exit $failed
