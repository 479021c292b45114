"""The test suite's own rules: what tests share lives in tests/lab.py (and fixtures in
conftest.py), so no test module imports another, nor conftest; and the helpers there that
order a test's steps do what they say."""

import ast
import signal
from pathlib import Path

import pytest

from tests.lab import scripts_running, start_python, stop_scripts

pytestmark = pytest.mark.unit

TESTS = Path(__file__).resolve().parent


def imported_modules(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            yield module
            if module in ("", "tests"):  # from tests import test_x
                yield from (f"{module}.{alias.name}".lstrip(".") for alias in node.names)


@pytest.mark.parametrize("path", sorted(TESTS.glob("*.py")), ids=lambda p: p.name)
def test_no_test_module_imports_another_or_conftest(path):
    others = [name for name in imported_modules(path)
              if name.rpartition(".")[2].startswith("test_") or name.endswith("conftest")]
    assert others == []


# --- the helpers the integration tests rely on to order their steps

def test_wait_for_line_returns_the_nth_matching_line_as_soon_as_it_is_printed():
    script = start_python("-c", "import time\nfor i in range(5): print(f'sent {i}', flush=True)\n"
                                "time.sleep(60)")
    assert script.wait_for_line(r"^sent ", count=3, timeout=30) == "sent 2"
    assert script.poll() is None  # it did not wait for the end


def test_wait_for_line_fails_at_once_with_the_output_when_the_script_ends_without_it():
    script = start_python("-c", "import sys; print('read 0 records'); sys.exit('no broker')")
    with pytest.raises(AssertionError) as failed:
        script.wait_for_line(r"^topic=", timeout=60)
    assert "exited 1 with 0 of 1 line(s) matching '^topic='" in str(failed.value)
    assert "read 0 records" in str(failed.value) and "no broker" in str(failed.value)


def test_wait_for_line_fails_after_its_timeout():
    script = start_python("-c", "import time; print('waiting', flush=True); time.sleep(60)")
    with pytest.raises(AssertionError, match=r"0.5 s passed with 0 of 2 line"):
        script.wait_for_line(r"^sent ", count=2, timeout=0.5)


def test_scripts_started_during_a_test_are_killed_and_reaped_at_its_end():
    before = scripts_running()
    script = start_python("-c", "import time; time.sleep(60)")
    stop_scripts(keep=before)
    assert script.returncode == -signal.SIGKILL
    assert scripts_running() == before
