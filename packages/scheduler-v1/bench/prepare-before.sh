#!/usr/bin/env bash
# Makes a checkout of another revision to compare against with `npm run bench:ab` (BEFORE=<dir>):
# a git worktree whose node_modules links to this checkout's packages from npm, and whose
# @vllm-ts/* links point at the worktree's own packages (so A runs its own code throughout).
# Usage (from anywhere in this checkout): packages/scheduler-v1/bench/prepare-before.sh <rev> <dir>
set -euo pipefail
rev=${1:?usage: prepare-before.sh <rev> <dir>}
dir=${2:?usage: prepare-before.sh <rev> <dir>}
root=$(git rev-parse --show-toplevel)
git -C "$root" worktree add --force --detach "$dir" "$rev" >/dev/null
mkdir -p "$dir/node_modules/@vllm-ts"
for f in "$root"/node_modules/* "$root"/node_modules/.bin; do
  name=$(basename "$f")
  [ "$name" = "@vllm-ts" ] || ln -sfn "$f" "$dir/node_modules/$name"
done
for link in "$root"/node_modules/@vllm-ts/*; do
  target=$(readlink "$link")        # ../../packages/<name> or ../../apps/<name> or ../../tooling/<name>
  ln -sfn "$dir/${target#../../}" "$dir/node_modules/@vllm-ts/$(basename "$link")"
done
echo "BEFORE=$dir ($(git -C "$dir" log --oneline -1))"
