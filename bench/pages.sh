#!/usr/bin/env bash
# Read-path benchmark (issue 20): requests per second and p99 latency of
#   - the channel lookup JSON (GET /api/v1/apps/bench/channels/beta, bearer token),
#   - the channel page (GET /apps/bench/channels/beta, a public channel, an iPhone's UA), and
#   - the same page asked with Accept-Encoding: gzip, as browsers ask (distd keeps the gzipped
#     page; nginx serves the same gzipped bytes with gzip_static),
# each against nginx serving the same bytes as static files, wrk with 64 connections,
# alternating rounds (distd, nginx, distd, nginx, ...). Prints the median of each contender,
# the ratio of medians and the worst p99 seen. Goals: lookup >= 0.5 of nginx, page >= 0.3,
# p99 < 10 ms.
# Usage: bench/pages.sh [WORKDIR]
#   BENCH_RUNS   rounds (default 5)   BENCH_SECS  seconds per wrk run (default 5)
#   BENCH_DISTD  a distd binary to measure instead of building the release one
# Not a test: it prints figures. Installs wrk and nginx from apt when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=${1:-$(mktemp -d /var/tmp/dist-pages-bench.XXXXXX)}
mkdir -p "$work"
port=${BENCH_PORT:-18580}
base="http://127.0.0.1:$port"
nport=$((port + 1))
runs=${BENCH_RUNS:-5}
secs=${BENCH_SECS:-5}
need() { command -v "$1" >/dev/null || { apt-get update -qq >/dev/null && apt-get install -y -qq "$2" >/dev/null; }; }
need wrk wrk
need nginx nginx-light
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
maxof() { printf '%s\n' "$@" | sort -g | tail -1; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
distd=${BENCH_DISTD:-}
if [ -z "$distd" ]; then
  echo "building the release distd..." >&2
  cargo build -q --release -p server
  distd=$root/target/release/distd
fi
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; nginx -c "$work/nginx.conf" -s stop 2>/dev/null || true' EXIT

data=$work/data
rm -rf "$data"
"$distd" serve --data "$data" --listen "127.0.0.1:$port" >"$data.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.1; done
token=$(cat "$data/initial-admin-token")
auth=(-H "Authorization: Bearer $token")
json=(-H 'content-type: application/json')
api() { curl -fsS "${auth[@]}" "${json[@]}" "$@"; }
api -o /dev/null -d '{"slug":"bench","name":"Bench"}' "$base/api/v1/apps"
apk=$root/fixtures/android/signed-v1v2v3.apk
sha=$(sha256sum "$apk" | cut -d' ' -f1); size=$(stat -c %s "$apk")
curl -fsS -o /dev/null -T "$apk" "${auth[@]}" -H "Upload-Length: $size" "$base/api/v1/blobs/sha256/$sha?app=bench"
rel=$(api -d "{\"version\":\"1.0\",\"build\":\"1\",\"notes\":\"- faster start\",\"artifacts\":[{\"file_name\":\"bench.apk\",\"sha256\":\"$sha\",\"size\":$size}]}" \
  "$base/api/v1/apps/bench/releases")
rid=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["release"]["id"])' "$rel")
aid=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["release"]["artifacts"][0]["id"])' "$rel")
api -o /dev/null -X POST "$base/api/v1/artifacts/$aid/attach"
api -o /dev/null -X POST "$base/api/v1/releases/$rid/publish"
api -o /dev/null -d "{\"release_id\":\"$rid\"}" "$base/api/v1/apps/bench/channels/beta/promote"
api -o /dev/null -X PUT -d '{"access":"public"}' "$base/api/v1/apps/bench/channels/beta/access"

ua='Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1'
# nginx serves exactly the bytes distd answers.
mkdir -p "$work/www"
curl -fsS "${auth[@]}" -o "$work/www/lookup.json" "$base/api/v1/apps/bench/channels/beta"
curl -fsS -A "$ua" -o "$work/www/page.html" "$base/apps/bench/channels/beta"
gz=(-H 'Accept-Encoding: gzip')
curl -fsS -A "$ua" "${gz[@]}" -o "$work/www/page.html.gz" "$base/apps/bench/channels/beta"
gzip -t "$work/www/page.html.gz"
cat >"$work/nginx.conf" <<NGX
daemon on; pid $work/nginx.pid; error_log $work/nginx.err; user $(id -un);
worker_processes auto;
events { worker_connections 1024; }
http { access_log off; sendfile on; tcp_nopush on; open_file_cache max=64; open_file_cache_valid 60s; default_type application/octet-stream;
  types { application/json json; text/html html; }
  server { listen 127.0.0.1:$nport; root $work/www; gzip_static on; } }
