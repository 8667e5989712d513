"""The GitHub Actions workflows: their shape, their safety, and their `run:` scripts executed.

Workflows cannot run here, so this tests what can be: every workflow file (the bundled ones, this
repository's copies, and any other file in those folders) parses, has the triggers, inputs, jobs,
permissions, concurrency and pinned actions it should, and passes `zizmor --offline`. Each `run:`
script is executed with bash as GitHub's `shell: bash` runs it (`bash --noprofile --norc -eo
pipefail`), in a workspace made by `pagesindex init` and committed with git, with the environment
a runner gives (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, RUNNER_TEMP, GITHUB_RUN_ID, ...) and the step's
`env:` evaluated from the inputs. Hostile inputs must run nothing and change nothing.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from conftest import REPO, run_cli, state_snapshot
from factory import make_wheel

from pagesindex.workflows import DEFAULT_REQUIREMENT, HERE as BUNDLED, RELEASE_SNIPPET, bundled_workflows

yaml = pytest.importorskip("yaml")

REPO_WORKFLOWS = REPO / ".github" / "workflows"
ALL_NAMES = sorted({p.name for p in BUNDLED.glob("*.y*ml")} | {p.name for p in REPO_WORKFLOWS.glob("*.y*ml")})
ALL_FILES = [BUNDLED / n for n in ALL_NAMES if (BUNDLED / n).exists()] + [
    REPO_WORKFLOWS / n for n in ALL_NAMES if (REPO_WORKFLOWS / n).exists()
] + [RELEASE_SNIPPET]
CHANGE_WORKFLOWS = {
    "register.yml": ["package_name", "version", "author", "short_desc", "homepage"],
    "update.yml": ["package_name", "version"],
    "delete.yml": ["package_name", "version"],
    "yank.yml": ["package_name", "version", "reason"],
    "status.yml": ["package_name", "status", "reason"],
}
PIN = re.compile(r"^\s*(?:-\s+)?uses:\s+([A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+\s*$")
ALLOWED_PERMISSIONS = {
    "contents": {"read", "write"},
    "pull-requests": {"read", "write"},
    "pages": {"write"},
    "id-token": {"write"},
    "actions": {"read"},
    "issues": {"write"},
}


def load(path: Path) -> Dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path}: not a mapping"
    if True in data:  # YAML 1.1 reads the key `on` as true
        data["on"] = data.pop(True)
    return data


def steps_of(wf: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [step for job in wf["jobs"].values() for step in job.get("steps", [])]


def ids(paths: List[Path]) -> List[str]:
    return [p.relative_to(REPO).as_posix() if REPO in p.parents else p.name for p in paths]


# -- one source of truth -------------------------------------------------------------------


def test_repository_copies_are_identical_to_the_bundled_workflows():
    bundled = bundled_workflows()
    assert set(bundled) >= {"register.yml", "update.yml", "delete.yml", "yank.yml", "deploy.yml", "ci.yml"}
    ours = {p.name: p.read_bytes() for p in REPO_WORKFLOWS.glob("*.y*ml")}
    assert set(ours) == set(bundled), "re-sync with: pagesindex --index . workflows (and put new workflows in src/pagesindex/workflows/)"
    for name, data in bundled.items():
        assert ours[name] == data, f".github/workflows/{name} differs from src/pagesindex/workflows/{name}: run 'pagesindex --index . workflows'"
    run_cli("workflows", "--check", index=REPO)


def test_init_writes_the_workflows_and_workflows_check_keeps_them(tmp_path):
    out = run_cli("init", str(tmp_path / "idx"), "--title", "Lab index", "--url", "https://lab.github.io/idx/")
    root = tmp_path / "idx"
    for name, data in bundled_workflows().items():
        assert (root / ".github" / "workflows" / name).read_bytes() == data
        assert f".github/workflows/{name}" in out.stdout
    assert (root / ".github" / "workflows" / "deploy.yml").stat().st_mode & 0o777 == 0o644
    req = (root / ".github" / "pagesindex-requirements.txt").read_text()
    assert DEFAULT_REQUIREMENT in req and "pypi" not in DEFAULT_REQUIREMENT.lower()
    assert "/_site/" in (root / ".gitignore").read_text()
    run_cli("workflows", "--check", index=root)

    # A maintainer's own workflow is left alone; a changed bundled one is reported, then restored.
    (root / ".github" / "workflows" / "mine.yml").write_text("name: mine\n")
    (root / ".github" / "workflows" / "yank.yml").write_text("name: tampered\n")
    (root / ".github" / "pagesindex-requirements.txt").write_text("pagesindex @ git+https://example.org/p@abc\n")
    proc = run_cli("workflows", "--check", index=root, check=False)
    assert proc.returncode == 1
    assert ".github/workflows/yank.yml" in proc.stderr and "mine.yml" not in proc.stderr
    out = run_cli("workflows", index=root)
    assert "wrote .github/workflows/yank.yml" in out.stdout and "1 file written" in out.stdout
    assert (root / ".github" / "workflows" / "yank.yml").read_bytes() == bundled_workflows()["yank.yml"]
    assert (root / ".github" / "workflows" / "mine.yml").read_text() == "name: mine\n"
    assert "example.org" in (root / ".github" / "pagesindex-requirements.txt").read_text()
    assert run_cli("workflows", index=root).stdout.strip().endswith("0 files written")


def test_init_without_workflows(tmp_path):
    run_cli("init", str(tmp_path / "idx"), "--no-workflows")
    assert not (tmp_path / "idx" / ".github").exists()
    proc = run_cli("workflows", "--check", index=tmp_path / "idx", check=False)
    assert proc.returncode == 1 and "deploy.yml" in proc.stderr


def test_workflows_outside_an_index_is_a_clear_error(tmp_path):
    proc = run_cli("workflows", index=tmp_path, check=False)
    assert proc.returncode == 1 and proc.stderr.startswith("error: not an index")


# -- shape and safety of every workflow file ------------------------------------------------


@pytest.mark.parametrize("path", ALL_FILES, ids=ids(ALL_FILES))
def test_workflow_is_safe(path):
    text = path.read_text(encoding="utf-8")
    wf = load(path)
    assert wf.get("name"), "a workflow has a name"
    assert wf.get("permissions") == {}, "permissions: {} at the top; each job asks for what it needs"
    assert isinstance(wf.get("concurrency"), dict) and wf["concurrency"].get("group"), "a concurrency group"
    assert "pull_request_target" not in wf["on"] and "workflow_run" not in wf["on"]
    for name, job in wf["jobs"].items():
        perms = job.get("permissions")
        assert isinstance(perms, dict), f"job {name} states its permissions"
        for scope, level in perms.items():
            assert level in ALLOWED_PERMISSIONS.get(scope, set()), f"job {name}: {scope}: {level} is not needed"
        for step in job.get("steps", []):
            if "run" in step:
                assert "${{" not in step["run"], f"job {name}: an expression inside run: ({step.get('name')})"
            if "uses" in step:
                assert "@" in step["uses"]
                if step["uses"].startswith("actions/checkout@"):
                    assert step.get("with", {}).get("persist-credentials") is False
    uses_lines = [line for line in text.splitlines() if re.match(r"^\s*(-\s+)?uses:", line)]
    for line in uses_lines:
        assert PIN.match(line), f"not pinned to a full commit SHA with its version in a comment: {line.strip()}"
    assert "secrets: inherit" not in text and "toJSON(secrets)" not in text


def test_the_same_action_is_pinned_to_the_same_commit_everywhere():
    seen: Dict[str, set] = {}
    for path in ALL_FILES:
        for line in path.read_text().splitlines():
            m = PIN.match(line)
            if m:
                seen.setdefault(m.group(1), set()).add(line.split("@", 1)[1].strip())
    assert {"actions/checkout", "actions/setup-python", "peter-evans/create-pull-request", "actions/upload-pages-artifact", "actions/deploy-pages",
            "actions/upload-artifact", "actions/download-artifact"} <= set(seen)
    for action, pins in seen.items():
        assert len(pins) == 1, f"{action} pinned differently: {pins}"


@pytest.mark.parametrize("name", sorted(CHANGE_WORKFLOWS))
def test_change_workflow_shape(name):
    wf = load(BUNDLED / name)
    action = name[:-4]
    inputs = wf["on"]["workflow_dispatch"]["inputs"]
    for key in CHANGE_WORKFLOWS[name]:
        assert inputs[key]["type"] == "string"
    assert inputs["package_name"]["required"] is True
    if action == "delete":
        assert inputs["version"]["required"] is False
    elif action == "status":
        assert "version" not in inputs and inputs["status"]["required"] is True
    else:
        assert inputs["version"]["required"] is True
    assert set(wf["on"]) == {"workflow_dispatch"}
    assert "inputs.package_name" in wf["concurrency"]["group"] and wf["concurrency"]["cancel-in-progress"] is False
    if action in ("register", "update"):
        # issue 13 item 1: the package's build code runs in a job of its own, without token or permissions
        assert list(wf["jobs"]) == ["source", "build", action]
        source, build = wf["jobs"]["source"], wf["jobs"]["build"]
        assert source["permissions"] == {"contents": "read"}
        assert build["permissions"] == {} and build["needs"] == "source"
        assert "secrets." not in json.dumps(build) and "github.token" not in json.dumps(build)
        script = next(s["run"] for s in build["steps"] if s.get("id") == "build")
        assert "pagesindex build-source" in script
        # the build's output obeys no workflow command (::error:: would forge annotations)
        assert script.index('echo "::stop-commands::$resume"') < script.index("pagesindex build-source") < script.index('echo "::$resume::"')
        assert "pagesindex source-tree" in next(s["run"] for s in source["steps"] if s.get("id") == "source")
        assert wf["jobs"][action]["needs"] == ["source", "build"]
    else:
        assert list(wf["jobs"]) == [action]
    job = wf["jobs"][action]
    assert "strategy" not in job, "the command runs once, not once per Python version"
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    runs = [s for s in job["steps"] if "run" in s]
    command = [s for s in runs if f"pagesindex {action} " in s["run"]]
    assert len(command) == 1 and command[0]["id"] == "change"
    script = command[0]["run"]
    assert script.count(f"pagesindex {action} ") == 1
    assert "pagesindex pr-describe" in script and "pagesindex verify" in script
    assert ' -- "$PACKAGE_NAME"' in script, "values after -- so none is read as an option"
    for key in CHANGE_WORKFLOWS[name]:
        assert f"${{{{ inputs.{key} }}}}" in command[0]["env"].values()
    pr = [s for s in job["steps"] if s.get("uses", "").startswith("peter-evans/create-pull-request@")]
    assert len(pr) == 1
    with_ = pr[0]["with"]
    assert with_["branch"] == "${{ steps.change.outputs.branch }}"
    assert with_["title"] == "${{ steps.change.outputs.title }}"
    assert with_["body-path"] == "${{ steps.change.outputs.body-path }}"
    # metadata/: the wheels' core metadata, committed with an object store (the files are in the store)
    assert set(with_["add-paths"].split()) == {"projects/", "packages/", "provenance/", "metadata/"}
    assert "pagesindex verify --staged" in script, "with an object store the change's files are staged, not public yet"
    keys = {"register": "STAGING", "update": "STAGING"}.get(action, "READ")
    assert command[0]["env"]["AWS_ACCESS_KEY_ID"] == f"${{{{ secrets.PAGESINDEX_S3_{keys}_ACCESS_KEY_ID }}}}"
    assert command[0]["env"]["AWS_SECRET_ACCESS_KEY"] == f"${{{{ secrets.PAGESINDEX_S3_{keys}_SECRET_ACCESS_KEY }}}}"
    # github-release: the job's own token (it has contents: write) stages and lists the staging draft
    assert command[0]["env"]["PAGESINDEX_RELEASES_TOKEN"] == "${{ secrets.PAGESINDEX_RELEASES_TOKEN || github.token }}"
    assert pr[0]["if"] == "steps.change.outputs.changed == 'true'"
    assert job["steps"][0]["uses"].startswith("actions/checkout@"), "every run starts from the committed state"


def test_deploy_workflow_shape():
    wf = load(BUNDLED / "deploy.yml")
    assert wf["on"]["push"]["branches"] == ["main"]
    assert wf["concurrency"]["cancel-in-progress"] is False
    assert list(wf["jobs"]) == ["store", "publish-releases", "build", "deploy"]
    store, releases, build, deploy = (wf["jobs"][j] for j in ("store", "publish-releases", "build", "deploy"))
    # Only github-release needs a write token, in a job of its own; git and s3 indexes never get one.
    assert store["permissions"] == {"contents": "read"}
    # actions: read to find the last deploy run and download its artifacts (the carry-over)
    assert build["permissions"] == {"contents": "read", "actions": "read"}
    assert releases["permissions"] == {"contents": "write"} and releases["if"] == "needs.store.outputs.kind == 'github-release'"
    assert build["needs"] == ["store", "publish-releases"] and "needs.publish-releases.result != 'failure'" in build["if"]
    assert next(s for s in build["steps"] if s.get("id") == "publish")["if"] == "needs.store.outputs.kind == 's3'"
    assert releases["steps"][0]["with"]["fetch-depth"] == 0
    assert next(s["run"] for s in releases["steps"] if s.get("id") == "publish").strip() == "pagesindex publish"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    assert "needs.build.result == 'success'" in deploy["if"]
    script = next(s["run"] for s in build["steps"] if s.get("id") == "site")
    assert script.index("pagesindex build") < script.index("pagesindex verify --require-projects")
    # the carry-over: incremental from the last deploy's artifacts, else (any failure) the full path
    assert script.index("pagesindex build --previous-state") < script.index("pagesindex verify --require-projects --previous-state")
    assert script.rstrip().endswith('pagesindex build\n  pagesindex verify --require-projects --save-state "$state"\nfi')
    downloads = [s for s in build["steps"] if s.get("uses", "").startswith("actions/download-artifact@")]
    assert [d["with"]["name"] for d in downloads] == ["github-pages", "pagesindex-build-state"]
    for d in downloads:
        assert d["continue-on-error"] is True and d["if"] == "steps.previous.outputs.run-id != ''"
        assert d["with"]["run-id"] == "${{ steps.previous.outputs.run-id }}"
    assert next(s for s in build["steps"] if s.get("id") == "previous")["continue-on-error"] is True
    keep = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert keep["with"]["name"] == "pagesindex-build-state" and keep["with"]["path"].endswith("/pagesindex-build-state")
    ids = [s.get("id") for s in build["steps"]]
    assert ids.index("publish") < ids.index("site"), "staged files are public before the site links them"
    assert build["steps"][0]["with"]["fetch-depth"] == 0, "publish proves each removal from the checkout's history"
    upload = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "_site"
    assert upload["with"]["retention-days"] == keep["with"]["retention-days"] == 7, "the next deploy finds both"
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in deploy["steps"])


def test_cleanup_workflow_shape():
    wf = load(BUNDLED / "cleanup.yml")
    assert wf["on"]["pull_request"] == {"types": ["closed"]} and "schedule" in wf["on"]
    store, job, releases = (wf["jobs"][j] for j in ("store", "cleanup", "cleanup-releases"))
    assert "!github.event.pull_request.merged" in store["if"] and "head.repo.full_name == github.repository" in store["if"]
    assert store["permissions"] == {"contents": "read"}
    # git: nothing staged, no cleanup job runs; s3: read-only GitHub token; github-release: contents: write
    assert job["needs"] == releases["needs"] == "store"
    assert job["if"] == "needs.store.outputs.kind == 's3'" and releases["if"] == "needs.store.outputs.kind == 'github-release'"
    assert job["permissions"] == {"contents": "read", "pull-requests": "read"}
    assert releases["permissions"] == {"contents": "write", "pull-requests": "read"}
    for j in (store, job, releases):
        checkout = j["steps"][0]
        assert checkout["uses"].startswith("actions/checkout@")
        assert checkout["with"]["ref"] == "${{ github.event.repository.default_branch }}", "never the pull request's code"
    for j in (job, releases):
        step = next(s for s in j["steps"] if s.get("id") == "cleanup")
        assert step["run"].strip() == 'pagesindex storage cleanup --keep-open-pull-requests --older-than "$MIN_AGE_HOURS"'
    assert next(s for s in job["steps"] if s.get("id") == "cleanup")["env"]["AWS_ACCESS_KEY_ID"] == "${{ secrets.PAGESINDEX_S3_ACCESS_KEY_ID }}"
    step = next(s for s in releases["steps"] if s.get("id") == "cleanup")
    assert "AWS_ACCESS_KEY_ID" not in step["env"]
    assert step["env"]["PAGESINDEX_RELEASES_TOKEN"] == "${{ secrets.PAGESINDEX_RELEASES_TOKEN || github.token }}"


def test_ci_workflow_shape():
    wf = load(BUNDLED / "ci.yml")
    assert "pull_request" in wf["on"]
    tests, verify = wf["jobs"]["tests"], wf["jobs"]["verify"]
    assert tests["strategy"]["matrix"]["python"] == ["3.9", "3.10", "3.11", "3.12", "3.13"]
    assert tests["permissions"] == verify["permissions"] == {"contents": "read"}
    setup = next(s for s in tests["steps"] if s.get("uses", "").startswith("actions/setup-python@"))
    assert setup["with"]["python-version"] == "${{ matrix.python }}"
    assert "python -m pytest" in next(s["run"] for s in tests["steps"] if s.get("id") == "tests")
    # no secret and a read-only token there: an object store's staged files cannot be seen, so it is not asked
    assert "pagesindex verify --no-store" in next(s["run"] for s in verify["steps"] if s.get("id") == "verify")


def _zizmor() -> str:
    exe = shutil.which("zizmor", path=str(Path(sys.executable).parent)) or shutil.which("zizmor")
    if exe is None:
        pytest.skip("zizmor is not installed (pip install zizmor)")
    return exe


def test_zizmor_reports_nothing_on_any_workflow():
    exe = _zizmor()
    files = [str(p) for p in ALL_FILES]
    proc = subprocess.run([exe, "--offline", "--no-progress", *files], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout + proc.stderr


def test_zizmor_would_catch_an_expression_in_a_run_script(tmp_path):
    """The zizmor test above can fail: the same check flags the unsafe form."""
    exe = _zizmor()
    text = (BUNDLED / "yank.yml").read_text().replace('--reason "$REASON"', '--reason "${{ inputs.reason }}"')
    bad = tmp_path / "bad.yml"
    bad.write_text(text)
    proc = subprocess.run([exe, "--offline", "--no-progress", str(bad)], capture_output=True, text=True)
    assert proc.returncode != 0 and "template-injection" in proc.stdout + proc.stderr


# -- executing the run: scripts ---------------------------------------------------------------

_EXPR = re.compile(r"^\$\{\{\s*(.+?)\s*\}\}$")


def evaluate(value: Any, context: Dict[str, Any]) -> str:
    """The value GitHub puts in a step's env: for the simple expressions these workflows use."""
    if isinstance(value, bool):
        return "true" if value else "false"
    value = str(value)
    m = _EXPR.match(value)
    if m and "}}" in m.group(1):  # text with several expressions: each in turn
        return re.sub(r"\$\{\{\s*(.+?)\s*\}\}", lambda e: evaluate(e.group(0), context), value)
    if not m:
        assert "${{" not in value, f"unsupported expression in {value!r}"
        return value
    result: Any = ""
    for term in m.group(1).split("||"):
        term = term.strip()
        if len(term) >= 2 and term[0] == term[-1] == "'":
            result = term[1:-1]
        else:
            assert re.fullmatch(r"[a-z_]+(\.[A-Za-z0-9_-]+)+", term), f"unsupported expression {term!r}"
            result = context
            for part in term.split("."):
                result = result.get(part, "") if isinstance(result, dict) else ""
        if result not in ("", None, False):
            break
    if isinstance(result, bool):
        return "true" if result else "false"
    return "" if result is None else str(result)


