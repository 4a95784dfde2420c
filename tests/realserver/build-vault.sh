#!/usr/bin/env bash
# Build bin/vault, the Vault 1.14.2 server the end-to-end tests run, from the Go module proxy.
#
# Vault 1.14.x releases compile their sdk/ folder in-tree (go.mod replaces it), and no published
# sdk version matches that folder. The sdk version Vault 1.14.2 names, v0.9.2, was cut from the
# main branch after the check "Pattern ... defines a CreateOperation but no ExistenceCheck" was
# added to framework.Backend. The 1.14 release branch never had that check. Vault 1.14's own
# system backend fails it, in its Enterprise-only managed-keys stubs. Built against v0.9.2
# unchanged, the server panics on its first sys/ request. This script therefore compiles a copy
# of sdk v0.9.2 under bin/sdk with those two panic statements removed, through a Go workspace
# (bin/go.work) that replaces the sdk for this build only, and changes nothing else. Every other
# package is the published module, and go test in this folder does not use the workspace.
#
# Usage: tests/realserver/build-vault.sh
# Measured on a shared 2-core machine with GOFLAGS=-p=1 under nice 19: 1882 s with an empty Go
# build cache while other builds kept the load average near 9; 40-60 s when cached (relink).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p bin

sdk_dir=$(go list -m -f '{{.Dir}}' github.com/hashicorp/vault/sdk)
if [[ -z $sdk_dir || ! -f $sdk_dir/framework/backend.go ]]; then
  go mod download github.com/hashicorp/vault/sdk
  sdk_dir=$(go list -m -f '{{.Dir}}' github.com/hashicorp/vault/sdk)
fi
sdk_version=$(go list -m -f '{{.Version}}' github.com/hashicorp/vault/sdk)
check='panic(fmt.Sprintf("Pattern %v defines a CreateOperation but no ExistenceCheck", p.Pattern))'
found=$(grep -cF "$check" "$sdk_dir/framework/backend.go" || true)
if [[ $found -ne 2 ]]; then
  echo "build-vault.sh: expected the ExistenceCheck panic twice in sdk $sdk_version, found" \
    "$found; the sdk version changed, so review this script" >&2
  exit 1
fi

rm -rf bin/sdk
cp -R "$sdk_dir" bin/sdk
chmod -R u+w bin/sdk
# Keep each if-statement and only empty its body, so the file's line numbers stay unchanged.
CHECK=$check awk '{ i = index($0, ENVIRON["CHECK"]); if (i > 0) { $0 = substr($0, 1, i - 1); sub(/[ \t]+$/, "") } print }' \
  "$sdk_dir/framework/backend.go" >bin/sdk/framework/backend.go
cat >bin/go.work <<WORK
go $(go list -m -f '{{.GoVersion}}')

use ..

replace github.com/hashicorp/vault/sdk $sdk_version => ./sdk
WORK

start=$(date +%s)
GOWORK=$PWD/bin/go.work GOFLAGS=${GOFLAGS:--p=1} nice -n 19 go build -o bin/vault ./cmd/vault
elapsed=$(($(date +%s) - start))
version=$(bin/vault version)
echo "build-vault.sh: built bin/vault ($version) in $elapsed s"
