# irislab: `make demo` runs the lab end to end, `make test` runs the test suite.
# Both work from a fresh clone: they create .venv and fetch the Kafka jars first.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MODE ?= zookeeper

.PHONY: venv jars demo notebook cluster-demo secure-demo test test-fast test-under-load bench bench-smoke broker-up broker-down broker-status clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

# Apache Kafka's jars from Maven Central into irislab/broker/jars/, once per version
# (the POMs that pin them are irislab/broker/kafka-3.9/ and kafka-4/)
jars: venv
	$(PY) -m irislab.broker fetch

# the lab end to end on a local broker (MODE=zookeeper or MODE=kraft); outputs in out/
demo: jars
	MODE=$(MODE) bash scripts/demo.sh

# lab.ipynb executed in place on a broker of its own (MODE=kraft for Kafka 4), saved with its
# outputs, and exported to out/lab.html
notebook: jars
	$(PY) -m irislab.notebook --mode $(MODE)

# the lab on a secured broker (TLS, SCRAM-SHA-512 logins, ACLs) as users producer and
# consumer, then what the broker refuses; outputs in out/secure/
secure-demo: jars
	MODE=$(MODE) bash scripts/secure_demo.sh

# the lab on three brokers: a partition leader and the controller killed mid-stream,
# failovers timed; outputs in out/cluster/
cluster-demo: jars
	$(PY) scripts/cluster_demo.py --mode $(MODE)

# the whole suite against real local brokers, both modes (IRISLAB_MODES=kraft for one), in two
# pytest-xdist workers: each mode's tests in one of them, with that mode's brokers (the
# xdist_group marks in tests/conftest.py); it ends with the 10 slowest tests
test: jars
	@command -v kcat >/dev/null || { echo "make test needs kcat (Debian: apt-get install kcat)"; exit 1; }
	@command -v Xvfb >/dev/null || { echo "make test needs Xvfb (Debian: apt-get install xvfb)"; exit 1; }
	$(PY) -m pytest -n 2 --dist loadgroup --durations=10

# the tests that need no broker and no Java (marked unit): seconds, not minutes, with a tenth
# of make test's fuzz examples; like any pytest run, it fails when it finds no test to run
# (exit 5)
test-fast: venv
	$(PY) -m pytest -m unit -q --hypothesis-profile=fast

# the whole suite with a busy loop on every core for the whole run (scripts/under_load.py),
# as on a shared CI machine: a test that races a clock shows here
test-under-load: jars
	$(PY) scripts/under_load.py $(MAKE) test

# throughput: ours against raw kafka-python, Java and confluent-kafka (RECORDS=300000 for
# fewer); then the lab's end-to-end time on a warm broker
RECORDS ?= 1000000
bench: jars
	$(PY) bench/throughput.py --records $(RECORDS)
	$(PY) bench/latency.py

# every benchmark variant once, with a few records: checks they run, measures nothing
bench-smoke: jars
	$(PY) bench/throughput.py --smoke
	$(PY) bench/latency.py --runs 1

broker-up: jars
	$(PY) -m irislab.broker start --mode $(MODE)

broker-down: venv
	$(PY) -m irislab.broker stop

broker-status: venv
	$(PY) -m irislab.broker status

clean: broker-down
	for home in demo cluster-demo secure-demo notebook-zookeeper notebook-kraft; do \
	    $(PY) -m irislab.broker stop --home var/$$home; done
	rm -rf var out