class Runner:
    """Runs one step's `run:` script as a GitHub-hosted runner would (shell: bash)."""

    def __init__(self, tmp: Path, workspace: Path, env: Optional[Dict[str, str]] = None):
        self.tmp = tmp
        self.workspace = workspace
        self.extra_env = env or {}
        self.count = 0

    def run(
        self,
        workflow: Path,
        job: str,
        step_id: str,
        inputs: Dict[str, Any],
        *,
        secrets: Optional[Dict[str, str]] = None,
        variables: Optional[Dict[str, str]] = None,
        event: Optional[Dict[str, Any]] = None,
        needs: Optional[Dict[str, Any]] = None,
        artifacts: Optional[Dict[str, Path]] = None,
    ) -> subprocess.CompletedProcess:
        """Run the step ``step_id`` (an ``id:``, or ``#N`` for the job's N-th step).

        ``artifacts`` maps a folder under RUNNER_TEMP to a folder whose files are copied there
        first (what actions/download-artifact does); ``needs`` is the ``needs`` context.
        """
        wf = load(workflow)
        steps = wf["jobs"][job]["steps"]
        step = steps[int(step_id[1:])] if step_id.startswith("#") else next(s for s in steps if s.get("id") == step_id)
        declared = wf["on"].get("workflow_dispatch", {}) or {}
        full_inputs = {k: v.get("default", "") for k, v in (declared.get("inputs") or {}).items()}
        full_inputs.update(inputs)
        context = {
            "inputs": full_inputs,
            "secrets": secrets or {},
            "vars": variables or {},
            "github": {"token": "ghs_workflowtoken", "event": event or {}, "server_url": "https://github.com",
                       "repository": "lab/index", "run_id": "7001"},
            "needs": needs or {},
        }
        self.count += 1
        temp = self.tmp / f"runner-temp-{self.count}"
        temp.mkdir()
        home = self.tmp / "home"
        home.mkdir(exist_ok=True)
        env = {
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_OUTPUT": str(temp / "output"),
            "GITHUB_STEP_SUMMARY": str(temp / "summary"),
            "GITHUB_ENV": str(temp / "env"),
            "RUNNER_TEMP": str(temp),
            "GITHUB_RUN_ID": "7001",
            "GITHUB_REPOSITORY": "lab/index",
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_API_URL": "http://127.0.0.1:9",  # nothing listens: no test reaches the internet
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        }
        for key in ("SYSTEMROOT", "TMPDIR"):
            if key in os.environ:
                env[key] = os.environ[key]
        env.update(self.extra_env)
        for key, value in (step.get("env") or {}).items():
            env[key] = evaluate(value, context)
        for name in ("output", "summary", "env"):
            (temp / name).write_text("")
        for rel, folder in (artifacts or {}).items():
            shutil.copytree(folder, temp / rel)
        script = temp / "step.sh"
        script.write_text(step["run"])
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
        )
        proc.outputs = dict(  # type: ignore[attr-defined]
            line.split("=", 1) for line in (temp / "output").read_text().splitlines() if "=" in line
        )
        proc.summary = (temp / "summary").read_text()  # type: ignore[attr-defined]
        proc.step = step  # type: ignore[attr-defined]
        proc.temp = temp  # type: ignore[attr-defined]
        return proc


