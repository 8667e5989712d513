#!/usr/bin/env bash
# Open, or update, the ONE issue that reports dependency-confusion conflicts found by
# `pagesindex check` (run by .github/workflows/pypi-check.yml).
#
# Environment: REPORT (Markdown table written by `pagesindex check --markdown`), RUN_URL (link to
# the workflow run), GH_TOKEN and GH_REPO (for the gh command line). The issue is found by its
# exact title among open issues; its body is replaced with the latest report and a comment links
# the run.
set -euo pipefail

title="PyPI check: PyPI has versions that pip would install instead of this index's"
body="$(mktemp)"
trap 'rm -f "$body"' EXIT
{
  echo "The scheduled dependency-confusion check found projects for which PyPI offers a version"
  echo "that \`pip install NAME --extra-index-url <this index>\` would install instead of ours."
  echo
  cat "$REPORT"
  echo
  echo "Latest run: $RUN_URL"
  echo
  echo "What to do: see the README section \"Dependency confusion and the PyPI check\"."
} > "$body"

number="$(gh issue list --state open --search "in:title \"$title\"" --limit 50 --json number,title \
  | TITLE="$title" python3 -c 'import json, os, sys; print(next((str(i["number"]) for i in json.load(sys.stdin) if i["title"] == os.environ["TITLE"]), ""))')"

if [ -n "$number" ]; then
  gh issue edit "$number" --body-file "$body"
  gh issue comment "$number" --body "Still found by $RUN_URL"
  echo "updated issue #$number"
else
  gh issue create --title "$title" --body-file "$body"
  echo "opened a new issue"
fi
