#!/usr/bin/env bash
# Makes server/tests/data/main-before-issue10/: a data folder written by the distd of commit
# 3f7639e (main before issue 10), which publishes fixtures/android/crafted/
# v2-cd-copy-before-eocd.apk as signed (release 1.0 (2)), beside signed-v1v2v3.apk
# (release 1.0 (1), which stays signed), and fixtures/ios/crafted/changed-icon.ipa as
# untrusted with digests verified (release 1.0 (3), artifact-only). server/tests/reinspect.rs runs today's
# `distd reinspect` on a copy of it.
#
# Usage: server/tests/data/make-main-data.sh OLD_DISTD
#   where OLD_DISTD was built from that commit, e.g.
#   git archive 3f7639e | tar -x -C /tmp/main-src && (cd /tmp/main-src && cargo build -p server)
set -euo pipefail
distd=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out="$here/main-before-issue10"
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port/api/v1
"$distd" serve --data "$work/data" --listen "127.0.0.1:$port" 2>"$work/log" &
pid=$!
for _ in $(seq 200); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
tok=$(cat "$work/data/initial-admin-token")
api() { curl -fsS -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' "$@"; }
api -X POST "$base/apps" -d '{"slug":"acme","name":"Acme"}' >/dev/null
publish() { # file build [install mode]
  local f=$1 build=$2 install=${3:-} sha size name rel rid aid extra=""
  [ -n "$install" ] && extra=",\"install\":\"$install\""
  sha=$(sha256sum "$f" | cut -d' ' -f1)
  size=$(stat -c %s "$f")
  name=$(basename "$f")
  curl -fsS -X PUT -H "Authorization: Bearer $tok" --data-binary @"$f" "$base/blobs/sha256/$sha" >/dev/null
  rel=$(api -X POST "$base/apps/acme/releases" \
    -d "{\"version\":\"1.0\",\"build\":\"$build\",\"artifacts\":[{\"file_name\":\"$name\",\"sha256\":\"$sha\",\"size\":$size$extra}]}")
  rid=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["release"]["id"])' <<<"$rel")
  aid=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["release"]["artifacts"][0]["id"])' <<<"$rel")
  api -X POST "$base/artifacts/$aid/attach" | python3 -c 'import json, sys; s = json.load(sys.stdin)["inspection"]["signature"]; print(sys.argv[1], "attached:", s["state"], "digest_ok", s["digest_ok"])' "$name"
  api -X POST "$base/releases/$rid/publish" >/dev/null
}
publish "$root/fixtures/android/signed-v1v2v3.apk" 1
publish "$root/fixtures/android/crafted/v2-cd-copy-before-eocd.apk" 2
publish "$root/fixtures/ios/crafted/changed-icon.ipa" 3 artifact-only
kill -TERM "$pid"
wait "$pid" || true
pid=
rm -rf "$out"
mkdir -p "$out"
"$distd" backup --data "$work/data" --out "$out/distd.sqlite3"
cp -r "$work/data/blobs" "$out/"
cp "$work/data/audit-head" "$out/"
find "$out" -type f | sort
