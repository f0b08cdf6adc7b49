#!/usr/bin/env bash
# Server benchmark: prints, in one run on one machine, for each figure the median and spread
# (min-max) of BENCH_RUNS alternating runs (default 5):
#   - upload of a 1 GiB file through distd (hash, write, fsync, rename), once per upload write
#     strategy (DIST_UPLOAD_WRITES), against `dd conv=fsync` of the same file on the same disk
#     and the single-core SHA-256 speed (`sha256sum` of the cached file); the goal is the lower
#     of the two. Run on every disk named in BENCH_DISKS ("label=DIR ...", default the work dir)
#   - download of the 1 GiB blob from distd against nginx sendfile serving the same file, plain
#     HTTP on loopback (or curl from the page cache when nginx is absent)
#   - requests per second of the channel lookup endpoint with 64 connections (wrk)
#   - distd resident memory while 4 uploads of 1 GiB and 4 downloads run at once
# Usage: bench/serve.sh [WORKDIR]
#   BENCH_MIB     size of the file moved (default 1024)
#   BENCH_DISKS   "label=DIR ..." where uploads are measured (default "data-disk=WORKDIR"); each
#                 needs twice the size free (one dd file or one blob at a time)
#   BENCH_SRC     where the client's files live (default WORKDIR; read from the page cache)
#   BENCH_MAIN    data folder of the distd serving downloads and lookups (default WORKDIR/data;
#                 holds 5 files of the size for the memory figure)
# Not a test: it prints figures. Installs wrk and nginx from apt when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=${1:-$(mktemp -d /var/tmp/dist-bench.XXXXXX)}
mkdir -p "$work"
port=${BENCH_PORT:-18480}
base="http://127.0.0.1:$port"
runs=${BENCH_RUNS:-5}
mib=${BENCH_MIB:-1024}
src=${BENCH_SRC:-$work}
main=${BENCH_MAIN:-$work/data}
mkdir -p "$src"
disks=${BENCH_DISKS:-"data-disk=$work"}
strategies=${BENCH_WRITES:-"write-behind direct"}

need() { command -v "$1" >/dev/null || { apt-get update -qq >/dev/null && apt-get install -y -qq "$2" >/dev/null; }; }
need wrk wrk
need nginx nginx-light || true

now() { date +%s.%N; }
mbps() { python3 -c "import sys; print(f'{$1/1048576/($3-$2):.0f}')"; }
# "median (min-max)" of the numbers given.
stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "%s (%s-%s)", a[int((NR+1)/2)], a[1], a[NR]}'; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

echo "building release binaries..." >&2
cargo build -q --release -p server -p cli
distd=$root/target/release/distd

pids=()
ngx=
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; [ -n "$ngx" ] && nginx -c "$work/nginx.conf" -s stop 2>/dev/null || true' EXIT
# start_distd DATA PORT [ENV=VALUE...]: a distd of its own; sets $pid and $token.
start_distd() {
  local data=$1 p=$2; shift 2
  rm -rf "$data"
  # The per-upload debug line says how long the body took and how much of it was hashing.
  env DIST_LOG=info,server::blobs=debug "$@" "$distd" serve --data "$data" --listen "127.0.0.1:$p" >"$data.log" 2>&1 &
  pid=$!; pids+=("$pid")
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$p/healthz" >/dev/null && break; sleep 0.1; done
  token=$(cat "$data/initial-admin-token")
  # Blobs are owned per app: the app the uploads are for.
  curl -fsS -o /dev/null -H "Authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"slug":"bench","name":"Bench"}' "http://127.0.0.1:$p/api/v1/apps"
}

# A 1 GiB APK-shaped file (a real small APK's manifest plus a large stored asset), so the
# server recognises it and the download route can serve it.
big=$src/big-$mib.apk
if [ ! -s "$big" ]; then
  echo "making a $mib MiB artifact..." >&2
  python3 - "$big" "$root" "$mib" <<'PY'
import os, sys, zipfile, glob
out, root, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
src = sorted(glob.glob(os.path.join(root, "fixtures/android/*.apk")))
if not src:
    sys.exit("no fixture APK under fixtures/android")
