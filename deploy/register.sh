#!/usr/bin/env bash
# Install the plugin binary into the server's plugin directory and register it in the plugin
# catalog with its SHA-256 and a version. Then enable it at the mount path. When that mount
# exists already, switch the mount to this version and reload it instead (an upgrade).
#
# Usage: deploy/register.sh BINARY VERSION
#
#   BINARY   the built plugin, e.g. bazel-bin/plugin/vault-plugin-secrets-qualtrics
#   VERSION  semantic version with a leading v, e.g. v0.1.0. When the plugin reports its own
#            version, the server rejects any other value ("plugin version mismatch").
#
# Environment:
#   PLUGIN_DIRECTORY  the server's plugin_directory (required). The binary is copied there as
#                     PLUGIN_NAME-VERSION, so versions sit side by side and an upgrade never
#                     overwrites the file a running plugin was started from.
#   VAULT_CLI         the CLI to call: vault or bao, or a path to either. Default: vault if it is
#                     on PATH, else bao.
#   PLUGIN_NAME       catalog name (default vault-plugin-secrets-qualtrics)
#   MOUNT_PATH        mount path without slashes (default qualtrics)
#   VAULT_ADDR/VAULT_TOKEN (vault) or BAO_ADDR/BAO_TOKEN (bao): server address and a token
#                     allowed to write sys/plugins/catalog, sys/mounts and sys/plugins/reload.
#
# In an HA cluster the catalog is replicated but the binary is not. Copy it first to every
# other node as PLUGIN_DIRECTORY/PLUGIN_NAME-VERSION, mode 0755, the same name this script
# installs. Then run the script once, on the active node.
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
  exit 2
}

[[ $# -eq 2 ]] || usage
binary=$1
version=$2
plugin_name=${PLUGIN_NAME:-vault-plugin-secrets-qualtrics}
mount_path=${MOUNT_PATH:-qualtrics}
mount_path=${mount_path#/}
mount_path=${mount_path%/}

if [[ ! $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]]; then
  echo "register.sh: invalid VERSION '$version': expected a semantic version such as v0.1.0" >&2
  exit 2
fi
if [[ ! -f $binary || ! -x $binary ]]; then
  echo "register.sh: BINARY '$binary' is not an executable file" >&2
  exit 2
fi
if [[ -z ${PLUGIN_DIRECTORY:-} || ! -d $PLUGIN_DIRECTORY ]]; then
  echo "register.sh: PLUGIN_DIRECTORY must name the server's plugin_directory" >&2
  exit 2
fi

cli=${VAULT_CLI:-}
if [[ -z $cli ]]; then
  if command -v vault >/dev/null 2>&1; then
    cli=vault
  elif command -v bao >/dev/null 2>&1; then
    cli=bao
  else
    echo "register.sh: neither vault nor bao is on PATH; set VAULT_CLI" >&2
    exit 2
  fi
fi

if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum "$1" | cut -d' ' -f1; }
else
  sha256() { shasum -a 256 "$1" | cut -d' ' -f1; }
fi

# Install under a versioned name. The copy goes to a temporary name first and is renamed, so the
# server never executes a half-written file.
command_name="$plugin_name-$version"
target="$PLUGIN_DIRECTORY/$command_name"
tmp="$PLUGIN_DIRECTORY/.$command_name.tmp.$$"
cp "$binary" "$tmp"
chmod 0755 "$tmp"
mv -f "$tmp" "$target"

# The digest is taken from the installed copy, which is the file the server will execute.
digest=$(sha256 "$target")
echo "register.sh: $target sha256 $digest"

"$cli" plugin register -sha256="$digest" -command="$command_name" -version="$version" \
  secret "$plugin_name"

if "$cli" read -format=json "sys/mounts/$mount_path" >/dev/null 2>&1; then
  # Upgrade: pin the mount to the new version, then restart its plugin process.
  "$cli" secrets tune -plugin-version="$version" "$mount_path/"
  "$cli" plugin reload -mounts="$mount_path/"
  echo "register.sh: $mount_path/ now runs $plugin_name $version"
else
  "$cli" secrets enable -path="$mount_path" -plugin-version="$version" \
    -description="Qualtrics client certificates" "$plugin_name"
  echo "register.sh: enabled $plugin_name $version at $mount_path/"
fi
