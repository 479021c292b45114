"""lab.ipynb, executed with nbclient as `make notebook` executes it: the lab end to end on a
broker the notebook starts and stops, in both modes; its outputs as a student sees them;
the committed copy as its last execution left it; no Java; a kernel interrupt."""

import base64
import io
import os
import re
import shutil
import signal

import nbformat
import psutil
import pytest
from jupyter_client import KernelManager

from irislab.broker import LocalCluster
from irislab.notebook.execute import (execute, kernel_sockets, not_executed, read,
                                      source_stamp, stamp, venv_kernel, write_html)
from irislab.notebook.steps import broker_home
from tests.lab import (MODES, ROOT, colour_pixels, live_processes_mentioning, produce,
                       start_python, wait_for)

LAB = ROOT / "lab.ipynb"


def kernel_env(**changes):
    """The kernel's environment: the lab importable wherever it runs, no broker named."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("KAFKA_BOOTSTRAP_SERVERS", "KAFKA_CLIENT_CONFIG")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), env.get("PYTHONPATH"))))
    return {**env, **changes}


def printed_by(notebook, command):
    """What the cell that runs `command` (its "$ python ..." line starts with it) printed."""
    for cell in notebook.cells:
        text = "".join(o.text for o in cell.get("outputs", ()) if o.output_type == "stream")
        if text.startswith(f"$ python {command}"):
            return text
    raise AssertionError(f"no cell printed $ python {command}")


def outputs_of(notebook, mime):
    return [o.data[mime] for cell in notebook.cells for o in cell.get("outputs", ())
            if mime in o.get("data", {})]


@pytest.mark.parametrize("mode", MODES)
def test_the_notebook_runs_the_lab_on_its_own_broker_and_stops_it(mode, tmp_path):
    home = tmp_path / broker_home(mode)
    try:
        notebook, error = execute(read(LAB), tmp_path, kernel_env(MODE=mode))
    finally:
        left = LocalCluster.running_in(home)
        stopped_here = left is not None and left.stop()
    assert error is None  # else "cell N: what it said"
    assert not stopped_here, "the notebook left its broker running"
    assert re.search(rf"^Apache Kafka \S+ \({mode} mode\) is up on ",
                     printed_by(notebook, "-m irislab.broker start"), re.M)
    assert printed_by(notebook, "-m irislab.broker stop").endswith("stopped\n")

    assert "delivered 150 of 150 records sent" in printed_by(notebook, "producer1.py")
    for role, count in (("all", 150), ("setosa", 50), ("virginica", 50)):
        printed = printed_by(notebook, f"consumer.py --role {role} --bootstrap-server")
        assert f"\nread {count} records, skipped 0 malformed\n" in printed, role

    # the sepal plot, inline: a point of every species' colour
    png = base64.b64decode(outputs_of(notebook, "image/png")[0])
    assert all(colour_pixels(io.BytesIO(png)).values())
    # the setosa table as a DataFrame: 50 rows, setosa only; then its describe()
    setosa, described = outputs_of(notebook, "text/html")[:2]
    rows = setosa.split("<tbody>")[1]
    assert rows.count("<tr>") == rows.count("<td>setosa</td>") == 50
    assert "<th>mean</th>" in described and "<th>sepal_length</th>" in described

    page = tmp_path / "lab.html"
    write_html(notebook, page)
    html = page.read_text()
    assert "data:image/png;base64," in html and "<table" in html


@pytest.mark.unit
def test_the_committed_notebook_shows_its_last_execution():
    notebook = read(LAB)
    assert not_executed(notebook) == []  # make notebook re-executes it
    assert not any(o.output_type == "error" for cell in notebook.cells
                   for o in cell.get("outputs", ()))
    assert outputs_of(notebook, "image/png") and outputs_of(notebook, "text/html")


@pytest.mark.unit
def test_a_cell_changed_or_added_after_the_execution_is_noticed():
    notebook = read(LAB)
    stamp(notebook)
    code = [n for n, cell in enumerate(notebook.cells, 1) if cell.cell_type == "code"]
    assert not_executed(notebook) == []
    notebook.cells[code[1] - 1].source += "\n# changed"
    assert not_executed(notebook) == [code[1]]
    notebook.cells.append(nbformat.v4.new_code_cell("1 + 1"))
    assert len(not_executed(notebook)) == len(code) + 1  # run out of order since
    assert source_stamp(notebook.cells[0]) != source_stamp(notebook.cells[-1])


@pytest.mark.unit
def test_without_java_the_first_code_cell_says_so_in_one_line_with_the_fix(tmp_path):
    (tmp_path / "bin").mkdir()  # a PATH without java
    notebook, error = execute(read(LAB), tmp_path, kernel_env(PATH=str(tmp_path / "bin")))
    first = next(n for n, cell in enumerate(notebook.cells, 1) if cell.cell_type == "code")
    assert error.startswith(f"cell {first}: Stopped: irislab.broker exited with status 1")
    printed = printed_by(notebook, "-m irislab.broker start").splitlines()
    assert len(printed) == 2  # the command, then its one-line error with the fix
    assert re.match(r"irislab\.broker: error: java not found on PATH: install a JDK 17",
                    printed[1])
    failed = [o for o in notebook.cells[first - 1].outputs if o.output_type == "error"]
    assert [o.traceback for o in failed] == [["stopped: irislab.broker exited with status 1"]]


def test_a_kernel_interrupt_stops_the_consumer_of_the_cell_cleanly(kafka, tmp_path):
    produce(kafka.bootstrap)
    timeout = "61000"  # this test's consumer, told apart from any other
    kernel = KernelManager(kernel_name=venv_kernel(), config=kernel_sockets(tmp_path))
    kernel.start_kernel(env=kernel_env(), cwd=str(tmp_path))
    client = kernel.client()
    try:
        client.start_channels()
        client.wait_for_ready(timeout=60)
        cell = client.execute(
            "from irislab.notebook import run\n"
            f"run('consumer.py', '--role', 'virginica', '--bootstrap-server', "
            f"'{kafka.bootstrap}', '--timeout-ms', '{timeout}')")
        printed, errors = "", []
        while True:
            message = client.get_iopub_msg(timeout=120)
            if message["parent_header"].get("msg_id") != cell:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                if "\ntopic=" not in printed and "\ntopic=" in printed + content["text"]:
                    kernel.interrupt_kernel()  # it is reading: the ■ button
                printed += content["text"]
            elif kind == "error":
                errors.append(content)
            elif kind == "status" and content["execution_state"] == "idle":
                break
    finally:
        client.stop_channels()
        kernel.shutdown_kernel(now=True)
    assert "interrupted: showing what was read so far" in printed
    assert re.search(r"^read \d+ records, skipped 0 malformed \(INCOMPLETE\)$", printed, re.M)
    assert [e["traceback"] for e in errors] == [
        ["stopped: interrupted; consumer.py stopped (exit status 130)"]]
    wait_for(lambda: not live_processes_mentioning(timeout), 30, "the consumer to end")


def running_in(folder, text):
    """Processes started in `folder` whose command line mentions `text`."""
    return [p.pid for p in psutil.process_iter(["cmdline", "cwd"])
            if p.info["cwd"] == str(folder) and text in " ".join(p.info["cmdline"] or ())]


@pytest.mark.parametrize("mode", MODES[-1:])
def test_ctrl_c_in_make_notebook_stops_the_running_command_the_kernel_and_the_broker(
        mode, tmp_path):
    notebook = tmp_path / "lab.ipynb"
    shutil.copy(LAB, notebook)
    script = start_python("-m", "irislab.notebook", "--mode", mode, "--notebook", notebook,
                          "--html", tmp_path / "lab.html", env=kernel_env())
    wait_for(lambda: running_in(tmp_path, "consumer.py --role all"), 180,
             lambda: f"the notebook's consumer 1\n{script.out}\n{script.err}")
    script.send_signal(signal.SIGINT)
    out, err = script.communicate(timeout=90)
    assert (script.returncode, err.splitlines()[-1]) == (130, "irislab.notebook: interrupted")
    assert "stopped the broker the notebook left running in " in out
    assert LocalCluster(mode, home=tmp_path / broker_home(mode)).state()[0] == "stopped"
    for left in ("consumer.py", "ipykernel"):
        wait_for(lambda: not running_in(tmp_path, left), 30, f"{left} to end")
    assert notebook.read_bytes() == LAB.read_bytes()  # saved only when every cell ran
