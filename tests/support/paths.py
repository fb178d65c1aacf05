"""Where the repository's files are, for tests (the code itself reads bundled files through `cx_worker.bundled`)."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
