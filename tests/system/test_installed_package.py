"""cx-worker installed from its wheel (not editable) runs from any directory: every bundled file it reads by default
is inside the installed package, and its prompt hash is the checkout's (the same bytes shipped)."""

import json
import os
import subprocess
import sys
import zipfile

from cx_worker.drafting.after_call_work import load_dispositions, prompt_hash
from cx_worker.settings import Settings
from tests.support.paths import PROJECT_ROOT

_PROBE = """
import json, sys
from pathlib import Path
import cx_worker
from cx_worker.drafting.after_call_work import load_dispositions, prompt_hash
from cx_worker.governance.evaluate import load_suite
from cx_worker.llm.prompts import templates
from cx_worker.settings import Settings
s = Settings()
paths = [s.source, s.dispositions, s.thresholds, s.exemplars, s.labelled, s.reference_summaries, s.disposition_map]
print(json.dumps({"package": cx_worker.__file__, "paths": [str(p) for p in paths],
                  "exist": all(Path(p).exists() for p in paths), "prompts": templates(),
                  "suite_metrics": len(load_suite(s.thresholds).metrics),
                  "hash": prompt_hash(load_dispositions(s.dispositions))}))
"""


def test_the_wheel_ships_what_a_run_reads_and_runs_outside_the_checkout(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist),
                    str(PROJECT_ROOT)], check=True, capture_output=True)
    (wheel,) = dist.glob("cx_worker-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in ("cx_worker/bundled/prompts/after_call_work.j2", "cx_worker/bundled/suites/nightly.yaml",
                    "cx_worker/bundled/config/dispositions.yaml", "cx_worker/bundled/datasets/exemplars.jsonl",
                    "cx_worker/bundled/contacts/sample.jsonl", "cx_worker/delivery/templates/crm_note.txt.j2",
                    "cx_worker/governance/templates/report.html.j2", "flows/nightly.py"):
        assert shipped in names, shipped
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CX_")} | {"PYTHONPATH": str(target)}
    # -I: no current directory or user site on the path, so nothing can come from the checkout
    probe = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r})\n" + _PROBE],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True)
    found = json.loads(probe.stdout)
    assert found["package"].startswith(str(target)) and found["exist"]
    assert all(p.startswith(str(target)) for p in found["paths"]), found["paths"]
    assert found["prompts"] == ["after_call_work.j2", "judge_faithfulness.j2"] and found["suite_metrics"] > 5
    assert found["hash"] == prompt_hash(load_dispositions(Settings().dispositions))
