#!/usr/bin/env bash
# Build the offline container images of the LLM gateway on a machine that reaches Debian's apt mirror,
# PyPI and npm but no container registry.
#
# Usage (as root, from any directory):
#   images/build.sh [--force] [IMAGE ...]
# IMAGE is one of: base postgres phoenix litellm haproxy redis fake-openai reasoning-api (default: all of them, base
# first), or litellm-previous: LiteLLM's earlier release, the rolling-upgrade test's starting point (images/litellm
# built with LITELLM_VERSION), made only when named.
# An image whose exact tag already exists, built from the same inputs, is skipped unless --force is given.
# --force rebuilds the named images (or all service images); it rebuilds the base image only when "base" is named explicitly, because
# a new base invalidates the layer cache of every other image.
#
# Environment:
#   FAKE_OPENAI_SERVER  path of the fake OpenAI server copied into the fake-openai image
#                       (default: <repo>/tests/fake_openai/server.py)
#   DEBIAN_MIRROR       Debian mirror for debootstrap (default: read from the host's apt sources)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")

BASE_TAG=local/debian:bookworm
declare -A TAG=(
  [base]=$BASE_TAG
  [postgres]=llm-gateway-offline/postgres:15
  [phoenix]=llm-gateway-offline/phoenix:20.26.1
  [litellm]=llm-gateway-offline/litellm:1.108.7
  [litellm-previous]=llm-gateway-offline/litellm:1.106.12
  [haproxy]=llm-gateway-offline/haproxy:2.6
  [redis]=llm-gateway-offline/redis:7.0
  [fake-openai]=llm-gateway-offline/fake-openai:1
  [reasoning-api]=llm-gateway-offline/reasoning-api:0.1.0
)
ALL=(base postgres phoenix litellm haproxy redis fake-openai reasoning-api)
# The build context of an image is images/<name>, except the app's (app/, built once here for hosts that pull
# images from a registry instead of building the app themselves) and LiteLLM's earlier release (images/litellm with
# another LITELLM_VERSION). The app's folder also holds its tests and docs, so only what its Dockerfile copies decides
# whether the image is stale.
declare -A CONTEXT=([reasoning-api]=$repo/app [litellm-previous]=$here/litellm)
declare -A INPUTS=([reasoning-api]="Dockerfile .dockerignore requirements.txt src")
declare -A BUILD_ARGS=([litellm-previous]="--build-arg LITELLM_VERSION=1.106.12")
HOST_CA=/etc/ssl/certs/ca-certificates.crt
FAKE_OPENAI_SERVER=${FAKE_OPENAI_SERVER:-$repo/tests/fake_openai/server.py}

log() { printf '[build.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() { sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

force=0
names=()
for arg in "$@"; do
  case $arg in
    --force|-f) force=1 ;;
    -h|--help) usage; exit 0 ;;
    -*) usage >&2; die "unknown option: $arg" ;;
    *) [[ -n ${TAG[$arg]+x} ]] || die "unknown image: $arg (known: ${!TAG[*]})"; names+=("$arg") ;;
  esac
