"""The scheduled workflow .github/workflows/pypi-check.yml and its issue script.

The script is run for real with a stand-in `gh` on PATH that records its arguments; the workflow
is checked with zizmor (offline) when zizmor is installed, and for the safety rules by reading it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

WORKFLOW = REPO / ".github/workflows/pypi-check.yml"
SCRIPT = REPO / ".github/scripts/pypi-check-issue.sh"
TITLE = "PyPI check: PyPI has versions that pip would install instead of this index's"

FAKE_GH = """#!{python}
import json, os, sys
with open(os.environ["GH_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
if sys.argv[1:3] == ["issue", "list"]:
    sys.stdout.write(os.environ.get("GH_LIST", "[]"))
if sys.argv[1:3] == ["issue", "edit"] or sys.argv[1:3] == ["issue", "create"]:
    body = sys.argv[sys.argv.index("--body-file") + 1]
    with open(os.environ["GH_LOG"] + ".body", "w") as out:
        out.write(open(body).read())
"""


def run_script(tmp_path: Path, listing):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    gh = bin_dir / "gh"
    gh.write_text(FAKE_GH.format(python=sys.executable))
    gh.chmod(0o755)
    report = tmp_path / "report.md"
    report.write_text("| project | this index | PyPI highest | status | note |\n|---|---|---|---|---|\n| private-hello | 0.4.5 | 9.9.9 | **higher** | x |\n")
    log = tmp_path / "gh.log"
    if log.exists():
        log.unlink()
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", GH_LOG=str(log),
               GH_LIST=json.dumps(listing), REPORT=str(report), RUN_URL="https://github.example/run/1")
    proc = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    return proc, calls, Path(str(log) + ".body").read_text()


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_script_opens_one_issue(tmp_path):
    proc, calls, body = run_script(tmp_path, [{"number": 3, "title": TITLE + " (old)"}])
    assert [c[:2] for c in calls] == [["issue", "list"], ["issue", "create"]]
    assert calls[1][calls[1].index("--title") + 1] == TITLE
    assert "| private-hello | 0.4.5 | 9.9.9 | **higher** | x |" in body
    assert "https://github.example/run/1" in body


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_script_updates_the_open_issue(tmp_path):
    proc, calls, body = run_script(tmp_path, [{"number": 3, "title": "other"}, {"number": 7, "title": TITLE}])
    assert calls[1][:3] == ["issue", "edit", "7"] and calls[2][:3] == ["issue", "comment", "7"]
    assert not any(c[:2] == ["issue", "create"] for c in calls)
    assert "updated issue #7" in proc.stdout and "9.9.9" in body


def test_workflow_safety_rules():
    text = WORKFLOW.read_text()
    assert re.search(r"^permissions: \{\}$", text, re.M)
    assert re.search(r"^  schedule:\n    - cron: ", text, re.M)
    assert re.search(r"^concurrency:\n  group: ", text, re.M)
    uses = re.findall(r"uses: (\S+)(.*)", text)
    assert uses
    for action, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), action
        assert re.match(r"\s+# v\d", comment), action
    # no ${{ }} inside run: scripts (values come in through env:)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)(- )?run: ?(.*)$", line)
        if not m:
            continue
        assert "${{" not in m.group(3)
        indent = len(m.group(1)) + (2 if m.group(2) else 0)
        for following in lines[i + 1:]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            assert "${{" not in following, following
    # every job states its own permissions; only the job that files the issue may write issues
    jobs = re.findall(r"^  (\w+):\n", text.split("\njobs:\n", 1)[1], re.M)
    assert len(jobs) == text.count("\n    permissions:\n") == 2
    assert text.count(": write") == 1 and "issues: write" in text.split("\n  report:\n", 1)[1]


@pytest.mark.skipif(shutil.which("zizmor", path=str(Path(sys.executable).parent)) is None and shutil.which("zizmor") is None, reason="zizmor is not installed")
def test_zizmor_finds_nothing():
    zizmor = shutil.which("zizmor", path=str(Path(sys.executable).parent)) or shutil.which("zizmor")
    proc = subprocess.run([zizmor, "--offline", "--persona=pedantic", str(WORKFLOW)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings" in proc.stdout