def git(root: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org")
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True, env=env).stdout


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A checkout as actions/checkout leaves it: an index made by `pagesindex init`, committed."""
    root = tmp_path / "workspace"
    run_cli("init", str(root), "--title", "Lab index", "--url", "https://lab.github.io/index/")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    return root


@pytest.fixture
def runner(tmp_path: Path, workspace: Path) -> Runner:
    return Runner(tmp_path, workspace)


def add_and_commit(root: Path, tmp: Path, name: str, version: str, **kwargs) -> Path:
    w = make_wheel(tmp / f"dist-{name}-{version}", name, version, **kwargs)
    run_cli("add", str(w), index=root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", f"add {name} {version}")
    return w


def assert_untouched(proc, workspace: Path, before: Dict[str, bytes], marker: Path) -> None:
    assert proc.returncode != 0, proc.stdout
    assert not marker.exists(), "a hostile input was executed"
    assert state_snapshot(workspace) == before
    assert proc.outputs == {}, "no pull request is opened"


def workflow_path(workspace: Path, name: str) -> Path:
    """The copy that `pagesindex init` wrote (identical to the bundled one, tested above)."""
    return workspace / ".github" / "workflows" / name


def test_install_step_installs_from_the_requirements_file(runner, workspace, tmp_path):
    fake = tmp_path / "fakebin"
    fake.mkdir()
    (fake / "python").write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$RUNNER_TEMP/args"\n')
    (fake / "python").chmod(0o755)
    runner.extra_env["PATH"] = f"{fake}{os.pathsep}{os.environ['PATH']}"
    for name, job in (("register.yml", "register"), ("deploy.yml", "build"), ("ci.yml", "verify")):
        proc = runner.run(workflow_path(workspace, name), job, "install", {})
        assert proc.returncode == 0, proc.stderr
        args = (tmp_path / f"runner-temp-{runner.count}" / "args").read_text().split()
        assert args[:3] == ["-m", "pip", "install"] and args[-2:] == ["-r", ".github/pagesindex-requirements.txt"]


def test_yank_workflow_yanks_and_describes_the_pull_request(runner, workspace, tmp_path):
    w = add_and_commit(workspace, tmp_path, "kavli-hello", "1.0")
    proc = runner.run(workflow_path(workspace, "yank.yml"), "yank", "change", {"package_name": "Kavli_Hello", "version": "v1.0", "reason": "broken `import` on 3.9"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    record = json.loads((workspace / "projects" / "kavli-hello.json").read_text())
    assert record["releases"]["1.0"]["yanked"] is True
    assert record["releases"]["1.0"]["yanked-reason"] == "broken `import` on 3.9"
    out = proc.outputs
    assert out["changed"] == "true"
    assert out["branch"] == "pagesindex/yank-kavli-hello-run-7001"
    assert out["title"] == "yank kavli-hello 1.0"
    body = Path(out["body-path"]).read_text()
    assert "**yanked**" in body and "broken \\`import\\` on 3\\.9" in body
    assert "https://github.com/lab/index/actions/runs/7001" in body
    assert body in proc.summary
    assert w.name not in body, "an unchanged file is not listed"
    # Only projects/ changed: what create-pull-request commits (add-paths: projects/, packages/).
    assert git(workspace, "status", "--porcelain").split() == ["M", "projects/kavli-hello.json"]


def test_status_workflow_sets_the_status_and_describes_the_pull_request(runner, workspace, tmp_path):
    add_and_commit(workspace, tmp_path, "kavli-hello", "1.0")
    proc = runner.run(workflow_path(workspace, "status.yml"), "status", "change",
                      {"package_name": "Kavli_Hello", "status": "quarantined", "reason": "malware `reported` <here>"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    record = json.loads((workspace / "projects" / "kavli-hello.json").read_text())
    assert record["extra"]["status"] == {"status": "quarantined", "reason": "malware `reported` <here>"}
    out = proc.outputs
    assert out["changed"] == "true" and out["title"] == "status kavli-hello"
    body = Path(out["body-path"]).read_text()
    assert "**project status: `quarantined` (reason: malware \\`reported\\` \\<here\\>)** (was `active`)" in body
    assert "none of its files" in body
    assert git(workspace, "status", "--porcelain").split() == ["M", "projects/kavli-hello.json"]
    before = state_snapshot(workspace)
    bad = runner.run(workflow_path(workspace, "status.yml"), "status", "change", {"package_name": "kavli-hello", "status": "gone"})
    assert bad.returncode != 0 and "invalid STATUS: 'gone'" in bad.stdout + bad.stderr
    assert state_snapshot(workspace) == before


def test_yank_workflow_for_a_missing_release_fails_clearly(runner, workspace, tmp_path):
    add_and_commit(workspace, tmp_path, "kavli-hello", "1.0")
    before = state_snapshot(workspace)
    proc = runner.run(workflow_path(workspace, "yank.yml"), "yank", "change", {"package_name": "kavli-hello", "version": "2.0"})
    assert proc.returncode == 1
    assert "error: project 'kavli-hello' has no release '2.0'" in proc.stdout + proc.stderr
    assert state_snapshot(workspace) == before and proc.outputs == {}


HOSTILE = [
    "$(touch {marker})",
    "`touch {marker}`",
    '"; touch {marker}; echo "',
    "'; touch {marker}; echo '",
    "ok\ntouch {marker}",
    "${{IFS}}touch${{IFS}}{marker}",
    "--help",
    "-rf",
]


@pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize("field", ["package_name", "version"])
def test_yank_hostile_names_and_versions_are_refused(runner, workspace, tmp_path, field, hostile):
    add_and_commit(workspace, tmp_path, "kavli-hello", "1.0")
    marker = tmp_path / "pwned"
    inputs = {"package_name": "kavli-hello", "version": "1.0", "reason": "r"}
    inputs[field] = hostile.format(marker=marker)
    before = state_snapshot(workspace)
    proc = runner.run(workflow_path(workspace, "yank.yml"), "yank", "change", inputs)
    assert_untouched(proc, workspace, before, marker)
    assert re.search(r"error: invalid (project name|version)", proc.stdout + proc.stderr), proc.stdout + proc.stderr


@pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
def test_yank_hostile_reason_runs_nothing(runner, workspace, tmp_path, hostile):
    """A reason is free text: stored verbatim (shown escaped), or refused when it spans lines."""
    add_and_commit(workspace, tmp_path, "kavli-hello", "1.0")
    marker = tmp_path / "pwned"
    reason = hostile.format(marker=marker)
    before = state_snapshot(workspace)
    proc = runner.run(workflow_path(workspace, "yank.yml"), "yank", "change", {"package_name": "kavli-hello", "version": "1.0", "reason": reason})
    assert not marker.exists()
    if "\n" in reason:
        assert_untouched(proc, workspace, before, marker)
        assert "error: invalid --reason" in proc.stdout + proc.stderr
    else:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        record = json.loads((workspace / "projects" / "kavli-hello.json").read_text())
        assert record["releases"]["1.0"]["yanked-reason"] == reason


def test_deploy_refuses_an_empty_index(runner, workspace):
    proc = runner.run(workflow_path(workspace, "deploy.yml"), "build", "site", {})
    assert proc.returncode == 1
    assert "has no project: refusing to publish an empty site (add a project with 'pagesindex add'" in proc.stderr


def test_deploy_builds_and_verifies_the_site(runner, workspace, tmp_path):
    w = add_and_commit(workspace, tmp_path, "kavli-hello", "1.0")
    proc = runner.run(workflow_path(workspace, "deploy.yml"), "build", "site", {})
    assert proc.returncode == 0, proc.stderr
    assert "ok: 1 project verified" in proc.stdout
    site = workspace / "_site"  # the path upload-pages-artifact uploads
    assert (site / "kavli-hello" / "index.html").is_file()
    assert (site / "packages" / "kavli-hello" / w.name).read_bytes() == w.read_bytes()


def test_deploy_refuses_a_corrupt_index(runner, workspace, tmp_path):
    w = add_and_commit(workspace, tmp_path, "kavli-hello", "1.0")
    (workspace / "packages" / "kavli-hello" / w.name).write_bytes(b"not the wheel")
    proc = runner.run(workflow_path(workspace, "deploy.yml"), "build", "site", {})
    assert proc.returncode == 1 and "does not match its record" in proc.stderr


def _pages_artifact(site: Path, folder: Path) -> Path:
    """What actions/upload-pages-artifact uploads (its tar command) and download-artifact gives
    back: ``folder/artifact.tar``."""
    folder.mkdir(parents=True)
    subprocess.run(["tar", "--dereference", "--hard-dereference", "--directory", str(site), "-cf",
                    str(folder / "artifact.tar"), "--exclude=.git", "--exclude=.github", "."], check=True)
    return folder


def _next_runner(tmp_path: Path, workspace: Path, runner: Runner) -> None:
    """A fresh runner for the next deploy: no _site, no user cache (no build manifest)."""
    shutil.rmtree(workspace / "_site")
    shutil.rmtree(tmp_path / "home" / ".cache", ignore_errors=True)


def test_deploy_builds_from_the_last_deploys_site_and_state(runner, workspace, tmp_path):
    """The first deploy has no earlier run: the full path, and the state saved for the next
    (not in _site). The next deploy, a release merged since, gets both artifacts back
    (emulated: the tar upload-pages-artifact makes, and the saved folder): it renders and checks
    in full only that project, and saves the state again."""
    deploy = workflow_path(workspace, "deploy.yml")
    add_and_commit(workspace, tmp_path, "kavli-hello", "1.0")
    add_and_commit(workspace, tmp_path, "kavli-other", "1.0")
    proc = runner.run(deploy, "build", "site", {})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "built 2 projects" in proc.stdout and "ok: 2 projects verified" in proc.stdout
    assert "::warning::" not in proc.stdout  # no earlier run is not a warning
    state = proc.temp / "pagesindex-build-state"
    assert sorted(p.name for p in state.iterdir()) == ["build.manifest", "verified.json"]
    assert not list((workspace / "_site").rglob("*.manifest")) and not list((workspace / "_site").rglob("verified.json"))
    site_art = _pages_artifact(workspace / "_site", tmp_path / "art-site-1")
    state_art = tmp_path / "art-state-1"
    shutil.copytree(state, state_art)

    _next_runner(tmp_path, workspace, runner)
    w = add_and_commit(workspace, tmp_path, "kavli-hello", "1.1")
    proc = runner.run(deploy, "build", "site", {}, artifacts={"pagesindex-previous-state": state_art,
                                                                "pagesindex-previous-site": site_art})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "adopted the site of the saved state (2 projects)" in proc.stdout, proc.stdout
    assert "1 rendered" in proc.stdout and "incremental: 1 of 2 projects checked in full" in proc.stdout, proc.stdout
    assert "::warning::" not in proc.stdout
    assert (workspace / "_site" / "packages" / "kavli-hello" / w.name).read_bytes() == w.read_bytes()
    assert (proc.temp / "pagesindex-build-state" / "verified.json").is_file()
    assert run_cli("verify", "--require-projects", index=workspace).returncode == 0  # the full check agrees


@pytest.mark.parametrize("spoil", ["version", "site", "no-state", "verify"])
def test_deploy_falls_back_to_the_full_path_when_the_carry_over_does_not_fit(runner, workspace, tmp_path, spoil):
    """A state of another version, a restored site that is not the saved one, a missing state
    artifact, or an incremental verify that fails: the full build and verify, and a warning (no
    warning when there is no state at all: the first deploy)."""
    deploy = workflow_path(workspace, "deploy.yml")
    add_and_commit(workspace, tmp_path, "kavli-hello", "1.0")
    add_and_commit(workspace, tmp_path, "kavli-other", "1.0")
    proc = runner.run(deploy, "build", "site", {})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    state_art = tmp_path / "art-state"
    shutil.copytree(proc.temp / "pagesindex-build-state", state_art)
    site = workspace / "_site"
    if spoil == "site":  # a page of a project that does not change: the build keeps it
        with open(site / "kavli-other" / "index.html", "ab") as fh:
            fh.write(b" ")
    site_art = _pages_artifact(site, tmp_path / "art-site")
    if spoil == "version":
        data = json.loads((state_art / "verified.json").read_text())
        data["version"] = "0.0.1"
        (state_art / "verified.json").write_text(json.dumps(data))
    _next_runner(tmp_path, workspace, runner)
    add_and_commit(workspace, tmp_path, "kavli-hello", "1.1")
    if spoil == "verify":  # a changed project's file other than its record: the full path fails too
        wheel = workspace / "packages" / "kavli-hello" / "kavli_hello-1.1-py3-none-any.whl"
        wheel.write_bytes(wheel.read_bytes() + b"x")
    artifacts = {"pagesindex-previous-site": site_art}
    if spoil != "no-state":
        artifacts["pagesindex-previous-state"] = state_art
    proc = runner.run(deploy, "build", "site", {}, artifacts=artifacts)
    if spoil == "verify":
        assert proc.returncode == 1 and "does not match its record" in proc.stderr, proc.stdout + proc.stderr
        assert "::warning::the last deploy's site and state could not be used" in proc.stdout
        assert not (proc.temp / "pagesindex-build-state").exists(), "no state saved for a site that failed"
        return
    assert proc.returncode == 0, proc.stdout + proc.stderr
    full = proc.stdout.split("::warning::")[-1]  # what ran after the carry-over was given up
    assert "built 2 projects" in full and "2 rendered" in full and "ok: 2 projects verified" in full
    assert "incremental" not in full
    if spoil == "site":  # the incremental verify found it (sizes), then the full path ran
        assert "_site/kavli-other/index.html: size" in proc.stderr or "kavli-other/index.html: size" in proc.stderr
    assert ("::warning::" in proc.stdout) == (spoil != "no-state"), proc.stdout
    assert (proc.temp / "pagesindex-build-state" / "verified.json").is_file()
    assert run_cli("verify", "--require-projects", index=workspace).returncode == 0


class _LocalServer:
    """A stub HTTP server on 127.0.0.1 in a daemon thread; ``url`` has no trailing slash."""

    def _start(self, handler: type) -> None:
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _RunsAPI(_LocalServer):
    """GitHub's REST API for the list of a workflow's runs, answering ``body`` with ``status``."""

    def __init__(self, status: int, body: Any):
        self.requests: List[tuple] = []
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                api.requests.append((self.path, self.headers.get("Authorization")))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._start(Handler)


@pytest.mark.parametrize("status, body, run_id, ok", [
    (200, {"total_count": 1, "workflow_runs": [{"id": 9001, "conclusion": "success"}]}, "9001", True),
    (200, {"total_count": 0, "workflow_runs": []}, None, True),  # the first deploy
    (200, {"workflow_runs": [{"id": "9001; rm -rf /"}]}, None, True),  # not a run id: nothing used
    (403, {"message": "Resource not accessible by integration"}, None, False),
])
def test_deploy_finds_the_last_successful_run(tmp_path, workspace, status, body, run_id, ok):
    api = _RunsAPI(status, body)
    try:
        runner = Runner(tmp_path, workspace, {"GITHUB_API_URL": api.url})
        proc = runner.run(workflow_path(workspace, "deploy.yml"), "build", "previous", {})
    finally:
        api.close()
    assert (proc.returncode == 0) == ok, proc.stderr
    assert proc.outputs == ({"run-id": run_id} if run_id else {})
    path, auth = api.requests[0]
    assert path == "/repos/lab/index/actions/workflows/deploy.yml/runs?branch=main&status=success&per_page=1"
    assert auth == "Bearer ghs_workflowtoken"


def test_ci_verify_job_and_test_job_in_an_index_without_tests(runner, workspace, tmp_path):
    add_and_commit(workspace, tmp_path, "kavli-hello", "1.0")
    proc = runner.run(workflow_path(workspace, "ci.yml"), "verify", "verify", {})
    assert proc.returncode == 0 and "ok: 1 project verified" in proc.stdout
    proc = runner.run(workflow_path(workspace, "ci.yml"), "tests", "tests", {})
    assert proc.returncode == 0 and "no test suite of its own" in proc.stdout
    (workspace / "packages" / "kavli-hello" / "stray.whl").write_bytes(b"x")
    proc = runner.run(workflow_path(workspace, "ci.yml"), "verify", "verify", {})
    assert proc.returncode == 1 and "not recorded in any project" in proc.stderr


# -- pr-describe ------------------------------------------------------------------------------


def test_pr_describe_lists_new_files_with_hashes_and_warns_of_dependency_confusion(workspace, tmp_path):
    from pagesindex.state import Index

    w = make_wheel(tmp_path / "d", "kavli-hello", "2.0")
    run_cli("add", str(w), "--summary", "Says *hello* <script>", index=workspace)
    index = Index(workspace)
    project = index.get_project("kavli-hello")
    project.extra["pypi"] = {"status": "higher", "versions": ["9.9.9"], "highest": "9.9.9", "checked": "2026-11-30T00:00:00Z", "pypi_url": "https://pypi.org"}
    index.save_project(project)
    log = tmp_path / "log"
    log.write_text("registered\n```\n# not a heading\n")
    out_file = tmp_path / "out"
    proc = run_cli("pr-describe", "--log", str(log), "--github-output", str(out_file), "register", "kavli-hello", "v2.0", index=workspace)
    outputs = dict(line.split("=", 1) for line in out_file.read_text().splitlines())
    assert outputs["changed"] == "true" and outputs["title"] == "register kavli-hello 2.0"
    assert outputs["branch"] == "pagesindex/register-kavli-hello-run-local"
    body = Path(outputs["body-path"]).read_text()
    sha = hashlib.sha256(w.read_bytes()).hexdigest()
    assert f"| `{w.name}` | {w.stat().st_size} | `{sha}` |" in body
    assert "**New project**" in body and "new release" in body
    assert "Dependency confusion risk" in body and "`9.9.9`" in body
    assert "Says \\*hello\\* \\<script\\>" in body and "<script>" not in body
    assert "````text\nregistered\n```\n# not a heading\n````" in body
    assert "nothing changed" not in proc.stdout


def test_pr_describe_keeps_only_the_end_of_a_long_log(workspace, tmp_path):
    add_and_commit(workspace, tmp_path, "kavli-hello", "1.0")
    run_cli("yank", "kavli-hello", "1.0", index=workspace)
    log = tmp_path / "log"
    log.write_text("first line\n" + "x" * 100 + "\n" * 30000 + "last line\n")
    body_file = tmp_path / "body.md"
    run_cli("pr-describe", "--log", str(log), "--body-file", str(body_file), "yank", "kavli-hello", "1.0", index=workspace)
    body = body_file.read_text()
    assert "last line" in body and "first line" not in body and "earlier output left out" in body
    assert len(body) < 30000


def test_pr_describe_of_a_deleted_project_and_of_no_change(workspace, tmp_path):
    w = add_and_commit(workspace, tmp_path, "kavli-hello", "1.0")
    out_file = tmp_path / "out"
    run_cli("pr-describe", "--github-output", str(out_file), "delete", "kavli-hello", index=workspace)
    assert "changed=false" in out_file.read_text()
    run_cli("remove", "kavli-hello", index=workspace)
    out_file.write_text("")
    run_cli("pr-describe", "--github-output", str(out_file), "delete", "kavli-hello", "", index=workspace)
    outputs = dict(line.split("=", 1) for line in out_file.read_text().splitlines())
    assert outputs["changed"] == "true" and outputs["title"] == "delete kavli-hello"
    body = Path(outputs["body-path"]).read_text()
    assert "is removed" in body and w.name in body and "removed" in body


@pytest.mark.parametrize(
    "args, message",
    [
        (["register", "kavli-hello"], "register needs a VERSION"),
        (["yank", "$(id)", "1.0"], "invalid project name"),
        (["yank", "kavli-hello", "1.0;id"], "invalid version tag"),
        (["--base", "--output=/tmp/x", "yank", "kavli-hello", "1.0"], "invalid --base"),
        (["--base", "nosuchrev", "yank", "kavli-hello", "1.0"], "is not a commit"),
        (["--log", "/nonexistent/log", "yank", "kavli-hello", "1.0"], "cannot read --log"),
    ],
)
def test_pr_describe_refuses_bad_input(workspace, args, message, tmp_path):
    out_file = tmp_path / "out"
    out_file.write_text("")
    before = state_snapshot(workspace)
    proc = run_cli("pr-describe", "--github-output", str(out_file), *args, index=workspace, check=False)
    assert proc.returncode == 1 and message in proc.stderr
    assert out_file.read_text() == "" and state_snapshot(workspace) == before


def test_pr_describe_outside_git_is_a_clear_error(tmp_path):
    run_cli("init", str(tmp_path / "idx"), "--no-workflows")
    proc = run_cli("pr-describe", "yank", "kavli-hello", "1.0", index=tmp_path / "idx", check=False)
    assert proc.returncode == 1 and "is not a commit of a git repository" in proc.stderr


# -- register, update, delete (issue 3's commands) against a local GitHub API -----------------


def _has_command(name: str) -> bool:
    proc = subprocess.run([sys.executable, "-m", "pagesindex", name, "--help"], capture_output=True)
    return proc.returncode == 0


needs_register = pytest.mark.skipif(
    not all(_has_command(c) for c in ("register", "update", "delete")),
    reason="pagesindex register/update/delete are not in this build (issue 3)",
)


class FakeGitHub:
    """A local server answering as GitHub's REST API documents it, for one repository.

    Endpoints (https://docs.github.com/en/rest/releases): GET /repos/{o}/{r},
    /repos/{o}/{r}/releases, /releases/tags/{tag}, /releases/{id}, /releases/{id}/assets,
    /releases/assets/{id} (JSON, or with Accept: application/octet-stream a 302 to a storage URL
    that refuses an Authorization header). The API lives under /api/v3 (as on GitHub Enterprise
    Server), the web under /. Any /pypi/ or /simple/ path answers 404 (not on PyPI).
    """

    def __init__(self, owner: str, repo: str):
        self.owner, self.repo = owner, repo
        self.releases: List[Dict[str, Any]] = []
        self.blobs: Dict[int, bytes] = {}
        self.requests: List[str] = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                fake.requests.append(self.path)
                fake.handle(self)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.api = self.base + "/api/v3"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_release(self, tag: str, files: List[Path]) -> None:
        rid = len(self.releases) + 1
        assets = []
        for f in files:
            aid = rid * 100 + len(assets)
            data = f.read_bytes()
            self.blobs[aid] = data
            assets.append(
                {
                    "id": aid,
                    "name": f.name,
                    "url": f"{self.api}/repos/{self.owner}/{self.repo}/releases/assets/{aid}",
                    "browser_download_url": f"{self.base}/{self.owner}/{self.repo}/releases/download/{tag}/{f.name}",
                    "size": len(data),
                    "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
                    "content_type": "application/octet-stream",
                    "state": "uploaded",
                }
            )
        self.releases.append(
            {
                "id": rid,
                "tag_name": tag,
                "name": tag,
                "draft": False,
                "prerelease": False,
                "url": f"{self.api}/repos/{self.owner}/{self.repo}/releases/{rid}",
                "html_url": f"{self.base}/{self.owner}/{self.repo}/releases/tag/{tag}",
                "assets_url": f"{self.api}/repos/{self.owner}/{self.repo}/releases/{rid}/assets",
                "assets": assets,
            }
        )

    def handle(self, h) -> None:
        path = h.path.split("?", 1)[0]
        prefix = f"/api/v3/repos/{self.owner}/{self.repo}"

        def send(status: int, body: Any = None, headers: Optional[Dict[str, str]] = None, raw: Optional[bytes] = None):
            data = raw if raw is not None else json.dumps(body if body is not None else {"message": "Not Found"}).encode()
            h.send_response(status)
            h.send_header("Content-Type", "application/octet-stream" if raw is not None else "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.send_header("x-ratelimit-remaining", "4999")
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(data)

        if path.startswith("/storage/"):
            if h.headers.get("Authorization"):
                return send(400, {"message": "Only one auth mechanism allowed"})
            return send(200, raw=self.blobs[int(path.rsplit("/", 1)[1])])
        if path == prefix:
            return send(200, {"id": 1, "name": self.repo, "full_name": f"{self.owner}/{self.repo}", "private": False, "visibility": "public", "html_url": f"{self.base}/{self.owner}/{self.repo}", "default_branch": "main"})
        if path == prefix + "/releases":
            return send(200, list(reversed(self.releases)))
        if path == "/api/v3/repos/lab/index/pulls" and "state=open" in h.path:  # the index's: none open
            return send(200, [])
        for rel in self.releases:
            if path in (f"{prefix}/releases/tags/{rel['tag_name']}", f"{prefix}/releases/{rel['id']}"):
                return send(200, rel)
            if path == f"{prefix}/releases/{rel['id']}/assets":
                return send(200, rel["assets"])
            for asset in rel["assets"]:
                if path == f"{prefix}/releases/assets/{asset['id']}":
                    if "application/octet-stream" in h.headers.get("Accept", ""):
                        return send(302, {}, {"Location": f"{self.base}/storage/{asset['id']}"})
                    return send(200, asset)
        return send(404)


@pytest.fixture
def github(tmp_path):
    fake = FakeGitHub("lab", "kavli-hello")
    yield fake
    fake.close()


@pytest.fixture
def gh_runner(tmp_path, workspace, github) -> Runner:
    return Runner(tmp_path, workspace, {"GITHUB_API_URL": github.api, "GITHUB_SERVER_URL": github.base})


def register_inputs(github: FakeGitHub, **changes: str) -> Dict[str, str]:
    inputs = {
        "package_name": "kavli-hello",
        "version": "v1.0.0",
        "author": "Ann O'Hara",
        "short_desc": "Says hello",
        "homepage": f"{github.base}/lab/kavli-hello",
    }
    inputs.update(changes)
    return inputs


@pytest.fixture
def s3_store(workspace):
    """moto's S3 server on 127.0.0.1 with a bucket whose files/ prefix anyone may read, and the
    workspace's index.toml set to it (committed, as a maintainer would)."""
    boto3 = pytest.importorskip("boto3")
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket="lab-packages")
    client.put_bucket_policy(Bucket="lab-packages", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::lab-packages/files/*"}]}))
    config = workspace / "index.toml"
    config.write_text(config.read_text() + f'\n[storage]\nkind = "s3"\nbucket = "lab-packages"\nregion = "us-east-1"\n'
                      f'endpoint-url = "{endpoint}"\npublic-url = "{endpoint}/lab-packages/files/"\n')
    git(workspace, "commit", "-q", "-am", "files in S3")
    client.keys = lambda: sorted(o["Key"] for o in client.list_objects_v2(Bucket="lab-packages").get("Contents", []))
    client.public_url = f"{endpoint}/lab-packages/files/"
    yield client
    server.stop()


#: The repository secrets of README.md's table ("Where the files live"); moto takes any key.
S3_SECRETS = {f"PAGESINDEX_S3_{kind}{part}": f"{kind or 'PUBLISH_'}{part}".lower()
              for kind in ("", "STAGING_", "READ_") for part in ("ACCESS_KEY_ID", "SECRET_ACCESS_KEY")}


@needs_register
def test_register_merge_deploy_and_cleanup_with_an_s3_store(gh_runner, workspace, github, s3_store, tmp_path):
    """Issue 15 items 3 and 5 through the workflows' run: scripts: register stages the files (no
    distribution file in git), the merged state is published by deploy before build, the site
    links the bucket; an update whose pull request is closed unmerged is cleaned up."""
    v1 = make_wheel(tmp_path / "r1", "kavli-hello", "1.0.0")
    github.add_release("v1.0.0", [v1])
    pypi = {"PAGESINDEX_PYPI_URL": github.base}
    proc = gh_runner.run(workflow_path(workspace, "register.yml"), "register", "change", register_inputs(github),
                         variables=pypi, secrets=S3_SECRETS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.outputs["changed"] == "true"
    assert not (workspace / "packages" / "kavli-hello").exists(), "with S3 git holds no distribution file"
    sha = hashlib.sha256(v1.read_bytes()).hexdigest()
    assert f"staging/{sha}/{v1.name}" in s3_store.keys() and not any(k.startswith("files/") for k in s3_store.keys())
    changed = set(git(workspace, "status", "--porcelain", "--untracked-files=all").split())
    assert {"projects/kavli-hello.json"} < changed and any(p.startswith("metadata/") for p in changed)
    add_paths = next(s for s in load(workflow_path(workspace, "register.yml"))["jobs"]["register"]["steps"]
                     if "with" in s and "add-paths" in s["with"])["with"]["add-paths"].split()
    assert all(any(p.startswith(a) for a in add_paths) for p in changed if p.endswith(".json") or "/" in p)
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "register")  # the pull request is merged

    deploy = workflow_path(workspace, "deploy.yml")
    proc = gh_runner.run(deploy, "build", "publish", {}, secrets=S3_SECRETS)
    assert proc.returncode == 0 and "1 file published" in proc.stdout, proc.stdout + proc.stderr
    assert f"files/kavli-hello/{v1.name}.metadata" in s3_store.keys()
    proc = gh_runner.run(deploy, "build", "site", {}, secrets=S3_SECRETS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    page = json.loads((workspace / "_site" / "kavli-hello" / "index.json").read_text())
    assert [f["url"] for f in page["files"]] == [f"{s3_store.public_url}kavli-hello/{v1.name}"]
    assert not (workspace / "_site" / "packages").exists()
    shutil.rmtree(workspace / "_site")

    # An update whose pull request is closed without merging: its staged files go, v1's stay.
    v2 = make_wheel(tmp_path / "r2", "kavli-hello", "2.0.0")
    github.add_release("v2.0.0", [v2])
    proc = gh_runner.run(workflow_path(workspace, "update.yml"), "update", "change",
                         {"package_name": "kavli-hello", "version": "v2.0.0"}, variables=pypi, secrets=S3_SECRETS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert any(k.endswith(v2.name) for k in s3_store.keys())
    git(workspace, "checkout", "-q", "--", ".")
    git(workspace, "clean", "-qfd")
    proc = gh_runner.run(workflow_path(workspace, "cleanup.yml"), "cleanup", "cleanup", {}, secrets=S3_SECRETS,
                         variables={"PAGESINDEX_CLEANUP_MIN_AGE_HOURS": "0"})
    assert proc.returncode == 0 and "2 staged files deleted" in proc.stdout, proc.stdout + proc.stderr
    assert not any("2.0.0" in k for k in s3_store.keys())
    assert f"staging/{sha}/{v1.name}" in s3_store.keys() and f"files/kavli-hello/{v1.name}" in s3_store.keys()


def kind_step(runner: Runner, workspace: Path, workflow: str) -> subprocess.CompletedProcess:
    """Run the ``store`` job's step that reads storage.kind (deploy.yml, cleanup.yml)."""
    return runner.run(workflow_path(workspace, workflow), "store", "kind", {})


def test_the_store_job_reads_the_kind_and_refuses_an_unknown_one(runner, workspace):
    for workflow in ("deploy.yml", "cleanup.yml"):
        proc = kind_step(runner, workspace, workflow)
        assert proc.returncode == 0 and proc.outputs == {"kind": "git"}, proc.stderr  # no publish or cleanup job runs
    config = workspace / "index.toml"
    config.write_text(config.read_text() + '\n[storage]\nkind = "ftp\\nkind=github-release"\n')
    proc = kind_step(runner, workspace, "deploy.yml")
    assert proc.returncode != 0 and proc.outputs == {}, "an unknown kind grants nothing"
    assert proc.stderr.strip().splitlines()[-1].startswith("index.toml: storage.kind must be 'git', 's3' or 'github-release', not 'ftp")


@pytest.fixture
def gh_store(tmp_path, workspace):
    """The GitHub stand-in (tests/github_server.py: releases write API, uploads and storage hosts,
    drafts listed only to a token that can push) with the project's repository lab/kavli-hello
    and the index's lab/index, whose release assets hold the files; the workspace's index.toml
    set to kind = "github-release" with the default repository (GITHUB_REPOSITORY), committed."""
    from github_server import FakeGitHub as StandIn

    with StandIn(token="ghs_workflowtoken", serve_web=True) as fake:
        fake.project = fake.add_repo("lab/kavli-hello")
        fake.index = fake.add_repo("lab/index")
        config = workspace / "index.toml"
        config.write_text(config.read_text() + '\n[storage]\nkind = "github-release"\n')
        git(workspace, "commit", "-q", "-am", "files in GitHub release assets")
        yield fake


def as_job(fake, workflow: Path, job: str) -> None:
    """What the job's GITHUB_TOKEN may do on the stand-in: write (and list drafts) only with contents: write."""
    fake.can_push = load(workflow)["jobs"][job]["permissions"].get("contents") == "write"


@needs_register
def test_register_merge_deploy_and_cleanup_with_github_release_assets(tmp_path, workspace, gh_store):
    """Issue 15 items 3 and 5 with the github-release store, through the workflows' run: scripts
    against the GitHub stand-in, each step with its job's token rights: register stages to the
    draft (no file in git), deploy reads the kind, publishes in its write job and builds and
    verifies with a read-only token; an update closed unmerged is cleaned up."""
    fake = gh_store
    runner = Runner(tmp_path, workspace, fake.env(token=None))
    v1 = make_wheel(tmp_path / "r1", "kavli-hello", "1.0.0")
    fake.project.add_release("v1.0.0", {v1.name: v1})
    pypi = {"PAGESINDEX_PYPI_URL": fake.web_url}  # 404 for every project: not on PyPI
    inputs = {"package_name": "kavli-hello", "version": "v1.0.0", "author": "Ann O'Hara", "short_desc": "Says hello",
              "homepage": f"{fake.web_url}/lab/kavli-hello"}
    register = workflow_path(workspace, "register.yml")
    as_job(fake, register, "register")
    proc = runner.run(register, "register", "change", inputs, variables=pypi)
    assert proc.returncode == 0 and proc.outputs["changed"] == "true", proc.stdout + proc.stderr
    assert not (workspace / "packages" / "kavli-hello").exists(), "with github-release git holds no distribution file"
    sha = hashlib.sha256(v1.read_bytes()).hexdigest()
    staged = {a.name for r in fake.index.releases if r.draft for a in r.assets}
    assert f"{sha}-{v1.name}" in staged and len(staged) == 2  # the wheel and its sidecar, in the draft only
    assert all(r.draft for r in fake.index.releases)
    # The pull request's ci.yml verify (contents: read, no secret): the state and site, not the store,
    # whose staging draft its token cannot list (a plain verify would call the files missing).
    ci = workflow_path(workspace, "ci.yml")
    as_job(fake, ci, "verify")
    proc = runner.run(ci, "verify", "verify", {})
    assert proc.returncode == 0 and "ok: 1 project verified" in proc.stdout, proc.stdout + proc.stderr
    plain = subprocess.run([sys.executable, "-m", "pagesindex", "verify"], cwd=workspace, capture_output=True, text=True,
                           env={**os.environ, **fake.env(), "GITHUB_REPOSITORY": "lab/index"})
    assert plain.returncode == 1 and "missing from the store" in plain.stderr
    shutil.rmtree(workspace / "_site")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "register")  # the pull request is merged

    deploy = workflow_path(workspace, "deploy.yml")
    as_job(fake, deploy, "store")
    assert kind_step(runner, workspace, "deploy.yml").outputs == {"kind": "github-release"}
    as_job(fake, deploy, "publish-releases")
    proc = runner.run(deploy, "publish-releases", "publish", {})
    assert proc.returncode == 0 and "1 file published" in proc.stdout, proc.stdout + proc.stderr
    [release] = [r for r in fake.index.releases if not r.draft]
    assert release.tag_name == "files-kavli-hello-1.0.0" and {a.name for a in release.assets} == {v1.name, v1.name + ".metadata"}
    as_job(fake, deploy, "build")  # read-only token: sees no draft, verifies the published assets
    proc = runner.run(deploy, "build", "site", {})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    page = json.loads((workspace / "_site" / "kavli-hello" / "index.json").read_text())
    assert [f["url"] for f in page["files"]] == [f"{fake.web_url}/lab/index/releases/download/files-kavli-hello-1.0.0/{v1.name}"]
    assert not (workspace / "_site" / "packages").exists()
    shutil.rmtree(workspace / "_site")

    # An update whose pull request is closed without merging: its staged files go, v1's stay.
    v2 = make_wheel(tmp_path / "r2", "kavli-hello", "2.0.0")
    fake.project.add_release("v2.0.0", {v2.name: v2})
    update = workflow_path(workspace, "update.yml")
    as_job(fake, update, "update")
    proc = runner.run(update, "update", "change", {"package_name": "kavli-hello", "version": "v2.0.0"}, variables=pypi)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert any(a.name.endswith(v2.name) for r in fake.index.releases if r.draft for a in r.assets)
    git(workspace, "checkout", "-q", "--", ".")
    git(workspace, "clean", "-qfd")
    cleanup = workflow_path(workspace, "cleanup.yml")
    assert kind_step(runner, workspace, "cleanup.yml").outputs == {"kind": "github-release"}
    as_job(fake, cleanup, "cleanup-releases")
    proc = runner.run(cleanup, "cleanup-releases", "cleanup", {}, variables={"PAGESINDEX_CLEANUP_MIN_AGE_HOURS": "0"})
    assert proc.returncode == 0 and "2 staged files deleted" in proc.stdout, proc.stdout + proc.stderr
    assert {a.name for r in fake.index.releases if r.draft for a in r.assets} == staged
    assert {a.name for a in release.assets} == {v1.name, v1.name + ".metadata"}
    # With the s3 job's read-only token, GitHub would list no draft: cleanup would find nothing.
    assert load(cleanup)["jobs"]["cleanup"]["permissions"]["contents"] == "read"


@needs_register
def test_register_update_delete_workflows_against_local_github(gh_runner, workspace, github, tmp_path):
    v1 = make_wheel(tmp_path / "r1", "kavli-hello", "1.0.0")
    github.add_release("v1.0.0", [v1])
    pypi = {"PAGESINDEX_PYPI_URL": github.base}
    proc = gh_runner.run(workflow_path(workspace, "register.yml"), "register", "change", register_inputs(github), variables=pypi)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (workspace / "packages" / "kavli-hello" / v1.name).read_bytes() == v1.read_bytes()
    assert proc.outputs["changed"] == "true" and proc.outputs["title"] == "register kavli-hello 1.0.0"
    body = Path(proc.outputs["body-path"]).read_text()
    assert v1.name in body and hashlib.sha256(v1.read_bytes()).hexdigest() in body
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "register")  # the pull request is merged

    v2 = make_wheel(tmp_path / "r2", "kavli-hello", "1.1.0")
    github.add_release("v1.1.0", [v2])
    proc = gh_runner.run(workflow_path(workspace, "update.yml"), "update", "change", {"package_name": "kavli-hello", "version": "v1.1.0"}, variables=pypi)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.outputs["title"] == "update kavli-hello 1.1.0"
    body = Path(proc.outputs["body-path"]).read_text()
    assert v2.name in body and v1.name not in body
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "update")

    proc = gh_runner.run(workflow_path(workspace, "delete.yml"), "delete", "change", {"package_name": "kavli-hello", "version": "1.0.0"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (workspace / "packages" / "kavli-hello" / v1.name).exists()
    assert proc.outputs["title"] == "delete kavli-hello 1.0.0"
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "delete one release")

    proc = gh_runner.run(workflow_path(workspace, "delete.yml"), "delete", "change", {"package_name": "kavli-hello", "version": ""})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (workspace / "projects" / "kavli-hello.json").exists()
    assert proc.outputs["title"] == "delete kavli-hello"


REGISTER_REFUSALS = {
    "package_name": [h for h in HOSTILE] + ["kavli hello"],
    "version": [h for h in HOSTILE] + ["1.0 beta"],
    "homepage": ["javascript:alert(1)", "https://github.com/lab/x\"; touch {marker}; \"", "$(touch {marker})", "https://github.com/lab/x\ntouch {marker}", "--help"],
}


@needs_register
@pytest.mark.parametrize(
    "workflow, field, hostile",
    [("register.yml", f, h) for f, hs in REGISTER_REFUSALS.items() for h in hs]
    + [("update.yml", f, h) for f in ("package_name", "version") for h in HOSTILE]
    + [("delete.yml", f, h) for f in ("package_name", "version") for h in HOSTILE],
)
def test_register_update_delete_refuse_hostile_input(gh_runner, workspace, github, tmp_path, workflow, field, hostile):
    add_and_commit(workspace, tmp_path, "kavli-hello", "0.9")
    marker = tmp_path / "pwned"
    job = workflow[:-4]
    if job == "register":
        inputs = register_inputs(github, package_name="kavli-other")
    else:
        inputs = {"package_name": "kavli-hello", "version": "0.9"}
    inputs[field] = hostile.format(marker=marker)
    before = state_snapshot(workspace)
    proc = gh_runner.run(workflow_path(workspace, workflow), job, "change", inputs, variables={"PAGESINDEX_PYPI_URL": github.base})
    assert_untouched(proc, workspace, before, marker)
    assert "error:" in proc.stdout + proc.stderr


@needs_register
@pytest.mark.parametrize("field", ["author", "short_desc"])
@pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
def test_register_free_text_runs_nothing(gh_runner, workspace, github, tmp_path, field, hostile):
    marker = tmp_path / "pwned"
    github.add_release("v1.0.0", [make_wheel(tmp_path / "r1", "kavli-hello", "1.0.0")])
    inputs = register_inputs(github)
    inputs[field] = hostile.format(marker=marker)
    before = state_snapshot(workspace)
    proc = gh_runner.run(workflow_path(workspace, "register.yml"), "register", "change", inputs, variables={"PAGESINDEX_PYPI_URL": github.base})
    assert not marker.exists()
    if "\n" in inputs[field]:
        assert_untouched(proc, workspace, before, marker)
    else:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        record = json.loads((workspace / "projects" / "kavli-hello.json").read_text())
        assert record["author" if field == "author" else "summary"] == inputs[field]


# -- the package repository's side: trigger update on release ---------------------------------


class DispatchServer(_LocalServer):
    """Records POST /repos/{o}/{r}/actions/workflows/{file}/dispatches and answers 204
    (https://docs.github.com/en/rest/actions/workflows#create-a-workflow-dispatch-event)."""

    def __init__(self, status: int = 204):
        self.calls: List[Dict[str, Any]] = []
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                rec.calls.append({"path": self.path, "headers": dict(self.headers), "body": self.rfile.read(length)})
                body = b"" if status == 204 else b'{"message": "Not Found"}'
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._start(Handler)


@pytest.fixture
def dispatch_server():
    servers = []

    def start(status: int = 204) -> DispatchServer:
        servers.append(DispatchServer(status))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def run_snippet(tmp_path: Path, api: str, tag: str, token: Optional[str]) -> subprocess.CompletedProcess:
    wf = load(RELEASE_SNIPPET)
    assert wf["on"] == {"release": {"types": ["published"]}}
    assert wf["jobs"]["notify-index"]["permissions"] == {}
    work = tmp_path / "pkg"
    work.mkdir(exist_ok=True)
    runner = Runner(tmp_path, work, {"GITHUB_API_URL": api})
    return runner.run(
        RELEASE_SNIPPET, "notify-index", "notify", {},
        secrets={"PAGESINDEX_DISPATCH_TOKEN": token} if token else {},
        event={"release": {"tag_name": tag}},
    )


def test_release_snippet_dispatches_update_with_the_tag(tmp_path, dispatch_server):
    server = dispatch_server()
    marker = tmp_path / "pwned"
    tag = f'v1.2.0"$(touch {marker})`touch {marker}`'
    proc = run_snippet(tmp_path, server.url, tag, "github_pat_secret")
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists()
    assert len(server.calls) == 1
    call = server.calls[0]
    assert call["path"] == "/repos/ORG/INDEX-REPOSITORY/actions/workflows/update.yml/dispatches"
    assert call["headers"]["Authorization"] == "Bearer github_pat_secret"
    assert call["headers"]["Accept"] == "application/vnd.github+json"
    assert json.loads(call["body"]) == {"ref": "main", "inputs": {"package_name": "my-package", "version": tag}}
    assert "github_pat_secret" not in proc.stdout + proc.stderr


def test_release_snippet_without_token_fails_clearly_and_sends_nothing(tmp_path, dispatch_server):
    server = dispatch_server()
    proc = run_snippet(tmp_path, server.url, "v1.2.0", None)
    assert proc.returncode == 1
    assert "::error::the secret PAGESINDEX_DISPATCH_TOKEN is not set" in proc.stdout
    assert server.calls == []


def test_release_snippet_fails_when_github_refuses(tmp_path, dispatch_server):
    server = dispatch_server(404)
    proc = run_snippet(tmp_path, server.url, "v1.2.0", "tok")
    assert proc.returncode != 0 and len(server.calls) == 1
    assert "Not Found" in proc.stdout + proc.stderr


def test_readme_documents_the_loop_and_carries_the_snippet_verbatim():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "```yaml\n" + RELEASE_SNIPPET.read_text(encoding="utf-8") + "```" in readme
    for words in ("GitHub Actions", "Allow GitHub Actions to create and approve pull requests", "PAGESINDEX_DISPATCH_TOKEN", "PAGESINDEX_PR_TOKEN", "pagesindex workflows"):
        assert words in readme
    out = run_cli("workflows", "--snippet")
    assert out.stdout == RELEASE_SNIPPET.read_text(encoding="utf-8")


# -- issue 13: every run: script of a freshly init'ed index, and the build without a token ------


@pytest.fixture(scope="module")
def runner_python(tmp_path_factory):
    """A fresh virtual environment for the runner's `python`, and a requirement for pagesindex.

    The requirement names a wheel of this checkout (as a maintainer pins a release), so the
    workflows' install steps really run `pip install -r .github/pagesindex-requirements.txt`
    without touching the environment running the tests.
    """
    root = tmp_path_factory.mktemp("runner-python")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(root / "wheels"), str(REPO)],
                   check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True, capture_output=True)
    wheel = next((root / "wheels").glob("pagesindex-*.whl"))
    return root / "venv" / "bin", f"pagesindex @ {wheel.as_uri()}"


@pytest.fixture
def fresh(tmp_path, workspace, runner_python):
    """A runner whose `python` is the fresh environment, in an index whose requirement is pinned."""
    github_server = pytest.importorskip("github_server")
    bin_dir, requirement = runner_python
    (workspace / ".github" / "pagesindex-requirements.txt").write_text(requirement + "\n")
    git(workspace, "commit", "-q", "-am", "pin pagesindex")
    with github_server.FakeGitHub(token="ghs_workflowtoken") as gh:
        env = {"PATH": f"{bin_dir}{os.pathsep}/usr/local/bin{os.pathsep}/usr/bin{os.pathsep}/bin", **gh.env(token=None)}
        yield Runner(tmp_path, workspace, env), gh


class Steps:
    """Runs steps through a :class:`Runner` and remembers which `run:` steps ran (and how long)."""

    def __init__(self, runner: Runner):
        self.runner = runner
        self.ran = set()
        self.times = []

    def __call__(self, name: str, job: str, step: str, inputs=None, *, ok: bool = True, **kwargs):
        import time

        path = workflow_path(self.runner.workspace, name)
        start = time.monotonic()
        proc = self.runner.run(path, job, step, inputs or {}, **kwargs)
        self.times.append((round(time.monotonic() - start, 1), name, job, step))
        steps = load(path)["jobs"][job]["steps"]
        self.ran.add((name, job, steps.index(proc.step)))
        if ok:
            assert proc.returncode == 0, f"{name} {job} {step}:\n{proc.stdout}\n{proc.stderr}"
        return proc


def all_run_steps(workspace: Path):
    out = set()
    for path in sorted((workspace / ".github" / "workflows").glob("*.yml")):
        for job, body in load(path)["jobs"].items():
            out |= {(path.name, job, i) for i, s in enumerate(body.get("steps", [])) if "run" in s}
    return out


@needs_register
def test_every_run_script_of_a_freshly_initialised_index_runs(fresh, workspace, tmp_path):
    """Issue 13 item 5: the workflows that `pagesindex init` writes run as written, every `run:` step."""
    from fakepypi import Fake, FakePyPI
    from ghhelpers import make_git_project

    runner, gh = fresh
    steps = Steps(runner)
    pypi = FakePyPI()
    try:
        pypi.set("kavli-hello", Fake(versions={"99.0": False}))
        variables = {"PAGESINDEX_PYPI_URL": pypi.url}
        installs = {}  # install steps: run each distinct script once, count its identical copies
        for name in sorted(p.name for p in (workspace / ".github" / "workflows").glob("*.yml")):
            for job, body in load(workflow_path(workspace, name))["jobs"].items():
                for i, step in enumerate(body.get("steps", [])):
                    if step.get("name") == "Install pagesindex":
                        if step["run"] not in installs:
                            steps(name, job, f"#{i}")
                            installs[step["run"]] = True
                        steps.ran.add((name, job, i))
        assert len(installs) == 1, "every workflow installs pagesindex the same way"
        steps("ci.yml", "tests", "tests")
        steps("ci.yml", "verify", "verify")
        # every workflow run starts from a fresh checkout: the site (git-ignored) is not in it
        shutil.rmtree(workspace / "_site", ignore_errors=True)

        src = make_git_project(tmp_path / "git", "setuptools", "kavli-hello", "1.1.0", "v1.1.0")
        repo = gh.add_repo("lab/kavli-hello", clone_url=f"file://{src}")
        v1 = make_wheel(tmp_path / "r1", "kavli-hello", "1.0.0")
        repo.add_release("v1.0.0", {v1.name: v1})
        inputs = {"package_name": "kavli-hello", "version": "v1.0.0", "author": "A", "short_desc": "S",
                  "homepage": f"{gh.web_url}/lab/kavli-hello"}
        proc = steps("register.yml", "source", "source", inputs)
        assert proc.outputs["build"] == "false" and not (proc.temp / "pagesindex-source").exists()
        proc = steps("register.yml", "register", "change", inputs, variables={"PAGESINDEX_PYPI_URL": gh.api_url + "/nopypi"},
                     needs={"source": {"outputs": {"build": "false"}}})
        assert (workspace / "packages" / "kavli-hello" / v1.name).is_file()
        git(workspace, "add", "-A")
        git(workspace, "commit", "-q", "-m", "register")

        # a release with only a tag: source (token) -> build (no token, sandboxed) -> update --dist
        repo.add_tag("v1.1.0")
        inputs = {"package_name": "kavli-hello", "version": "v1.1.0"}
        proc = steps("update.yml", "source", "source", inputs)
        assert proc.outputs["build"] == "true", proc.stdout
        built = steps("update.yml", "build", "build", artifacts={"pagesindex-source": proc.temp / "pagesindex-source"})
        proc = steps("update.yml", "update", "change", inputs, variables={"PAGESINDEX_PYPI_URL": gh.api_url + "/nopypi"},
                     needs={"source": {"outputs": {"build": "true"}}}, artifacts={"pagesindex-dist": built.temp / "pagesindex-dist"})
        assert "taking kavli_hello-1.1.0.tar.gz from --dist" in proc.stdout
        for f in (built.temp / "pagesindex-dist").iterdir():  # the build job's bytes: no build ran beside the token
            assert (workspace / "packages" / "kavli-hello" / f.name).read_bytes() == f.read_bytes()
        git(workspace, "add", "-A")
        git(workspace, "commit", "-q", "-m", "update")

        steps("yank.yml", "yank", "change", {"package_name": "kavli-hello", "version": "1.0.0", "reason": "broken"})
        git(workspace, "add", "-A")
        git(workspace, "commit", "-q", "-m", "yank")
        steps("status.yml", "status", "change", {"package_name": "kavli-hello", "status": "deprecated", "reason": "use kavli-hi"})
        git(workspace, "add", "-A")
        git(workspace, "commit", "-q", "-m", "status")
        assert steps("deploy.yml", "store", "kind").outputs == {"kind": "git"}  # so publish-releases is skipped
        steps("deploy.yml", "publish-releases", "publish")  # (run anyway: with git nothing to publish, no error)
        steps("deploy.yml", "build", "publish")  # the git store: nothing to publish, and no error
        steps("deploy.yml", "build", "site")
        # GitHub's API is not reachable here: no earlier run found, so the full path (as above)
        proc = steps("deploy.yml", "build", "previous", ok=False)
        assert proc.returncode == 1 and proc.outputs == {} and "full build" in proc.stderr
        shutil.rmtree(workspace / "_site")  # the next workflow run starts from a fresh checkout

        # vars.PAGESINDEX_PYPI_URL is honoured: the fake PyPI has a higher version, so the check fails
        proc = steps("pypi-check.yml", "check", "check", ok=False, variables=variables)
        assert proc.returncode == 1 and proc.outputs["code"] == "2", proc.stdout + proc.stderr
        assert any(path.startswith("/simple/kavli-hello/") or path.startswith("/pypi/kavli-hello/") for path, _ in pypi.requests)
        report = (proc.temp / "pypi-check.md").read_text()
        assert "99\\.0" in report  # Markdown-escaped (changes.md_text)
        fake_gh = tmp_path / "fakegh"
        fake_gh.mkdir()
        (fake_gh / "gh").write_text('#!/bin/sh\nprintf "%s\\n" "$*" >> "$RUNNER_TEMP/gh.log"\n[ "$2" = list ] && echo "[]"\nexit 0\n')
        (fake_gh / "gh").chmod(0o755)
        runner.extra_env["PATH"] = f"{fake_gh}{os.pathsep}{runner.extra_env['PATH']}"
        proc = steps("pypi-check.yml", "report", "#1", needs={"check": {"outputs": {"report": report, "code": "2"}}})
        assert "issue create" in (proc.temp / "gh.log").read_text()

        assert steps("cleanup.yml", "store", "kind").outputs == {"kind": "git"}  # so no cleanup job runs
        for job in ("cleanup", "cleanup-releases"):  # (run anyway: the git store has nothing staged, no error)
            proc = steps("cleanup.yml", job, "cleanup")
            assert "nothing to clean: storage.kind is 'git'" in proc.stdout
        steps("delete.yml", "delete", "change", {"package_name": "kavli-hello", "version": ""})
        assert not (workspace / "projects" / "kavli-hello.json").exists()
    finally:
        pypi.close()
    # register's build step is update's, word for word (the hunt test below runs it from register.yml)
    builds = [next(s["run"] for s in load(workflow_path(workspace, n))["jobs"]["build"]["steps"] if s.get("id") == "build")
              for n in ("register.yml", "update.yml")]
    assert builds[0] == builds[1]
    steps.ran.add(("register.yml", "build", ("update.yml", "build", 2) in steps.ran and 2))
    print("slowest steps:", sorted(steps.times, reverse=True)[:6])
    assert steps.ran == all_run_steps(workspace), "every run: step of every workflow ran"


@needs_register
def test_build_code_in_the_workflows_finds_no_token(fresh, workspace, tmp_path):
    """Issue 13 item 1, through the workflows' run: scripts: the token-hunting package of
    tests/token_hunt.py is registered from a tag; its build runs in the build job, here even with
    GITHUB_TOKEN and ACTIONS_RUNTIME_TOKEN in the step's environment, a ~/.git-credentials and an
    Authorization header in the workspace's .git/config. The hunt must find none of them."""
    import base64

    from token_hunt import hunt_report, leaked, make_hunting_project

    runner, gh = fresh
    steps = Steps(runner)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    tokens = {"workflow": "ghs_workflowtoken", "runtime": "ghs_RUNTIMETOKEN0123456789abc",
              "credentials": "ghp_HOMECREDENTIALS0123456789abc", "checkout": "ghs_CHECKOUTHEADER0123456789abc"}
    (home / ".git-credentials").write_text(f"https://x-access-token:{tokens['credentials']}@github.com\n")
    header = base64.b64encode(f"x-access-token:{tokens['checkout']}".encode()).decode()
    with open(workspace / ".git" / "config", "a") as f:  # as actions/checkout leaves it with persist-credentials
        f.write(f'[http "https://github.com/"]\n\textraheader = AUTHORIZATION: basic {header}\n')
    src = make_hunting_project(tmp_path / "git")
    gh.add_repo("lab/kavli-hunt", clone_url=f"file://{src}").add_tag("v1.0.0")
    inputs = {"package_name": "kavli-hunt", "version": "v1.0.0", "author": "A", "short_desc": "S",
              "homepage": f"{gh.web_url}/lab/kavli-hunt"}
    steps("register.yml", "source", "install")  # the runner's python starts empty (module fixture)
    source = steps("register.yml", "source", "source", inputs)
    assert source.outputs["build"] == "true", source.stdout + source.stderr
    artifact = b"".join(p.read_bytes() for p in (source.temp / "pagesindex-source").rglob("*") if p.is_file())
    assert leaked(artifact.decode("latin-1"), list(tokens.values())) == []
    runner.extra_env.update({"GITHUB_TOKEN": tokens["workflow"], "ACTIONS_RUNTIME_TOKEN": tokens["runtime"]})
    built = steps("register.yml", "build", "build", artifacts={"pagesindex-source": source.temp / "pagesindex-source"})
    for key in ("GITHUB_TOKEN", "ACTIONS_RUNTIME_TOKEN"):
        del runner.extra_env[key]
    steps("register.yml", "register", "change", inputs, variables={"PAGESINDEX_PYPI_URL": gh.api_url + "/nopypi"},
          needs={"source": {"outputs": {"build": "true"}}}, artifacts={"pagesindex-dist": built.temp / "pagesindex-dist"})
    report = hunt_report(workspace / "packages" / "kavli-hunt" / "kavli_hunt-1.0.0.tar.gz")
    assert report.startswith("hunt ran; searched: os.environ pids=")
    assert leaked(report, list(tokens.values())) == [], report
