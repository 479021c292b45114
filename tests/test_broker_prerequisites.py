"""The local broker runner without its prerequisites: no `java`, or no `mvn` to fetch the
jars, is one line naming what to install and exit 1, never a traceback. No JVM starts."""

import os
import shutil
import subprocess
import sys

import pytest

from irislab.broker import free_port
from tests.lab import ROOT

pytestmark = pytest.mark.unit


def start_broker(tmp_path, path, cwd=ROOT):
    """`python -m irislab.broker start` from `cwd`, with only the folder `path` on PATH."""
    return subprocess.run(
        [sys.executable, "-m", "irislab.broker", "start", "--home", str(tmp_path / "home"),
         "--port", str(free_port())],
        cwd=cwd, env={**os.environ, "PATH": str(path)}, capture_output=True, text=True,
        timeout=60)


def assert_one_line_error(result, message):
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [f"irislab.broker: error: {message}"]


def test_without_java_on_the_path_start_says_to_install_a_jdk(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    result = start_broker(tmp_path, empty)
    assert_one_line_error(result, "java not found on PATH: install a JDK 17 "
                                  "(Debian: apt-get install openjdk-17-jdk-headless)")
    # and nothing is left behind that a later start would take for a running cluster
    after = subprocess.run([sys.executable, "-m", "irislab.broker", "status", "--home",
                            str(tmp_path / "home")], cwd=ROOT, capture_output=True, text=True,
                           timeout=60)
    assert after.returncode == 3  # stopped


def test_without_maven_and_no_jars_start_says_to_install_maven(tmp_path):
    # a copy of the package whose jars have never been fetched
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "irislab", tree / "irislab", symlinks=True,
                    ignore=shutil.ignore_patterns("jars", "__pycache__"))
    assert not (tree / "irislab" / "broker" / "jars").exists()
    # a `java` on the PATH (never run: the jars are needed first), and no `mvn`
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "java").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "java").chmod(0o755)
    result = start_broker(tmp_path, bin_dir, cwd=tree)
    assert_one_line_error(result, "mvn not found on PATH: install Maven to fetch the Kafka "
                                  "jars once (Debian: apt-get install maven)")
    assert not (tree / "irislab" / "broker" / "jars" / "zookeeper" / ".complete").exists()


def test_without_maven_fetch_says_to_install_it(tmp_path):
    """`make jars` runs `python -m irislab.broker fetch`: the same one line."""
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "irislab", tree / "irislab", symlinks=True,
                    ignore=shutil.ignore_patterns("jars", "__pycache__"))
    empty = tmp_path / "bin"
    empty.mkdir()
    result = subprocess.run([sys.executable, "-m", "irislab.broker", "fetch"], cwd=tree,
                            env={**os.environ, "PATH": str(empty)}, capture_output=True,
                            text=True, timeout=60)
    assert_one_line_error(result, "mvn not found on PATH: install Maven to fetch the Kafka "
                                  "jars once (Debian: apt-get install maven)")
