"""The project records that open pull requests of the index's repository change (GitHub REST).

Used by ``pagesindex storage cleanup --keep-open-pull-requests``: a staged file that an open pull
request's records name must stay, whatever the committed state says. Endpoints (GitHub REST
docs, "Pulls" and "Repository contents"): ``GET /repos/{owner}/{repo}/pulls?state=open``,
``GET /repos/{owner}/{repo}/pulls/{number}/files`` and ``GET /repos/{owner}/{repo}/contents/{path}?ref={sha}``.
Only records are read (JSON, checked as the index's own); nothing of a pull request runs.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import List

from ..errors import IndexStateError
from ..model import Project
from ..state import Index
from ..github_api import GitHubClient, GitHubError

#: A record's path in the repository: ``projects/<normalized-name>.json``.
_RECORD = re.compile(r"^projects/([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.json$")
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def open_pull_request_records(client: GitHubClient, full_name: str) -> List[Project]:
    """The records (``projects/*.json``) that each open pull request of ``full_name`` adds or
    changes, at the pull request's head commit. Raises
    :class:`~pagesindex.github_api.GitHubError` when GitHub cannot answer, and
    :class:`~pagesindex.errors.IndexStateError` for a record that is not one (so a cleanup
    stops before deleting anything)."""
    if not _REPO.match(full_name or ""):
        raise IndexStateError(f"repository must be ORG/REPO (GITHUB_REPOSITORY), not {full_name!r}")
    repo = GitHubClient._repo_path(full_name)
    projects: List[Project] = []
    for pull in client.paginate(f"{repo}/pulls?state=open", what=f"open pull requests of {full_name}"):
        number = pull.get("number") if isinstance(pull, dict) else None
        sha = (pull.get("head") or {}).get("sha") if isinstance(pull, dict) else None
        if not isinstance(number, int) or not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{40}", sha):
            raise GitHubError(f"open pull requests of {full_name}: an entry without a number and head sha")
        for changed in client.paginate(f"{repo}/pulls/{number}/files", what=f"files of pull request #{number}"):
            path = changed.get("filename") if isinstance(changed, dict) else None
            if not isinstance(path, str) or not _RECORD.match(path) or changed.get("status") == "removed":
                continue
            data = client.get_json(f"{repo}/contents/{path}", params={"ref": sha}, what=f"{path} of pull request #{number}")
            if not isinstance(data, dict) or data.get("encoding") != "base64" or not isinstance(data.get("content"), str):
                raise GitHubError(f"{path} of pull request #{number}: GitHub gave no base64 content (a record over 1 MB?)")
            try:
                raw = base64.b64decode(data["content"])
            except ValueError:
                raise GitHubError(f"{path} of pull request #{number}: invalid base64 content") from None
            projects.append(Index._parse_record(Path(f"pull request #{number}: {path}"), raw))
    return projects


__all__ = ["open_pull_request_records"]
