#!/usr/bin/env bash
# Server benchmark: prints, in one run on one machine,
#   - 1 GiB upload throughput through distd (hash, write, fsync, rename) vs `dd conv=fsync`,
#     the median of BENCH_RUNS alternating runs of each
#   - 1 GiB download throughput from distd vs nginx serving the same blob file (or curl from
#     the page cache when nginx is absent)
#   - requests per second of the channel lookup endpoint with 64 connections (wrk)
#   - distd resident memory while 4 uploads of 1 GiB run at once
# Usage: bench/serve.sh [WORKDIR]   (needs ~6 GiB free in WORKDIR; default a temp dir)
# Not a test: it prints figures. Installs wrk and nginx from apt when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=${1:-$(mktemp -d /var/tmp/dist-bench.XXXXXX)}
mkdir -p "$work"
port=${BENCH_PORT:-18480}
base="http://127.0.0.1:$port"

need() { command -v "$1" >/dev/null || { apt-get update -qq >/dev/null && apt-get install -y -qq "$2" >/dev/null; }; }
need wrk wrk
need nginx nginx || true

now() { date +%s.%N; }
mbps() { python3 -c "import sys; print(f'{$1/1048576/($3-$2):.0f}')"; }

echo "building release binaries..." >&2
cargo build -q --release -p server -p cli
distd=$root/target/release/distd

rm -rf "$work/data"
"$distd" serve --data "$work/data" --listen "127.0.0.1:$port" >"$work/distd.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; [ -n "${ngx:-}" ] && nginx -c "$work/nginx.conf" -s stop 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.1; done
token=$(cat "$work/data/initial-admin-token")
auth=(-H "Authorization: Bearer $token")

# A 1 GiB APK-shaped file (a real small APK's manifest plus a large stored asset), so the
# server recognises it and the download route can serve it.
big=$work/big.apk
if [ ! -s "$big" ]; then
  echo "making a 1 GiB artifact..." >&2
  python3 - "$big" "$root" <<'PY'
import os, sys, zipfile, glob
out, root = sys.argv[1], sys.argv[2]
src = sorted(glob.glob(os.path.join(root, "fixtures/android/*.apk")))
if not src:
    sys.exit("no fixture APK under fixtures/android")
with zipfile.ZipFile(src[0]) as z, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as w:
    for n in ("AndroidManifest.xml", "classes.dex", "resources.arsc"):
        if n in z.namelist():
            w.writestr(n, z.read(n))
    with w.open("assets/big.bin", "w", force_zip64=True) as f:
        block = os.urandom(1 << 20)
        for i in range(1023):
            f.write(block[:-8] + i.to_bytes(8, "little"))
PY
fi
size=$(stat -c %s "$big")
sha=$(sha256sum "$big" | cut -d' ' -f1)
cat "$big" >/dev/null  # page cache, for both contenders

# Blobs are owned per app: the app the uploads are for.
curl -fsS -o /dev/null "${auth[@]}" -H 'content-type: application/json' \
  -d '{"slug":"bench","name":"Bench"}' "$base/api/v1/apps" || true

# --- upload ---
# Alternating runs (BENCH_RUNS, default 5), medians compared: one run on a shared machine
# moves by a third either way.
runs=${BENCH_RUNS:-5}
dd_all=(); up_all=()
blob_path=$work/data/blobs/sha256/${sha:0:2}/$sha
for r in $(seq "$runs"); do
  t0=$(now); dd if="$big" of="$work/dd.out" bs=1M conv=fsync status=none; t1=$(now)
  dd_all+=("$(mbps "$size" "$t0" "$t1")"); rm -f "$work/dd.out"
  # Nothing refers to the blob yet, so removing it between runs makes the next one a full upload.
  rm -f "$blob_path"
  t0=$(now)
  curl -fsS -o /dev/null -T "$big" "${auth[@]}" -H "Upload-Length: $size" "$base/api/v1/blobs/sha256/$sha?app=bench"
  t1=$(now)
  up_all+=("$(mbps "$size" "$t0" "$t1")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
dd_mbps=$(median "${dd_all[@]}"); up_mbps=$(median "${up_all[@]}")

# --- a release holding it, so it can be downloaded and looked up through a channel ---
rel=$(curl -fsS "${auth[@]}" -H 'content-type: application/json' \
  -d "{\"version\":\"1.0\",\"build\":\"1\",\"artifacts\":[{\"file_name\":\"big.apk\",\"sha256\":\"$sha\",\"size\":$size}]}" \
  "$base/api/v1/apps/bench/releases")
rel_id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["release"]["id"])' "$rel")
art_id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["release"]["artifacts"][0]["id"])' "$rel")
curl -fsS -o /dev/null -X POST "${auth[@]}" "$base/api/v1/artifacts/$art_id/attach"