with zipfile.ZipFile(src[0]) as z, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as w:
    for n in ("AndroidManifest.xml", "classes.dex", "resources.arsc"):
        if n in z.namelist():
            w.writestr(n, z.read(n))
    with w.open("assets/big.bin", "w", force_zip64=True) as f:
        block = os.urandom(1 << 20)
        for i in range(mib - 1):
            f.write(block[:-8] + i.to_bytes(8, "little"))
PY
fi
size=$(stat -c %s "$big")
sha=$(sha256sum "$big" | cut -d' ' -f1)
cat "$big" >/dev/null  # page cache, for every contender
load_before=$(cut -d" " -f1-3 /proc/loadavg)


# The single-core SHA-256 ceiling: the cached file hashed by one process, with the CPU's SHA
# instructions where it has them (as distd's hasher uses them); coreutils' sha256sum may not.
hash_cmd="openssl dgst -sha256"
command -v openssl >/dev/null || hash_cmd=sha256sum
sha_all=()
for r in $(seq "$runs"); do
  t0=$(now); $hash_cmd "$big" >/dev/null; t1=$(now); sha_all+=("$(mbps "$size" "$t0" "$t1")")
done
sha_mbps=$(median "${sha_all[@]}")

# --- upload, per disk: dd and each write strategy, alternating ---
upload_lines=()
for d in $disks; do
  label=${d%%=*}; dir=${d#*=}
  mkdir -p "$dir"
  dev=$(df --output=source "$dir" | tail -1)
  declare -A ports=() tokens=() up_runs=()
  i=0
  for w in $strategies; do
    i=$((i + 1)); ports[$w]=$((port + 10 + i))
    start_distd "$dir/bench-data-$w" "${ports[$w]}" "DIST_UPLOAD_WRITES=$w"
    tokens[$w]=$token; up_runs[$w]=""
  done
  dd_all=()
  for r in $(seq "$runs"); do
    t0=$(now); dd if="$big" of="$dir/dd.out" bs=1M conv=fsync status=none; t1=$(now)
    dd_all+=("$(mbps "$size" "$t0" "$t1")"); rm -f "$dir/dd.out"
    for w in $strategies; do
      t0=$(now)
      curl -fsS -o /dev/null -T "$big" -H "Authorization: Bearer ${tokens[$w]}" -H "Upload-Length: $size" \
        "http://127.0.0.1:${ports[$w]}/api/v1/blobs/sha256/$sha?app=bench"
      t1=$(now)
      up_runs[$w]+=" $(mbps "$size" "$t0" "$t1")"
      # Nothing refers to the blob yet, so removing it makes the next run a full upload.
      rm -f "$dir/bench-data-$w/blobs/sha256/${sha:0:2}/$sha"
    done
  done
  dd_mbps=$(median "${dd_all[@]}")
  goal=$(python3 -c "print(min($dd_mbps, $sha_mbps))")
  upload_lines+=("  upload $mib MiB, $label ($dir on $dev):")
  upload_lines+=("    dd conv=fsync        $(stats "${dd_all[@]}") MiB/s")
  for w in $strategies; do
    # shellcheck disable=SC2086
    m=$(median ${up_runs[$w]})
    # shellcheck disable=SC2086
    upload_lines+=("    distd $(printf '%-14s' "$w") $(stats ${up_runs[$w]}) MiB/s   ratio to min(dd, sha256) = $(ratio "$m" "$goal")")
  done
  printf '%s\n' "${upload_lines[@]: -$(( $(wc -w <<<"$strategies") + 2 ))}" >&2  # as it goes
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  pids=()
  for w in $strategies; do rm -rf "$dir/bench-data-$w"; done
done

# --- the distd that serves downloads, lookups and the memory figure (work dir, defaults) ---
start_distd "$main" "$port"
auth=(-H "Authorization: Bearer $token")
curl -fsS -o /dev/null -T "$big" "${auth[@]}" -H "Upload-Length: $size" "$base/api/v1/blobs/sha256/$sha?app=bench"

# --- a release holding it, so it can be downloaded and looked up through a channel ---
rel=$(curl -fsS "${auth[@]}" -H 'content-type: application/json' \
  -d "{\"version\":\"1.0\",\"build\":\"1\",\"artifacts\":[{\"file_name\":\"big.apk\",\"sha256\":\"$sha\",\"size\":$size}]}" \
  "$base/api/v1/apps/bench/releases")
art_id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["release"]["artifacts"][0]["id"])' "$rel")
curl -fsS -o /dev/null -X POST "${auth[@]}" "$base/api/v1/artifacts/$art_id/attach"

