"""What lab.ipynb's cells call. The lab's own commands are run as a terminal runs them:
`python producer1.py ...`, each output line shown in the cell as it comes. Its broker is
started and stopped with `python -m irislab.broker`. pandas reads back the setosa table that
consumer.py printed. A command that fails stops the notebook with a short error, after the
command's own one-line error; it does not show a traceback."""

import os
import shlex
import shutil
import signal
import subprocess
import sys
from io import StringIO
from pathlib import Path

from irislab.broker import LocalCluster, free_port

# the lab's folder: producer1.py, consumer.py and the irislab package
LAB = Path(__file__).resolve().parents[2]


class Stopped(Exception):
    """A command failed or was interrupted. IPython shows an exception with a
    _render_traceback_ as the lines that method returns. "Run all" stops at that cell."""

    def _render_traceback_(self):
        return [f"stopped: {self}"]


def run(*args):
    """Run `python ARGS...` as a terminal in this folder would, and return its output lines
    (stdout and stderr, in the order they came). The lab's scripts are found in the lab's
    folder wherever the notebook runs. An interrupt of the kernel stops the command as
    Ctrl-C does (SIGINT), and it finishes what it does on Ctrl-C."""
    args = [str(arg) for arg in args]
    print("$ python " + shlex.join(args), flush=True)
    name = args[1] if args[0] == "-m" else Path(args[0]).name  # in what it says
    if (LAB / args[0]).is_file():
        args[0] = str(LAB / args[0])
    # the command imports irislab wherever the notebook runs; its lines come as printed,
    # stdout and stderr in the order it wrote them
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": os.pathsep.join(
        filter(None, (str(LAB), os.environ.get("PYTHONPATH"))))}
    lines = Printed()
    # a session of its own: the interrupt reaches the command once, from here
    with subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, env=env,
                          start_new_session=True) as command:
        try:
            show(command.stdout, lines)
        except KeyboardInterrupt:
            command.send_signal(signal.SIGINT)
            show(command.stdout, lines)  # what it prints as it stops
            command.wait()
            raise Stopped(f"interrupted; {name} stopped "
                          f"(exit status {command.returncode})") from None
    if command.returncode != 0:
        raise Stopped(f"{name} exited with status {command.returncode}")
    return lines


class Printed(list):
    """A command's output lines. The cell showed them as they came; as the cell's value,
    they are not shown again."""

    def _ipython_display_(self):
        pass


def show(stream, lines):
    for line in stream:
        print(line, end="", flush=True)
        lines.append(line.rstrip("\n"))


class Broker:
    """The broker the notebook works with: $KAFKA_BOOTSTRAP_SERVERS's when it names one
    (the notebook neither starts nor stops it), else one it starts in `mode`, on a free
    port, with a fresh folder var/notebook-MODE (in the notebook's folder)."""

    def __init__(self, mode):
        self.bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        self.home = None
        if self.bootstrap:
            print(f"the broker $KAFKA_BOOTSTRAP_SERVERS names: {self.bootstrap}")
            return
        self.home = broker_home(mode)
        leftover = LocalCluster.running_in(self.home)
        if leftover is not None:  # from a run that ended without its last cell
            leftover.stop()
        shutil.rmtree(self.home, ignore_errors=True)  # each run starts on empty topics
        port = free_port()
        run("-m", "irislab.broker", "start", "--mode", mode, "--port", port,
            "--home", self.home)
        self.bootstrap = f"127.0.0.1:{port}"

    def stop(self):
        """Stop the broker this notebook started; one it did not start is left running."""
        if self.home is None:
            print(f"{self.bootstrap} is left running: this notebook did not start it")
        else:
            run("-m", "irislab.broker", "stop", "--home", self.home)


def broker_home(mode):
    """The folder of the broker the notebook starts, in the notebook's folder."""
    return Path("var") / f"notebook-{mode}"


def printed_table(lines):
    """The table among a command's output lines (the setosa consumer's: a header line of
    column names, then one row a line) as a pandas DataFrame."""
    import pandas as pd
    start = next((i for i, line in enumerate(lines) if line.split()[:1] == ["topic"]), None)
    if start is None:
        raise Stopped("the output above has no table")
    width = len(lines[start].split())
    table = [lines[start]]
    for line in lines[start + 1:]:
        if len(line.split()) != width:
            break
        table.append(line)
    return pd.read_csv(StringIO("\n".join(table)), sep=r"\s+")
