#!/usr/bin/env bash
# The deploy's carry-over at scale (issue 17; not part of the package): one release merged into a
# generated index, built and verified as the deploy workflow's "Build and verify the site" step
# runs it, from a fresh clone, with the last deploy's site (a tar, as upload-pages-artifact makes
# it) and saved state.
#
#   benchmarks/deploy_carry_over.sh STATE WORK
#
# STATE: a folder of benchmarks/gen.py (index.toml, projects/, packages/); it is not changed
# (its packages are hard-linked, and neither a build nor an add writes an existing file).
# WORK: an empty folder for the runs. PAGESINDEX: the pagesindex command to time (default
# "pagesindex" on PATH). Prints /usr/bin/time -v figures of each timed command to WORK/*.time,
# and last what the same whole-site check costs when read from the tar (benchmarks/tar_index.py).
set -euo pipefail
state=$(cd "$1" && pwd)
work=$2
pagesindex=${PAGESINDEX:-pagesindex}
python=${PYTHON:-python3}
here=$(cd "$(dirname "$0")" && pwd)
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.org GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.org
mkdir -p "$work"
work=$(cd "$work" && pwd)
timed() {  # timed NAME COMMAND...: run with /usr/bin/time -v into $work/NAME.time
  local name=$1; shift
  /usr/bin/time -v -o "$work/$name.time" "$@" > "$work/$name.out" 2>&1 || { cat "$work/$name.out"; return 1; }
  printf '%-26s wall %8s  user %7s  sys %6s  maxrss %7s KB\n' "$name" \
    "$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/$name.time")" \
    "$(sed -n 's/.*User time (seconds): //p' "$work/$name.time")" \
    "$(sed -n 's/.*System time (seconds): //p' "$work/$name.time")" \
    "$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/$name.time")"
}

# The repository: the generated state, one commit.
origin="$work/origin"
mkdir "$origin"
cp -r "$state/projects" "$state/index.toml" "$origin/"
cp -al "$state/packages" "$origin/"
"$python" -c "import sys; from pagesindex.workflows import install_gitignore; install_gitignore(sys.argv[1])" "$origin"
git -C "$origin" init -q -b main
git -C "$origin" add -A
git -C "$origin" commit -q -m "generated state"

# The last deploy: a fresh clone, full build and verify, its artifacts kept.
git clone -q "$origin" "$work/run0"
(cd "$work/run0" && PAGESINDEX_CACHE_DIR="$work/cache0" timed full-build "$pagesindex" build)
(cd "$work/run0" && PAGESINDEX_CACHE_DIR="$work/cache0" timed full-verify-save \
   "$pagesindex" verify --require-projects --save-state "$work/state0")
mkdir "$work/site0"
# as actions/upload-pages-artifact v3 makes the github-pages artifact
tar --dereference --hard-dereference --directory "$work/run0/_site" -cf "$work/site0/artifact.tar" --exclude=.git --exclude=.github .

# The merge: one release of an existing project.
project=$(ls "$origin/projects" | sed -n '20s/\.json$//p')
(cd "$here/.." && "$python" -c "
import sys; sys.path.insert(0, 'tests')
from pathlib import Path
from factory import make_wheel
make_wheel(Path('$work/dist'), '$project', '99.0')")
PAGESINDEX_CACHE_DIR="$work/cache-add" "$pagesindex" --index "$origin" add "$work"/dist/*.whl > "$work/add.out"
git -C "$origin" add -A
git -C "$origin" commit -q -m "add $project 99.0"

# The next deploy: a fresh clone (no build manifest, an empty user cache), as on a runner; the
# step's script with the artifacts downloaded.
git clone -q "$origin" "$work/run1"
cd "$work/run1"
export PAGESINDEX_CACHE_DIR="$work/cache1"
timed extract-site bash -c "mkdir _site && tar -xf '$work/site0/artifact.tar' -C _site --no-same-owner --no-same-permissions"
timed build-previous "$pagesindex" build --previous-state "$work/state0"
timed verify-previous-save "$pagesindex" verify --require-projects --previous-state "$work/state0" --save-state "$work/state1"
grep -h "adopted\|rendered\|incremental\|checking everything" "$work/build-previous.out" "$work/verify-previous-save.out" || true
"$python" -c "import json,sys; d=json.load(open(sys.argv[1])); print('saved commit:', d['commit'], '| projects:', len(d['projects']))" "$work/state1/verified.json"
timed pagesindex-startup "$pagesindex" --version

# The other design (not built; benchmarks/README.md, "The deploy path"): the same whole-site check
# read from the last deploy's tar (its member headers) instead of an extracted folder.
"$python" "$here/tar_index.py" "$work/site0/artifact.tar" --state "$work/state0/verified.json"