# --- download: both contenders serve the stored blob itself, from the page cache ---
blob=$main/blobs/sha256/${sha:0:2}/$sha
cat "$blob" >/dev/null
if command -v nginx >/dev/null; then
  cat >"$work/nginx.conf" <<NGX
daemon on; pid $work/nginx.pid; error_log $work/nginx.err; user $(id -un);
events {}
http { access_log off; sendfile on;
  server { listen 127.0.0.1:$((port+1)); root $main/blobs; } }
NGX
  nginx -c "$work/nginx.conf"; ngx=1; sleep 0.3
  ref_name="nginx sendfile"; ref_url="http://127.0.0.1:$((port+1))/sha256/${sha:0:2}/$sha"
else
  ref_name="curl file:// (page cache)"; ref_url="file://$blob"
fi
down_all=(); ref_all=()
for r in $(seq "$runs"); do
  t0=$(now); curl -fsS -o /dev/null "${auth[@]}" "$base/api/v1/artifacts/$art_id/download"; t1=$(now)
  down_all+=("$(mbps "$size" "$t0" "$t1")")
  t0=$(now); curl -fsS -o /dev/null "$ref_url"; t1=$(now)
  ref_all+=("$(mbps "$size" "$t0" "$t1")")
done
down_mbps=$(median "${down_all[@]}"); ref_mbps=$(median "${ref_all[@]}")

# --- channel lookup rps ---
# The 1 GiB file is unsigned, so it cannot be published; the channel is created through its
# policy (no release) and the lookup of that channel is what is measured.
curl -fsS -o /dev/null -X PUT "${auth[@]}" -H 'content-type: application/json' -d '{}' \
  "$base/api/v1/apps/bench/channels/beta/policy"
rps=$(wrk -t2 -c64 -d10s -H "Authorization: Bearer $token" "$base/api/v1/apps/bench/channels/beta" \
  | awk '/Requests\/sec/ {print $2}')

# --- memory while 4 uploads of 1 GiB and 4 downloads run at once ---
for i in 1 2 3 4; do
  f=$src/up$i-$mib.bin; [ -s "$f" ] || { printf '%016d' "$i" >"$f"; head -c $((size - 16)) "$big" >>"$f"; }
done
peak=0
load=()
for i in 1 2 3 4; do
  f=$src/up$i-$mib.bin; s=$(sha256sum "$f" | cut -d' ' -f1)
  curl -fsS -o /dev/null -T "$f" "${auth[@]}" -H "Upload-Length: $size" "$base/api/v1/blobs/sha256/$s?app=bench" & load+=($!)
  curl -fsS -o /dev/null "${auth[@]}" "$base/api/v1/artifacts/$art_id/download" & load+=($!)
done
while kill -0 "${load[@]}" 2>/dev/null; do
  rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status); [ "$rss" -gt "$peak" ] && peak=$rss; sleep 0.1
done
wait "${load[@]}"

echo "distd benchmark ($(nproc) cores, $(date -u '+%F %H:%M UTC'), load before: $load_before)"
echo "  figures: median (min-max) of $runs alternating runs, MiB/s"
echo "  file: $mib MiB; SHA-256 ceiling ($hash_cmd, one core) $(stats "${sha_all[@]}") MiB/s"
printf '%s\n' "${upload_lines[@]}"
echo "  download $mib MiB, loopback ($main on $(df --output=source "$main" | tail -1)):"
echo "    $(printf '%-20s' "$ref_name") $(stats "${ref_all[@]}") MiB/s"
echo "    distd                $(stats "${down_all[@]}") MiB/s   ratio $(ratio "$down_mbps" "$ref_mbps")"
printf '  channel lookup:  %s requests/s (GET /api/v1/apps/bench/channels/beta, wrk, 64 connections, 10 s)\n' "$rps"
printf "  distd RSS during 4 concurrent $mib MiB uploads and 4 downloads: peak %s MiB\n" "$((peak / 1024))"
