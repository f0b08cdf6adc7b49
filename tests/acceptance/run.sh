#!/usr/bin/env bash
# Issue 23, acceptance: the four uses end to end, on the image, on one mixed release. Run by
# tests/docker/run.sh once the image is built, with its dockerd and network namespace:
#
#   DOCKER=/usr/bin/docker DOCKER_HOST=unix://... DIST_NETNS=<namespace> \
#     DIST_IMAGE=distd:<version>-<commit> DIST_RUST_TARGET=x86_64-unknown-linux-musl \
#     tests/acceptance/run.sh
#
# It runs the README's quick start: the commands of the blocks marked `<!-- quickstart: NAME -->`,
# read from README.md (not copied here), in the README's order, and between them checks what
# they did with tests/acceptance/check.py:
#   1. start the image as the NAS guide does; tokens; `dist ci publish` of the mixed release of
#      tests/acceptance/fixtures.list (a CI token that creates the app), checked field by field;
#      a second build the same way;
#   2. the channel page in chromium as each device class, screenshots in $DIST_ACCEPTANCE_SHOTS
#      (default target/acceptance/screenshots, printed);
#   3. the admin console: sign in, findings, diff, promote to stable, roll back, audit log and
#      its chain; `dist audit verify`;
#   4. every file through /d/ by platform, arch and kind, digests compared;
#   5. `docker restart`, then 4 again.
#
# The toy target (testkit/toy-target) must show in the publish, /d/, the pages, the console and
# /api/v1/platforms. Release binaries never link it (targets-all's `toy` feature), so the image
# the README's `docker run` starts here is the production image plus one layer holding distd
# and dist built with that feature (tests/acceptance/Dockerfile); the test tags it distd:latest
# in its own dockerd, which it deletes when it ends. The production image is never rebuilt.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
fail() { echo "FAIL: acceptance: $*" >&2; exit 1; }
step() { echo "== acceptance: $*"; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }
: "${DOCKER:?}" "${DOCKER_HOST:?}" "${DIST_NETNS:?}" "${DIST_IMAGE:?}" "${DIST_RUST_TARGET:?}"
export DIST_CORPUS="$(realpath -m "${DIST_CORPUS:-$root/../shared/fixtures/real}")"
shots=${DIST_ACCEPTANCE_SHOTS:-$root/target/acceptance/screenshots}
list=tests/acceptance/fixtures.list
check() { /usr/bin/python3 "$root/tests/acceptance/check.py" "$@"; }

if [ "${1:-}" != --in-netns ]; then
  t_all=$(now)
  for c in chromium chromedriver jq curl; do
    command -v $c >/dev/null || fail "$c is missing (.ci/run and tests/docker/run.sh install it)"
  done
  /usr/bin/python3 -c 'import selenium' || fail "python3-selenium is missing (.ci/run installs it)"

  step "distd and dist with the toy target ($DIST_RUST_TARGET), and the image's test layer"
  t=$(now)
  # The flags build-image.sh gives its build, plus the toy feature: cargo keeps both builds.
  env=(DIST_COMMIT="$("$DOCKER" image inspect -f '{{index .Config.Labels "org.opencontainers.image.revision"}}' "$DIST_IMAGE")")
  case $DIST_RUST_TARGET in
    *-musl) env+=(CC_x86_64_unknown_linux_musl=musl-gcc) ;;
    *) env+=(RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static") ;;
  esac
  env "${env[@]}" cargo build --release --locked --target "$DIST_RUST_TARGET" -p server -p cli \
    --features dist-targets/toy
  ctx=$(mktemp -d /tmp/dist-acceptance-image.XXXXXX)
  for b in distd dist; do
    cp "target/$DIST_RUST_TARGET/release/$b" "$ctx/$b"
    strip "$ctx/$b"
  done
  DOCKER_BUILDKIT=1 "$DOCKER" build -q --build-arg BASE="$DIST_IMAGE" -t distd:acceptance \
    -f tests/acceptance/Dockerfile "$ctx" >/dev/null
  "$DOCKER" tag distd:acceptance distd:latest
  mkdir -p "$ctx/bin"
  mv "$ctx/dist" "$ctx/bin/dist"
  rm "$ctx/distd"
  echo "toy build and test layer: $(since "$t") s"
  export DIST_ACCEPTANCE_BIN=$ctx/bin DIST_ACCEPTANCE_T0=$t_all
  # Everything else runs in the docker test's network namespace, where 127.0.0.1:8080 is free.
  status=0
  nsenter --net="/var/run/netns/$DIST_NETNS" "$0" --in-netns || status=$?
  rm -rf "$ctx"
  exit $status
fi

# --- In the network namespace ----------------------------------------------------------------
qs_dir=$(mktemp -d /tmp/dist-quickstart.XXXXXX)
cleanup() {
  "$DOCKER" rm -f distd >/dev/null 2>&1
  rm -rf "$qs_dir"
}
trap cleanup EXIT
# The README's commands find dist, docker and sudo on PATH as a user's shell would.
ln -s "$DOCKER" "$DIST_ACCEPTANCE_BIN/docker"
if ! command -v sudo >/dev/null; then
  [ "$(id -u)" = 0 ] || fail "no sudo and not root"
  printf '#!/bin/sh\nexec "$@"\n' >"$DIST_ACCEPTANCE_BIN/sudo"
  chmod +x "$DIST_ACCEPTANCE_BIN/sudo"
fi
export PATH="$DIST_ACCEPTANCE_BIN:$PATH" NO_COLOR=1
unset DIST_SERVER DIST_TOKEN

# The block after `<!-- quickstart: NAME -->` in README.md, without its fences.
block() {
  awk -v name="$1" '
    $0 == "<!-- quickstart: " name " -->" { found = 1; next }
    found && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }
  ' "$root/README.md"
}
# Runs a README block in this shell (its exports stay), echoing it first.
qs() {
  local text
  text=$(block "$1")
  [ -n "$text" ] || fail "README.md has no block marked quickstart: $1"
  sed 's/^/  $ /' <<<"$text" >&2
  eval "$text"
}
cd "$qs_dir"