done
explicit=1
if [[ ${#names[@]} -eq 0 ]]; then names=("${ALL[@]}"); explicit=0; fi

[[ $(id -u) -eq 0 ]] || die "run as root (debootstrap and docker need it)"
command -v docker >/dev/null || die "docker client not found"
docker info >/dev/null 2>&1 || die "docker daemon not reachable"

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# Files to remove on exit (the CA bundle copies and the fake server copy), whatever happens.
cleanup_files=()
cleanup_dirs=()
cleanup() {
  local f
  for f in "${cleanup_files[@]+"${cleanup_files[@]}"}"; do rm -f -- "$f"; done
  for f in "${cleanup_dirs[@]+"${cleanup_dirs[@]}"}"; do
    # an interrupted debootstrap can leave proc/sys mounted in the root file system
    awk -v d="$f/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf --one-file-system -- "$f" "$f.log"
  done
}
trap cleanup EXIT

# The Debian mirror of the host's apt sources (deb822 .sources first, then one-line .list files).
debian_mirror() {
  if [[ -n ${DEBIAN_MIRROR:-} ]]; then echo "$DEBIAN_MIRROR"; return; fi
  local f url
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    # first URI of a stanza whose Suites list the plain "bookworm" suite
    url=$(awk '
      function flush() { if (uri != "" && suites ~ /(^| )bookworm( |$)/ && !found) { print uri; found = 1 } uri = ""; suites = "" }
      /^[[:space:]]*$/ { flush(); next }
      /^[[:space:]]*#/ { next }
      tolower($1) == "uris:"   { uri = $2 }
      tolower($1) == "suites:" { $1 = ""; suites = $0; sub(/^ +/, "", suites) }
      END { flush() }' "$f")
    if [[ -n $url ]]; then echo "$url"; return; fi
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    url=$(awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                             if ($(i+1) == "bookworm") { print $i; exit } }' "$f")
    if [[ -n $url ]]; then echo "$url"; return; fi
  done
  return 1
}

build_base() {
  if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  fi
  local mirror rootfs f
  mirror=$(debian_mirror) || die "no Debian bookworm mirror found in the host's apt sources (set DEBIAN_MIRROR)"
  log "debootstrap bookworm from $mirror"
  rootfs=$(mktemp -d /var/tmp/llm-gateway-rootfs.XXXXXX)
  cleanup_dirs+=("$rootfs")
  debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
    || { tail -n 30 "$rootfs.log" >&2; die "debootstrap failed"; }

  # The host's apt sources (active files only) and its apt.conf.d snippets that no host package owns
  # (machine settings such as mirror quirks; package-owned snippets belong to packages the image lacks).
  rm -f "$rootfs/etc/apt/sources.list"
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
    [[ -f $f && -s $f ]] || continue
    cp "$f" "$rootfs$f"
  done
  for f in /etc/apt/apt.conf.d/*; do
    [[ -f $f ]] || continue
    dpkg -S "$f" >/dev/null 2>&1 && continue
    case ${f##*/} in *postgresql*) continue ;; esac   # written by the host's postgresql-common
    cp "$f" "$rootfs$f"
  done

  # Container conventions of Debian's official images: no service starts during package installs,
  # no docs/man pages/translations (like debian:bookworm-slim).
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod 755 "$rootfs/usr/sbin/policy-rc.d"
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
EOF
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "$rootfs"/usr/share/{man,info,groff,lintian,linda}/* 2>/dev/null || true
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true

  # No apt lists, caches or logs in the image.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old \
         "$rootfs"/var/log/apt/* "$rootfs"/var/log/dpkg.log "$rootfs"/var/log/bootstrap.log \
         "$rootfs"/tmp/* "$rootfs"/var/tmp/*
  mkdir -p "$rootfs/var/lib/apt/lists/partial"

  tar --numeric-owner -C "$rootfs" -c . \
    | docker import -c 'CMD ["bash"]' -c 'ENV LANG=C.UTF-8' \
        -m "debootstrap --variant=minbase bookworm from $mirror" - "$BASE_TAG" >/dev/null
  rm -rf --one-file-system "$rootfs" "$rootfs.log"
}

context_dir() { echo "${CONTEXT[$1]:-$here/$1}"; }

# A hash of an image's committed build inputs, stored as a label so a stale image can be noticed.
context_hash() {  # context_hash NAME [EXTRA_FILE]
  local inputs=${INPUTS[$1]:-.}
  # shellcheck disable=SC2086  # INPUTS holds a list of paths
  (cd "$(context_dir "$1")" && find $inputs -type f ! -name build-ca.crt ! -name server.py ! -name '*.pyc' -print0 \
     | LC_ALL=C sort -z | xargs -0 sha256sum; [[ -n ${2:-} ]] && sha256sum <"$2") | sha256sum | cut -c1-16
}

build_image() {
  local name=$1 ctx extra_hash=""
  ctx=$(context_dir "$1")
  [[ -f $ctx/Dockerfile ]] || die "$ctx/Dockerfile missing"
  image_exists "$BASE_TAG" || die "$BASE_TAG missing (build it: images/build.sh base)"
  [[ -r $HOST_CA ]] || die "$HOST_CA not readable"
  if [[ $name == fake-openai ]]; then
    [[ -f $FAKE_OPENAI_SERVER ]] || die "$FAKE_OPENAI_SERVER not found (fake-openai needs it)"
    cp "$FAKE_OPENAI_SERVER" "$ctx/server.py"
    cleanup_files+=("$ctx/server.py")
    extra_hash=$ctx/server.py
  fi
  cp "$HOST_CA" "$ctx/build-ca.crt"
  chmod 644 "$ctx/build-ca.crt"
  cleanup_files+=("$ctx/build-ca.crt")
  # shellcheck disable=SC2086  # BUILD_ARGS holds separate words
  docker build --pull=false --build-arg BASE_IMAGE="$BASE_TAG" ${BUILD_ARGS[$name]:-} \
    --label "org.llm-gateway.context-hash=$(context_hash "$name" "$extra_hash")" \
    -t "${TAG[$name]}" "$ctx"
  rm -f "$ctx/build-ca.crt" "$ctx/server.py"
}

summary=()
for name in "${names[@]}"; do
  tag=${TAG[$name]}
  if image_exists "$tag"; then
    if [[ $name == base ]]; then
      [[ $force -eq 1 && $explicit -eq 1 ]] || { log "skip $name: $tag exists"; summary+=("$name $tag skipped (exists)"); continue; }
    elif [[ $force -eq 0 ]]; then
      extra=""; [[ $name == fake-openai && -f $FAKE_OPENAI_SERVER ]] && extra=$FAKE_OPENAI_SERVER
      built_hash=$(docker image inspect -f '{{index .Config.Labels "org.llm-gateway.context-hash"}}' "$tag" 2>/dev/null || true)
      if [[ $built_hash == "$(context_hash "$name" "$extra")" ]]; then
        log "skip $name: $tag exists and its build inputs are unchanged (use --force to rebuild)"
        summary+=("$name $tag skipped (exists)"); continue
      fi
      log "rebuild $name: its build inputs changed since $tag was built"
    fi
  fi
  if [[ $name == fake-openai && $explicit -eq 0 && ! -f $FAKE_OPENAI_SERVER ]]; then
    log "skip fake-openai: $FAKE_OPENAI_SERVER does not exist yet"
    summary+=("$name $tag SKIPPED (no server.py)"); continue
  fi
  log "building $name -> $tag"
  start=$(date +%s)
  if [[ $name == base ]]; then build_base; else build_image "$name"; fi
  secs=$(( $(date +%s) - start ))
  size=$(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%d MB", $1/1000/1000}')
  log "built $tag in ${secs}s ($size)"
  summary+=("$name $tag built in ${secs}s, $size")
done

log "summary:"
for line in "${summary[@]}"; do log "  $line"; done
