#!/usr/bin/env bash
# A tour of the citadel CLI against a running gateway (`npm start`): two accounts, a shared
# workspace, a todo created, assigned and completed, `--json` read by a script, and the live
# event `watch` caught in the background. Runs in `npm test` (e2e/cli.e2e.test.ts).
#
#   clients/cli/examples/flow.sh               # against http://127.0.0.1:4000
#   CITADEL_URL=http://gw:4000 clients/cli/examples/flow.sh
#
# Alice and Bob each keep their credentials in their own folder under $CITADEL_CONFIG_DIR (a
# temporary folder when unset), as two people on two machines would.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if command -v citadel >/dev/null 2>&1; then cli=(citadel); else cli=(node "$here/../bin/citadel.js"); fi
export CITADEL_URL="${CITADEL_URL:-http://127.0.0.1:4000}"
work="$(mktemp -d)"
base="${CITADEL_CONFIG_DIR:-$work}"
watch_pid=""
cleanup() {
  if [[ -n "$watch_pid" ]]; then kill "$watch_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

alice() { CITADEL_CONFIG_DIR="$base/alice" "${cli[@]}" "$@"; }
bob() { CITADEL_CONFIG_DIR="$base/bob" "${cli[@]}" "$@"; }
# Reads a field (a.b.c) of the JSON on stdin.
field() { node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(process.argv[1].split(".").reduce((o, k) => o[k], JSON.parse(s))))' "$1"; }
# Waits up to 60 s for a line matching $2 in file $1 while the watch is alive.
wait_for() {
  for _ in $(seq 1 300); do
    if grep -q -- "$2" "$1" 2>/dev/null; then return 0; fi
    if ! kill -0 "$watch_pid" 2>/dev/null; then echo "watch stopped:" >&2; cat "$work/watch.log" >&2; return 1; fi
    sleep 0.2
  done
  echo "timed out waiting for $2 in $1" >&2
  return 1
}

run="$(node -e 'console.log(Date.now().toString(36))')"
alice_email="alice-$run@example.com"
bob_email="bob-$run@example.com"
password="correct horse battery staple $run"

echo "== register and sign in (passwords from stdin, never from argv)"
printf '%s\n' "$password" | alice register --email "$alice_email" --name Alice --password-stdin
printf '%s\n' "$password" | bob register --email "$bob_email" --name Bob --password-stdin
printf '%s\n' "$password" | alice login --email "$alice_email" --password-stdin
printf '%s\n' "$password" | bob login --email "$bob_email" --password-stdin
alice me
bob_id="$(bob me --json | field id)"

echo "== a workspace, with Bob in it"
workspace="$(alice workspace create "Launch $run" --json | field id)"
alice workspace add-member "$workspace" "$bob_email"
alice workspace members "$workspace"
bob workspace list

echo "== Bob watches the workspace in the background"
CITADEL_CONFIG_DIR="$base/bob" "${cli[@]}" watch "$workspace" --json >"$work/events.jsonl" 2>"$work/watch.log" &
watch_pid=$!
wait_for "$work/watch.log" "watching workspace"

echo "== a todo: created by Alice, assigned to Bob, completed by Bob"
todo="$(alice todo create "$workspace" "Write the release notes" --description "What changed, for users" --json | field id)"
alice todo assign "$todo" "$bob_id"
bob todo complete "$todo"
alice todo list "$workspace"

echo "== the same list as JSON, checked by a script"
alice todo list "$workspace" --json | node -e '
  let s = "";
  process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const todos = JSON.parse(s);
    const [todo] = todos;
    if (todos.length !== 1 || todo.id !== process.argv[1] || todo.status !== "DONE" || todo.assignee?.name !== "Bob") {
      console.error("unexpected todos:", s);
      process.exit(1);
    }
    console.log(`checked: ${todo.title} is ${todo.status}, assigned to ${todo.assignee.name}`);
  });' "$todo"

echo "== what Bob's watch saw"
wait_for "$work/events.jsonl" '"type":"COMPLETED"'
node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
  for (const e of lines) console.log(`${e.type} ${e.todo.title} by ${e.actor?.name ?? "-"}`);' "$work/events.jsonl"
kill -TERM "$watch_pid"
wait "$watch_pid"
watch_pid=""

echo "== sign out"
alice logout
bob logout
echo "flow complete"