# --- download ---
# Both contenders serve the stored blob itself, read once first: it was written with O_DIRECT,
# so it is not in the page cache yet, and neither side should pay for the disk.
blob=$work/data/blobs/sha256/${sha:0:2}/$sha
cat "$blob" >/dev/null
t0=$(now); curl -fsS -o /dev/null "${auth[@]}" "$base/api/v1/artifacts/$art_id/download"; t1=$(now)
down_mbps=$(mbps "$size" "$t0" "$t1")
if command -v nginx >/dev/null; then
  cat >"$work/nginx.conf" <<NGX
daemon on; pid $work/nginx.pid; error_log $work/nginx.err;
events {}
http { access_log off; sendfile on;
  server { listen 127.0.0.1:$((port+1)); root $work/data/blobs; } }
NGX
  nginx -c "$work/nginx.conf"; ngx=1; sleep 0.3
  t0=$(now); curl -fsS -o /dev/null "http://127.0.0.1:$((port+1))/sha256/${sha:0:2}/$sha"; t1=$(now)
  ref_name=nginx
else
  t0=$(now); curl -fsS -o /dev/null "file://$blob"; t1=$(now)
  ref_name="curl file:// (page cache)"
fi
ref_mbps=$(mbps "$size" "$t0" "$t1")

# --- channel lookup rps ---
# The 1 GiB file is unsigned, so it cannot be published; the channel is created through its
# policy (no release) and the lookup of that channel is what is measured.
curl -fsS -o /dev/null -X PUT "${auth[@]}" -H 'content-type: application/json' -d '{}' \
  "$base/api/v1/apps/bench/channels/beta/policy"
rps=$(wrk -t2 -c64 -d10s -H "Authorization: Bearer $token" "$base/api/v1/apps/bench/channels/beta" \
  | awk '/Requests\/sec/ {print $2}')

# --- memory while 4 uploads of 1 GiB run at once ---
for i in 1 2 3 4; do
  f=$work/up$i.bin; [ -s "$f" ] || { printf '%016d' "$i" >"$f"; head -c $((size - 16)) "$big" >>"$f"; }
done
peak=0
pids=()
for i in 1 2 3 4; do
  f=$work/up$i.bin; s=$(sha256sum "$f" | cut -d' ' -f1)
  curl -fsS -o /dev/null -T "$f" "${auth[@]}" -H "Upload-Length: $size" "$base/api/v1/blobs/sha256/$s?app=bench" & pids+=($!)
done
while kill -0 "${pids[@]}" 2>/dev/null; do
  rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status); [ "$rss" -gt "$peak" ] && peak=$rss; sleep 0.1
done
wait "${pids[@]}"

echo "distd benchmark ($(nproc) cores, $(date -u +%F))"
printf '  upload 1 GiB:    distd %s MiB/s   dd conv=fsync %s MiB/s   ratio %s   (medians of %s runs)\n' \
  "$up_mbps" "$dd_mbps" "$(python3 -c "print(f'{$up_mbps/$dd_mbps:.2f}')")" "$runs"
printf '                   distd runs: %s   dd runs: %s\n' "${up_all[*]}" "${dd_all[*]}"
printf '  download 1 GiB:  distd %s MiB/s   %s %s MiB/s   ratio %s\n' "$down_mbps" "$ref_name" "$ref_mbps" \
  "$(python3 -c "print(f'{$down_mbps/$ref_mbps:.2f}')")"
printf '  channel lookup:  %s requests/s (GET /api/v1/apps/bench/channels/beta, wrk, 64 connections, 10 s)\n' "$rps"
printf '  distd RSS during 4 concurrent 1 GiB uploads: peak %s MiB\n' "$((peak / 1024))"
