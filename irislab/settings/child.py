"""A child Python process for an experiment that must stop a Kafka client as a crash or a
Ctrl-C stops it: python -c CODE ARGS..., its settings given as JSON lines on stdin (not in
argv, which ps shows to everyone: they may hold a password), its stdout read on a thread so
that a wait for a line has a deadline, its stderr kept to show when it fails. Imports
nothing heavy: it is imported by children too, and a child's start-up is on the clock."""

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # where a child imports irislab from


class Child:
    """The process; `lines` holds (time.monotonic() when the parent read it, text) for each
    line it printed, then None when its stdout has ended."""

    def __init__(self, code, *args, send=(), keep_stdin=False, name="the child process"):
        self.name = name
        self.errors = tempfile.TemporaryFile("w+", errors="replace")
        # the parent's folder (a --client-config's relative paths), importing irislab
        path = os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, *map(str, args)],
            env={**os.environ, "PYTHONPATH": path}, text=True, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.errors,
            # SIGINT must raise KeyboardInterrupt in it even if this process ignores SIGINT
            # (started with & from a script): an experiment stops it as Ctrl-C does
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.lines = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        for item in send:
            self.tell(json.dumps(item, default=str))
        if not keep_stdin:
            self.process.stdin.close()  # it reads to the end of its settings, no further

    def _read(self):
        for line in self.process.stdout:
            self.lines.put((time.monotonic(), line.rstrip("\n")))
        self.lines.put(None)

    def tell(self, line):
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def next(self, timeout):
        """The next (time read, text); TimeoutError if none comes within `timeout` s (0: only
        what is there already), RuntimeError with its stderr if it has exited."""
        try:
            item = self.lines.get(timeout=max(0, timeout))
        except queue.Empty:
            raise TimeoutError(f"{self.name} printed nothing in {timeout:.1f} s") from None
        if item is None:
            self.lines.put(None)  # for the next call too
            self.errors.seek(0)
            raise RuntimeError(f"{self.name} exited {self.process.wait()}:\n"
                               f"{self.errors.read()[-2000:]}")
        return item

    def signal(self, sig):
        if self.process.poll() is None:
            self.process.send_signal(sig)

    def stop(self, sig, timeout=30):
        """Signal it and wait until it has exited; its exit code."""
        self.signal(sig)
        return self.process.wait(timeout=timeout)

    def close(self):
        self.signal(signal.SIGKILL)
        self.process.wait()
        self._reader.join(timeout=5)  # its EOF read before stdout is closed under it
        for stream in (self.process.stdin, self.process.stdout, self.errors):
            stream.close()
