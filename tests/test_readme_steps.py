"""The README's four terminals, run as written (producer1.py --delay 0.4, the consumers'
default 10 s timeout), in the README's order, against a real broker: each consumer's output
is complete. A virginica consumer started too early (the data set lists virginica last, 40 s
into the stream) says why it read nothing."""

import subprocess
import sys

from conftest import ROOT, run_python
from sklearn.datasets import load_iris

IRIS = load_iris()
SPECIES = [str(IRIS.target_names[t]) for t in IRIS.target]


def start(kafka, *args):
    return subprocess.Popen([sys.executable, *args, "--bootstrap-server", kafka.bootstrap],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def ids_shown(out):
    """The ids a consumer showed: the id= field of record lines, the 4th cell of table rows."""
    ids = []
    for line in out.splitlines():
        cells = line.split()
        if line.startswith("topic="):
            ids.append(int(cells[3].removeprefix("id=")))
        elif len(cells) == 9 and cells[0] in ("virginicasetosa", "versicolor"):
            ids.append(int(cells[3]))
    return sorted(ids)


def test_the_readme_steps_give_three_complete_outputs(kafka, tmp_path):
    result = run_python("-m", "irislab.admin", "--reset", "--bootstrap-server", kafka.bootstrap)
    assert result.returncode == 0, result.stderr
    processes = []
    try:
        # terminal 1: role all, before the producer
        processes.append(all_ := start(kafka, "consumer.py", "--role", "all",
                                       "--plot-file", str(tmp_path / "sepal.png")))
        assert all_.stdout.readline().startswith("role all: reading")  # assigned and sought
        # terminal 2: the producer, a row every 0.4 s
        processes.append(producer := start(kafka, "producer1.py", "--delay", "0.4"))
        # terminal 3: setosa, any time: here at once
        processes.append(setosa := start(kafka, "consumer.py", "--role", "setosa"))
        # not in the README: virginica started now stops before its first record arrives
        processes.append(early := start(kafka, "consumer.py", "--role", "virginica"))
        early_out, early_err = early.communicate(timeout=60)
        assert producer.poll() is None, "the producer should still be streaming"
        out, err = producer.communicate(timeout=120)
        assert producer.returncode == 0, err
        assert out.splitlines()[-1].startswith("delivered 150 of 150 records sent")
        # terminal 4: virginica, once the producer has finished
        processes.append(virginica := start(kafka, "consumer.py", "--role", "virginica"))
        outputs = {role: process.communicate(timeout=60)
                   for role, process in (("all", all_), ("setosa", setosa),
                                         ("virginica", virginica))}
    finally:
        for process in processes:
            process.kill()
            process.wait()
    for role, process in (("all", all_), ("setosa", setosa), ("virginica", virginica)):
        out, err = outputs[role]
        assert process.returncode == 0, err
        wanted = [i for i, s in enumerate(SPECIES) if role in ("all", s)]
        assert ids_shown(out) == wanted, role
        assert f"read {len(wanted)} records, skipped 0 malformed" in out.splitlines()
    assert early.returncode == 0, early_err
    assert early_out.splitlines()[-2:] == [
        "read 0 records, skipped 0 malformed",
        "nothing arrived within 10 s (--timeout-ms): start this consumer after the producer, "
        "or raise --timeout-ms"]
