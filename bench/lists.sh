#!/usr/bin/env bash
# List benchmark (issue 11, item 11): 100,000 releases of one app written straight into SQLite,
# then, with 64 connections (wrk, BENCH_SECS each, default 10):
#   - p50/p99 of the first page of releases (limit 100)
#   - p50/p99 of the last page (the cursor of the page before it)
#   - p50/p99 of a channel lookup
# each also against a database with one page of releases (100: the same work per answer; the
# goal: within 1.2x), and distd's peak resident memory (VmHWM) (the goal: under 32 MiB).
# Usage: bench/lists.sh [WORKDIR] [RELEASES]   Not a test: it prints figures.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=${1:-$(mktemp -d /var/tmp/dist-bench-lists.XXXXXX)}
n=${2:-100000}
secs=${BENCH_SECS:-10}
mkdir -p "$work"
port=${BENCH_PORT:-18490}
base="http://127.0.0.1:$port"

command -v wrk >/dev/null || { apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null; }
echo "building the release distd..." >&2
cargo build -q --release -p server
distd=$root/target/release/distd

start() {
  "$distd" serve --data "$1" --listen "127.0.0.1:$port" >>"$work/distd.log" 2>&1 &
  pid=$!
  for _ in $(seq 200); do curl -fs "$base/healthz" >/dev/null && return; sleep 0.05; done
  echo "distd did not start; see $work/distd.log" >&2; exit 1
}
stop() { kill "$pid"; wait "$pid" || true; }
trap 'kill ${pid:-0} 2>/dev/null || true' EXIT

# A data folder with an app and `count` releases (one android artifact each), the newest on
# channel beta.
make_data() {
  local data=$1 count=$2
  rm -rf "$data"
  start "$data"
  local token; token=$(cat "$data/initial-admin-token")
  curl -fsS -o /dev/null -H "Authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"slug":"bench","name":"Bench"}' "$base/api/v1/apps"
  stop
  python3 - "$data/distd.sqlite3" "$count" <<'PY'
import sqlite3, sys
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
c.execute("PRAGMA synchronous=OFF")
rows, arts = [], []
for i in range(n):
    rid = f"rel_{i:020x}"
    at = f"2026-01-01T00:00:00.{i:06d}Z" if i < 1000000 else None
    rows.append((rid, str(i), at))
    arts.append((f"art_{i:016x}", rid, f"{i:064x}"))
c.executemany("INSERT INTO releases(id, app, version, build, status, fingerprint, created_at) VALUES (?, 'bench', '1.0', ?, 'draft', 'f', ?)", rows)
c.executemany("INSERT INTO artifacts(id, release_id, position, file_name, sha256, size, platform, kind, attached) VALUES (?, ?, 0, 'app.apk', ?, 1000, 'android', 'apk', 1)", arts)
c.execute("UPDATE releases SET status = 'published', published_at = created_at")
last = rows[-1][0]
c.execute("INSERT INTO channels(app, name, release_id, updated_at) VALUES ('bench', 'beta', ?, '2026-01-02T00:00:00Z')", (last,))
c.commit()
PY
}

# "p50 p99" in ms from wrk --latency on a URL.
measure() {
  wrk -t2 -c64 -d"${secs}s" --latency -H "Authorization: Bearer $token" "$1" \
    | awk '/^ +50%/{p50=$2} /^ +99%/{p99=$2} /Requests\/sec/{rps=$2} END{print p50, p99, rps}'
}

declare -A result
for label in small large; do
  data=$work/data-$label
  count=$([ "$label" = large ] && echo "$n" || echo 100)
  echo "preparing $label ($count release(s))..." >&2
  make_data "$data" "$count"
  start "$data"
  token=$(cat "$data/initial-admin-token")
  first="$base/api/v1/apps/bench/releases?limit=100"
  # The last page: follow next_cursor to the end, keep the cursor that leads to the last page.
  last_url=$(python3 - "$first" "$token" <<'PY'
import json, sys, urllib.request
url, token = sys.argv[1], sys.argv[2]
prev = url
while True:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    v = json.load(urllib.request.urlopen(req))
    if not v["next_cursor"]:
        print(url); break
    url = sys.argv[1] + "&cursor=" + v["next_cursor"]
PY
)
  result[$label,first]=$(measure "$first")
  result[$label,last]=$(measure "$last_url")
  result[$label,channel]=$(measure "$base/api/v1/apps/bench/channels/beta")
  result[$label,rss]=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
  stop
done

printf '\n%-24s %22s %22s %12s\n' "request (64 conns)" "100 releases p50/p99" "$n releases p50/p99" "p50, p99 x"
for what in first last channel; do
  read -r e50 e99 _ <<<"${result[small,$what]}"
  read -r l50 l99 _ <<<"${result[large,$what]}"
  ratio=$(python3 -c "
def ms(s):
    return float(s[:-2]) if s.endswith('ms') else float(s[:-2])/1000 if s.endswith('us') else float(s[:-1])*1000
print(f'{ms(\"$l50\")/ms(\"$e50\"):.2f}, {ms(\"$l99\")/ms(\"$e99\"):.2f}')")
  printf '%-24s %22s %22s %12s\n' "$what" "$e50 / $e99" "$l50 / $l99" "$ratio"
done
echo "peak RSS (VmHWM): 100 releases ${result[small,rss]} kB, $n releases ${result[large,rss]} kB"
