#!/usr/bin/env bash
# Builds the image: static distd and dist for linux/amd64, the staging folder target/image/,
# the image distd:<version>-<commit> (also tagged distd:latest), and a `docker save` tarball
# target/image/distd-<version>-<commit>-amd64.tar.gz that a NAS without registry access can
# `docker load -i`.
#
#   scripts/build-image.sh              # all of it
#   scripts/build-image.sh --no-save    # skip the tarball
#
# Static binaries: the x86_64-unknown-linux-musl target with Debian's musl-tools (musl-gcc builds
# the bundled SQLite) when both are here; else glibc with -C target-feature=+crt-static.
# Environment: DOCKER (the docker client, default `docker`; it needs BuildKit, e.g. Debian's
# /usr/bin/docker with DOCKER_BUILDKIT=1), IMAGE (the repository name, default distd).
set -euo pipefail
cd "$(dirname "$0")/.."

save=1
for a in "$@"; do
  case "$a" in
    --no-save) save=0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "build-image.sh: unknown option $a (try --help)" >&2; exit 2 ;;
  esac
done
DOCKER=${DOCKER:-docker}
IMAGE=${IMAGE:-distd}

version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  commit="$commit-dirty"
fi
tag="$version-$commit"
export DIST_COMMIT="$commit"   # the binaries' --version says the same as the tag

# 1. Static binaries.
musl=x86_64-unknown-linux-musl
if rustup target list --installed 2>/dev/null | grep -qx "$musl" && command -v musl-gcc >/dev/null; then
  target=$musl
  echo "== static binaries: $target (musl-gcc for the bundled SQLite)"
  CC_x86_64_unknown_linux_musl=musl-gcc \
    cargo build --release --locked --target "$target" -p server -p cli
else
  target=x86_64-unknown-linux-gnu
  echo "== static binaries: $target with crt-static (no musl target or no musl-gcc here;" \
       "'rustup target add $musl' and Debian's musl-tools give the musl build)"
  RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
    cargo build --release --locked --target "$target" -p server -p cli
fi
bin=target/$target/release
for b in distd dist; do
  if readelf -lW "$bin/$b" | grep -q 'program interpreter'; then
    echo "build-image.sh: $bin/$b is dynamically linked; the image has no libc" >&2
    exit 1
  fi
done

# 2. Staging folder: everything the image holds.
stage=target/image
rm -rf "$stage/rootfs" "$stage/data"
mkdir -p "$stage/rootfs/usr/local/bin" "$stage/rootfs/etc/ssl/certs" "$stage/rootfs/tmp" "$stage/data"
for b in distd dist; do
  cp "$bin/$b" "$stage/rootfs/usr/local/bin/$b"
  strip "$stage/rootfs/usr/local/bin/$b"
done
ca=/etc/ssl/certs/ca-certificates.crt
if [ ! -s "$ca" ]; then
  echo "build-image.sh: $ca is missing; install Debian's ca-certificates" >&2
  exit 1
fi
cp "$ca" "$stage/rootfs/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\ndist:x:10001:10001:dist:/data:/sbin/nologin\n' >"$stage/rootfs/etc/passwd"
printf 'root:x:0:\ndist:x:10001:\n' >"$stage/rootfs/etc/group"
chmod 1777 "$stage/rootfs/tmp"
chmod 0755 "$stage/rootfs/usr/local/bin/"*

# 3. The image.
echo "== image $IMAGE:$tag"
source_url=$(git remote get-url origin 2>/dev/null || echo unknown)
DOCKER_BUILDKIT=1 "$DOCKER" build \
  --build-arg VERSION="$version" \
  --build-arg COMMIT="$commit" \
  --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --build-arg SOURCE="$source_url" \
  -t "$IMAGE:$tag" -t "$IMAGE:latest" .
size=$("$DOCKER" image inspect -f '{{.Size}}' "$IMAGE:$tag")
echo "image $IMAGE:$tag: $size bytes ($((size / 1024 / 1024)) MiB)"

# 4. The tarball for `docker load`.
if [ "$save" = 1 ]; then
  out="$stage/$IMAGE-$tag-amd64.tar.gz"
  "$DOCKER" save "$IMAGE:$tag" | gzip -6 >"$out"
  echo "wrote $out ($(stat -c %s "$out") bytes); on the NAS: docker load -i $(basename "$out")"
fi
