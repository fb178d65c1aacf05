"""Every capability package imports on its own, first, in a fresh interpreter: an import cycle hidden by the order
the test suite happens to import things in (one package's `__init__` reaching back into another half-loaded one)
fails here."""

import subprocess
import sys
from pathlib import Path

import pytest

import cx_worker

PACKAGES = sorted(p.name for p in Path(cx_worker.__file__).parent.iterdir() if (p / "__init__.py").exists())


@pytest.mark.parametrize("package", PACKAGES)
def test_the_package_imports_first_in_a_fresh_interpreter(package):
    result = subprocess.run([sys.executable, "-c", f"import cx_worker.{package}"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
