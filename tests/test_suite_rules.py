"""The test suite's own rules: what tests share lives in tests/lab.py (and fixtures in
conftest.py), so no test module imports another, nor conftest."""

import ast
from pathlib import Path

import pytest

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