step "1. start the image as the NAS guide does, tokens, publish (README quick start 1-3)"
t=$(now)
qs start
qs tokens
[ -s ci-token ] && [ -n "${DIST_TOKEN:-}" ] || fail "the tokens block made no tokens"
[ ! -e dist-data/initial-admin-token ] || fail "initial-admin-token is still there"
check platforms
check job "$root/$list" . 1.0.0 1
qs publish
cp publish.json publish-1.json
check publish "$root/$list" publish-1.json
# The next build: the toy file changes (the other files are the same bytes).
check job "$root/$list" . 1.0.1 2
qs publish
cp publish.json publish-2.json
check publish "$root/$list" publish-2.json publish-1.json
rel1=$(jq -r .release.id publish-1.json)
rel2=$(jq -r .release.id publish-2.json)
t_publish=$(since "$t")

step "2. the channel page in chromium as each device class (README quick start 4)"
t=$(now)
qs page >page-url
url=$(cat page-url)
case $url in "$DIST_SERVER/apps/acme/channels/beta?token=dist_"*) ;; *) fail "the page block printed $url" ;; esac
rm -rf "$shots"
check pages "$url" "$shots"
echo "screenshots: $shots"
t_pages=$(since "$t")

step "3. the admin console: findings, diff, promote, roll back, audit (README quick start 5)"
t=$(now)
check console "$rel1" "$rel2"
qs audit
t_console=$(since "$t")

# Every file of both releases through /d/, by the README's download command: beta ships build
# 2, stable (rolled back) build 1. The block's first line names what to fetch; the rest is run
# as written.
downloads() {
  local text fetch n=0 ch pub
  text=$(block download)
  [ "$(head -1 <<<"$text" | cut -d' ' -f1)" = "channel=beta" ] || fail "the download block does not start with channel=..."
  fetch=$(tail -n +2 <<<"$text")
  for pair in beta:publish-2.json stable:publish-1.json; do
    ch=${pair%%:*} pub=${pair#*:}
    while read -r platform kind arch sha; do
      [ "$arch" = - ] && arch=""
      got=$(channel=$ch platform=$platform arch=$arch kind=$kind; eval "$fetch" | cut -d' ' -f1) ||
        fail "/d/acme/$ch/$platform${arch:+/$arch}?kind=$kind failed"
      [ "$got" = "$sha" ] || fail "/d/acme/$ch/$platform${arch:+/$arch}?kind=$kind: sha256 $got, want $sha"
      n=$((n + 1))
    done < <(paste <(jq -r '.artifacts[] | "\(.platform) \(.kind) \(.sha256)"' "$pub") \
                   <(grep -v '^#' "$root/$list" | awk 'NF {print $4}') |
             awk '$3 != "null" {print $1, $2, $4, $3}')
  done
  # Without a credential a channel URL of this (token-access) app is refused.
  code=$(curl -s -o /dev/null -w '%{http_code}' "$DIST_SERVER/d/acme/beta/toy")
  [ "$code" = 401 ] || fail "/d/acme/beta/toy without a token answered $code, want 401"
  echo "ok: $n files through /d/ (beta and stable), digests equal; 401 without a token"
}

step "4. every file through /d/ by platform, arch and kind (README quick start 6)"
t=$(now)
downloads
t_downloads=$(since "$t")

step "5. docker restart, then 4 again (README quick start 7)"
t=$(now)
qs restart
downloads
qs audit
"$DOCKER" exec distd distd fsck >/dev/null || fail "distd fsck after the restart"
t_restart=$(since "$t")

step "figures"
echo "start, tokens, two publishes: $t_publish s; pages: $t_pages s; console: $t_console s"
echo "downloads: $t_downloads s; restart and downloads: $t_restart s"
echo "acceptance in all (toy build included): $(since "$DIST_ACCEPTANCE_T0") s"
echo "acceptance passed"
