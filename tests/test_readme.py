"""README.md, run as a student follows it: every command it shows in a `console` block (a line
starting with `$ `), in the README's order, on a broker that the README's own start command
starts afresh, once per mode; and what each command printed must show the lines the README
shows under it. Adding a command or a sample line to the README adds it here: there is no list
to keep by hand.

How a sample is read (README.md's "The lab's steps, here" says so to the student):
- its lines must be the command's output (stdout and stderr, as a terminal shows them), in
  order, from the first line to the last;
- a line `...` stands for any number of lines, none included; `...` within a line, for any text
  (a time, a folder);
- a command shown without a sample must exit 0, like every other.

What the test changes, as a student on a busy machine might, and nothing else:
- port 9092 becomes a free port (`--port` for the broker's start, KAFKA_BOOTSTRAP_SERVERS for
  the clients, the address in every command and sample), so that it runs beside other brokers;
- in the KRaft run, the broker's start gets `--mode kraft`;
- `--delay` is a tenth of the README's: the producer streams in 6 s, not 60;
- the commands run in a folder of their own, which links to the project's files, so that the
  broker's var/ and the plot are the test's.

A command's comment steers how it runs: `# terminal N, ...` runs it in the background, as in a
terminal of its own, and the next command starts once it has printed its first line; `once
terminal N has finished` waits for that one to end first; the next command that is not in a
terminal waits for them all to end. `# on the ZooKeeper-mode broker` (or KRaft-mode) runs it in
that mode only.
"""

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from irislab.broker import LocalCluster, free_port
from tests.lab import MODES, ROOT, colour_pixels, wait_for

README = ROOT / "README.md"
FENCE = re.compile(r"^```(\S*)")
TERMINAL = re.compile(r"^terminal (\d+)")
AFTER_TERMINAL = re.compile(r"once terminal (\d+) has finished")
MODE_ONLY = {"zookeeper": "on the ZooKeeper-mode broker", "kraft": "on the KRaft-mode broker"}
COMMAND_TIMEOUT = 180  # s: the longest command, a consumer waiting out its 10 s, takes ~20


@dataclass
class Command:
    line: int                # where it stands in README.md
    text: str                # the command, as typed after `$ `
    comment: str = ""        # what follows `  # `
    sample: list = field(default_factory=list)  # the lines shown under it

    def __str__(self):
        return f"README.md line {self.line}: $ {self.text}"


def console_commands(markdown):
    """Every `$ ` line of the markdown's ```console blocks, in order, with the lines that
    follow it in its block."""
    commands, language = [], None
    for number, line in enumerate(markdown.splitlines(), 1):
        fence = FENCE.match(line)
        if fence:
            language = None if language is not None else fence[1] or "text"
        elif language == "console":
            if line.startswith("$ "):
                text, _, comment = line[2:].partition("  # ")
                commands.append(Command(number, text.strip(), comment.strip()))
            elif commands and commands[-1].line < number:
                commands[-1].sample.append(line)
    return commands


def shows(output, sample):
    """Does output (text) show the sample's lines, as the docstring above reads them?"""
    if not sample:
        return True
    pattern = "".join(r"(?:[^\n]*\n)*?" if line == "..." else
                      re.escape(line.rstrip()).replace(re.escape("..."), "[^\n]*") + r"[ \t]*\n"
                      for line in sample)
    text = "".join(line + "\n" for line in output.splitlines())
    return re.fullmatch(pattern, text) is not None


# -- the README's grammar, checked without a broker ------------------------------------------

@pytest.mark.unit
@pytest.mark.parametrize("sample,output,expected", [
    (["a", "b"], "a\nb\n", True),
    (["a", "b"], "a\nb\nc\n", False),          # every line is accounted for
    (["a", "...", "c"], "a\nb\nb\nc\n", True),
    (["a", "...", "c"], "a\nc\n", True),       # `...` may stand for no line at all
    (["...", "c"], "x\nc\n", True),
    (["b", "a"], "a\nb\n", False),             # in order
    (["up after ... s; data in ..."], "up after 2.1 s; data in var/x\n", True),
    (["up after ... s"], "up after 2.1 s\nmore\n", False),
    (["a.b"], "axb\n", False),                 # a sample's text is literal
    ([], "anything\n", True),
])
def test_a_sample_is_read_as_the_readme_says(sample, output, expected):
    assert shows(output, sample) is expected


@pytest.mark.unit
def test_console_blocks_give_commands_with_their_comments_and_samples():
    commands = console_commands(
        "text\n```console\n$ one  # terminal 1, first\nout\n...\n$ two\n```\n"
        "$ not a command\n```text\n$ nor this\n```\n")
    assert [(c.text, c.comment, c.sample) for c in commands] == [
        ("one", "terminal 1, first", ["out", "..."]), ("two", "", [])]


@pytest.mark.unit
def test_every_command_the_readme_shows_is_one_this_test_runs():
    """A shell command shown outside a console block would be a command no test runs: every
    fenced block is console (run here) or text, and the only indented block is the first
    lines' two setup commands, which CI runs itself (make test) and
    test_make_demo_runs_the_lab_end_to_end runs (make demo)."""
    markdown = README.read_text()
    languages = [m[1] for m in map(FENCE.match, markdown.splitlines()) if m]
    assert set(languages[::2]) <= {"console", "text"}, languages[::2]
    assert len(console_commands(markdown)) >= 15
    indented = [line for line in strip_fences(markdown) if line.startswith("    ")]
    assert [line.split("#")[0].strip() for line in indented] == ["make demo", "make test"]
    assert markdown.splitlines()[2:4] == indented


