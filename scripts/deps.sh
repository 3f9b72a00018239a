#!/usr/bin/env bash
# Installs every Debian package brfed needs to build, test and run its demo. Idempotent: when all
# of them are present it only checks and returns.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git clang libclang-rt-14-dev clang-format
  libleveldb-dev libsnappy-dev libprotobuf-dev protobuf-compiler libjemalloc-dev
  libcurl4-openssl-dev libssl-dev openssl
  libyaml-cpp-dev libgflags-dev libgoogle-glog-dev nlohmann-json3-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-kubernetes python3-yaml curl procps
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi

# kubectl is not a Debian package; the conformance tests need it and fail loudly without it.
if ! command -v kubectl >/dev/null 2>&1; then
  echo "deps: WARNING: kubectl is not on PATH; the kubectl conformance test will fail" >&2
fi
