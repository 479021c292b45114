# The steps demo.sh and secure_demo.sh share (sourced; they set PY, HOME_DIR and OUT).

say() { printf '\n==> %s\n' "$*"; }

# A broker started afresh in HOME_DIR (a demo interrupted earlier is stopped, its folder and
# OUT emptied), and stopped when the demo exits. Arguments: start's, beyond --home.
start_fresh_broker() {
    $PY -m irislab.broker stop --home "$HOME_DIR" >/dev/null
    rm -rf "$HOME_DIR" "$OUT"
    mkdir -p "$OUT"
    $PY -m irislab.broker start "$@" --home "$HOME_DIR"
    trap 'say "Stopping the broker"; $PY -m irislab.broker stop --home "$HOME_DIR"' EXIT
}

# The lab's own steps: the three consumers started in the background, the producer, then the
# wait for the consumers, each ending 10 s after its last record. Arguments: how the
# consumers connect, "--", how the producer connects. Sets `failed` to 1 if a consumer did.
run_the_lab() {
    local consumer_args=() role pid pids=()
    while [ "$1" != "--" ]; do consumer_args+=("$1"); shift; done
    shift  # the rest: the producer's

    say "Starting the three consumers in the background (python consumer.py --role all|setosa|virginica ${consumer_args[*]})"
    for role in all setosa virginica; do
        $PY consumer.py --role "$role" "${consumer_args[@]}" \
            --plot-file "$OUT/iris_sepal.png" >"$OUT/consumer-$role.txt" 2>&1 &
        pids+=($!)
    done
    sleep 2

    say "Streaming the iris data set (python producer1.py $*)"
    $PY producer1.py "$@" >"$OUT/producer.txt"
    tail -n 1 "$OUT/producer.txt"

    say "Waiting for the consumers: each stops 10 s after its last record (consumer_timeout_ms)"
    failed=0
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
}