NGX
nginx -c "$work/nginx.conf"; sleep 0.3
# Both answer 200 with the same bytes before anything is measured.
cmp <(curl -fsS "${auth[@]}" "$base/api/v1/apps/bench/channels/beta") "$work/www/lookup.json"
cmp <(curl -fsS -A "$ua" "$base/apps/bench/channels/beta") <(curl -fsS "http://127.0.0.1:$nport/page.html")
cmp <(curl -fsS -A "$ua" "${gz[@]}" "$base/apps/bench/channels/beta") <(curl -fsS "${gz[@]}" "http://127.0.0.1:$nport/page.html")
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# run URL [wrk args...]: prints "rps p99_ms"; stops the bench when any answer was not a 2xx
# (a rate of refusals measures nothing).
run() {
  local url=$1; shift
  local out
  out=$(wrk -t2 -c64 -d"${secs}s" --latency "$@" "$url")
  if grep -q "Non-2xx" <<<"$out"; then
    echo "not every answer of $url was 2xx:" >&2; echo "$out" >&2; exit 1
  fi
  awk '
    /Requests\/sec/ {rps=$2}
    /^ +99%/ {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; p99=v}
    END {print rps, p99}' <<<"$out"
}
declare -a d_look n_look d_page n_page d_look99 n_look99 d_page99 n_page99 d_gz n_gz d_gz99 n_gz99
for r in $(seq "$runs"); do
  read -r a b < <(run "$base/api/v1/apps/bench/channels/beta" -H "Authorization: Bearer $token"); d_look+=("$a"); d_look99+=("$b")
  read -r a b < <(run "http://127.0.0.1:$nport/lookup.json"); n_look+=("$a"); n_look99+=("$b")
  read -r a b < <(run "$base/apps/bench/channels/beta" -H "User-Agent: $ua"); d_page+=("$a"); d_page99+=("$b")
  read -r a b < <(run "http://127.0.0.1:$nport/page.html"); n_page+=("$a"); n_page99+=("$b")
  read -r a b < <(run "$base/apps/bench/channels/beta" -H "User-Agent: $ua" "${gz[@]}"); d_gz+=("$a"); d_gz99+=("$b")
  read -r a b < <(run "http://127.0.0.1:$nport/page.html" "${gz[@]}"); n_gz+=("$a"); n_gz99+=("$b")
  echo "round $r (load $(cut -d' ' -f1 /proc/loadavg)): lookup ${d_look[-1]} vs ${n_look[-1]}, page ${d_page[-1]} vs ${n_page[-1]}, gzipped page ${d_gz[-1]} vs ${n_gz[-1]} requests/s; p99 ms ${d_look99[-1]}/${n_look99[-1]}, ${d_page99[-1]}/${n_page99[-1]}, ${d_gz99[-1]}/${n_gz99[-1]}" >&2
done
echo "pages benchmark ($(nproc) cores, $(date -u '+%F %H:%M UTC'), load before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)): wrk -t2 -c64 -d${secs}s --latency, $runs alternating rounds, medians"
printf '  lookup JSON (%s bytes): distd %s, nginx %s requests/s, ratio %s; p99 worst distd %s ms, nginx %s ms\n' \
  "$(stat -c %s "$work/www/lookup.json")" "$(median "${d_look[@]}")" "$(median "${n_look[@]}")" \
  "$(ratio "$(median "${d_look[@]}")" "$(median "${n_look[@]}")")" "$(maxof "${d_look99[@]}")" "$(maxof "${n_look99[@]}")"
printf '  channel page (%s bytes): distd %s, nginx %s requests/s, ratio %s; p99 worst distd %s ms, nginx %s ms\n' \
  "$(stat -c %s "$work/www/page.html")" "$(median "${d_page[@]}")" "$(median "${n_page[@]}")" \
  "$(ratio "$(median "${d_page[@]}")" "$(median "${n_page[@]}")")" "$(maxof "${d_page99[@]}")" "$(maxof "${n_page99[@]}")"
printf '  channel page gzipped (%s bytes): distd %s, nginx %s requests/s, ratio %s; p99 worst distd %s ms, nginx %s ms\n' \
  "$(stat -c %s "$work/www/page.html.gz")" "$(median "${d_gz[@]}")" "$(median "${n_gz[@]}")" \
  "$(ratio "$(median "${d_gz[@]}")" "$(median "${n_gz[@]}")")" "$(maxof "${d_gz99[@]}")" "$(maxof "${n_gz99[@]}")"
printf '  p99 median of rounds: lookup distd %s ms, nginx %s ms; page distd %s, nginx %s; gzipped page distd %s, nginx %s\n' \
  "$(median "${d_look99[@]}")" "$(median "${n_look99[@]}")" "$(median "${d_page99[@]}")" "$(median "${n_page99[@]}")" \
  "$(median "${d_gz99[@]}")" "$(median "${n_gz99[@]}")"