def strip_fences(markdown):
    inside = False
    for line in markdown.splitlines():
        if FENCE.match(line):
            inside = not inside
        elif not inside:
            yield line


# -- the README, run ------------------------------------------------------------------------

class Student:
    """Runs the README's commands in a folder of its own, as the docstring above says."""

    def __init__(self, mode, folder):
        self.mode, self.folder, self.port = mode, folder, free_port()
        for entry in ROOT.iterdir():
            if entry.name not in {".git", "var", "out", ".pytest_cache"} and entry.suffix != ".png":
                (folder / entry.name).symlink_to(entry)
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("KAFKA_CLIENT_CONFIG", "DISPLAY", "WAYLAND_DISPLAY", "VIRTUAL_ENV")}
        self.env.update(PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
                        PYTHONUNBUFFERED="1", MPLBACKEND="Agg",
                        KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{self.port}")
        self.terminals = {}  # N -> (Command, Popen, output file)

    def typed(self, command):
        """The command as the test runs it."""
        text = command.text.replace("9092", str(self.port))
        text = re.sub(r"--delay ([\d.]+)", lambda m: f"--delay {float(m[1]) / 10:g}", text)
        if text.startswith("python -m irislab.broker start"):
            text += f" --port {self.port}" + (" --mode kraft" if self.mode == "kraft" else "")
        return text

    def sample(self, command):
        return [line.replace("9092", str(self.port)) for line in command.sample]

    def runs(self, command):
        only = [mode for mode, words in MODE_ONLY.items() if words in command.comment]
        return not only or self.mode in only

    def run(self, command):
        terminal = TERMINAL.match(command.comment)
        if terminal is None:
            self.wait_for_terminals()
            result = subprocess.run(["bash", "-c", self.typed(command)], cwd=self.folder,
                                    env=self.env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, timeout=COMMAND_TIMEOUT)
            self.check(command, result.returncode, result.stdout)
            return
        after = AFTER_TERMINAL.search(command.comment)
        if after:
            self.wait_for_terminal(int(after[1]))
        output = self.folder / f".terminal-{terminal[1]}.txt"
        with output.open("w") as out:
            process = subprocess.Popen(["bash", "-c", self.typed(command)], cwd=self.folder,
                                       env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, text=True)
        self.terminals[int(terminal[1])] = (command, process, output)
        wait_for(lambda: process.poll() is not None or output.read_text(), COMMAND_TIMEOUT,
                 f"{command}: its first line")

    def wait_for_terminal(self, number):
        command, process, output = self.terminals.pop(number)
        try:
            process.wait(COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self.check(command, process.returncode, output.read_text())

    def wait_for_terminals(self):
        for number in sorted(self.terminals):
            self.wait_for_terminal(number)

    def check(self, command, returncode, output):
        shown = "\n".join(self.sample(command))
        assert returncode == 0, f"{command}\nexited {returncode}, printing:\n{output}"
        assert shows(output, self.sample(command)), \
            f"{command}\nprinted:\n{output}\nwhich does not show what the README shows:\n{shown}"

    def stop(self):
        for _, process, _ in self.terminals.values():
            if process.poll() is None:
                process.kill()
            process.wait()
        cluster = LocalCluster.running_in(self.folder / "var" / "broker")
        if cluster is not None:
            cluster.stop()


@pytest.mark.parametrize("mode", MODES)
def test_every_command_in_the_readme_prints_what_the_readme_shows(mode, tmp_path):
    student = Student(mode, tmp_path)
    commands = [c for c in console_commands(README.read_text()) if student.runs(c)]
    assert commands[0].text.startswith("make venv jars")  # a fresh broker: the README starts it
    try:
        for command in commands:
            student.run(command)
        student.wait_for_terminals()
        # the README's last command stopped the broker, and ZooKeeper with it
        assert LocalCluster.running_in(tmp_path / "var" / "broker") is None
    finally:
        student.stop()


def test_make_demo_runs_the_lab_end_to_end(tmp_path):
    """The README's first line, in the default mode (MODE=zookeeper), on a port of its own:
    the three consumers' outputs and the producer's in out/, complete, and the plot."""
    student = Student("zookeeper", tmp_path)
    result = subprocess.run(["make", "demo", f"PORT={student.port}"], cwd=tmp_path,
                            env=student.env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = tmp_path / "out"
    for role, count in (("all", 150), ("setosa", 50), ("virginica", 50)):
        lines = (out / f"consumer-{role}.txt").read_text().splitlines()
        assert lines[-1] == f"read {count} records, skipped 0 malformed", (role, lines[-3:])
    assert (out / "producer.txt").read_text().splitlines()[-1].startswith(
        "delivered 150 of 150 records sent")
    assert all(n > 200 for n in colour_pixels(out / "iris_sepal.png").values())
    assert "Stopping the broker" in result.stdout
    assert LocalCluster.running_in(tmp_path / "var" / "demo") is None
