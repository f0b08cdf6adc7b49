#!/usr/bin/env bash
# Admin console bench (issue 21): the releases page of an app with RELEASES releases (default
# 10,000) renders on the server in under 50 ms. One real release (the Android fixture, attached
# and inspected) is cloned straight into SQLite, so every row carries a real inspection to
# count findings from. Then, signed in as a browser would be (sign-in form, session cookie),
# RUNS (default 30) sequential requests each of: the first page, a deep page (the cursor of
# row RELEASES/2), a filtered page (platform=android&status=published), the release detail.
# The server's own time per request comes from distd's request log (`ms=`), the client's from
# curl. Prints median, p95 and max of each.
# Usage: [DISTD=path] bench/admin.sh [WORKDIR] [RELEASES] [RUNS]   Not a test: it prints figures.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=${1:-$(mktemp -d /var/tmp/dist-bench-admin.XXXXXX)}
n=${2:-10000}
runs=${3:-30}
port=${BENCH_PORT:-18491}
base="http://127.0.0.1:$port"
mkdir -p "$work"
data=$work/data
rm -rf "$data" "$work/distd.log"

# DISTD=path runs another build (a debug one, to try the script quickly); figures are for
# the release build.
if [ -z "${DISTD:-}" ]; then
  echo "building the release distd..." >&2
  cargo build -q --release -p server
fi
distd=${DISTD:-$root/target/release/distd}

start() {
  "$distd" serve --data "$data" --listen "127.0.0.1:$port" >>"$work/distd.log" 2>&1 &
  pid=$!
  for _ in $(seq 200); do curl -fs "$base/healthz" >/dev/null && return; sleep 0.05; done
  echo "distd did not start; see $work/distd.log" >&2; exit 1
}
stop() { kill "$pid"; wait "$pid" || true; }
trap 'kill ${pid:-0} 2>/dev/null || true' EXIT

start
token=$(cat "$data/initial-admin-token")
api() { curl -fsS -H "Authorization: Bearer $token" -H 'content-type: application/json' "$@"; }
apk=$root/fixtures/android/signed-v1v2v3.apk
sha=$(sha256sum "$apk" | cut -d' ' -f1)
size=$(stat -c %s "$apk")
api -o /dev/null -d '{"slug":"bench","name":"Bench"}' "$base/api/v1/apps"
api -o /dev/null -X PUT --data-binary "@$apk" -H 'content-type: application/octet-stream' \
  "$base/api/v1/blobs/sha256/$sha?app=bench"
created=$(api -d "{\"version\":\"1.0\",\"build\":\"seed\",\"artifacts\":[{\"file_name\":\"app.apk\",\"sha256\":\"$sha\",\"size\":$size}]}" \
  "$base/api/v1/apps/bench/releases")
art=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["release"]["artifacts"][0]["id"])' <<<"$created")
api -o /dev/null -X POST "$base/api/v1/artifacts/$art/attach"
stop

echo "writing $n releases into SQLite..." >&2
python3 - "$data/distd.sqlite3" "$n" "$art" <<'PY'
import sqlite3, sys
db, n, seed = sys.argv[1], int(sys.argv[2]), sys.argv[3]
c = sqlite3.connect(db)
c.execute("PRAGMA synchronous=OFF")
cols = "file_name, sha256, size, platform, arch, install_mode, kind, attached, inspection, icon_sha256, attached_at"
row = c.execute(f"SELECT {cols} FROM artifacts WHERE id = ?", (seed,)).fetchone()
rels, arts = [], []
for i in range(n):
    rid = f"rel_{i:020x}"
    at = f"2026-01-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}.{i:06d}Z"
    src = '{"commit":"%040x","ci_url":"https://ci.example.com/run/%d"}' % (i, i)
    rels.append((rid, str(i), src, at))
    arts.append((f"art_{i:016x}", rid) + row)
c.executemany("INSERT INTO releases(id, app, version, build, source, status, fingerprint, created_at) VALUES (?, 'bench', '1.0', ?, ?, 'draft', 'f', ?)", rels)
c.executemany(f"INSERT INTO artifacts(id, release_id, position, {cols}) VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", arts)
c.execute("UPDATE releases SET status = 'published', published_at = created_at WHERE app = 'bench' AND build != 'seed'")
c.execute("INSERT INTO channels(app, name, release_id, updated_at) VALUES ('bench', 'beta', ?, '2026-01-02T00:00:00Z')", (rels[-1][0],))
c.commit()
PY

start
# Sign in as a browser does: the form (and its cookie), then the post.
jar=$work/cookies
rm -f "$jar"
csrf=$(curl -fsS -c "$jar" -b "$jar" "$base/admin/signin" | grep -o 'name="csrf" value="[^"]*"' | sed 's/.*value="//;s/"$//')
curl -fsS -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf=$csrf" --data-urlencode "token=$token" "$base/admin/signin"
first="$base/admin/apps/bench"
page=$(curl -fsS -b "$jar" "$first")
rows=$(grep -c '<td><a href="/admin/releases/' <<<"$page" || true)
[ "$rows" -ge 50 ] || { echo "the first page has $rows release rows, expected at least 50" >&2; exit 1; }
# A deep page: the cursor that starts at row n/2 (created_at and id of the row before it).
mid=$(python3 - "$data/distd.sqlite3" "$n" <<'PY'
import base64, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
at, rid = c.execute("SELECT created_at, id FROM releases WHERE app='bench' ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET ?", (int(sys.argv[2]) // 2,)).fetchone()
print(base64.urlsafe_b64encode(f"{at}\n{rid}".encode()).decode().rstrip("="))
PY
)
deep="$first?cursor=$mid"
filtered="$first?platform=android&status=published"
detail="$base/admin/releases/rel_$(printf '%020x' $((n - 1)))"

# The server's ms of the last `count` request lines of `path` in the log.
server_ms() {
  grep "path=$1}" "$work/distd.log" | grep -o 'ms=[0-9.]*' | tail -n "$2" | cut -d= -f2
}
stats() { sort -n | awk '{a[NR]=$1} END{printf "median %.1f  p95 %.1f  max %.1f", a[int((NR+1)/2)], a[int(NR*0.95+0.999)], a[NR]}'; }

printf '%s releases, %s runs each; machine: %s cores, load %s\n' "$n" "$runs" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
for name in first deep filtered detail; do
  url=${!name}
  client=$(for _ in $(seq "$runs"); do curl -fsS -o /dev/null -w '%{time_total}\n' -b "$jar" "$url"; done \
    | awk '{printf "%.3f\n", $1 * 1000}')
  path=$(sed -E 's#^https?://[^/]+##; s#\?.*##' <<<"$url")
  sleep 0.2
  printf '%-9s server ms: %s   client ms: %s\n' "$name" \
    "$(server_ms "$path" "$runs" | stats)" "$(stats <<<"$client")"
done
