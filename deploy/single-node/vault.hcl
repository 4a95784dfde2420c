# A single Vault 1.14 server with the Qualtrics plugin. Start with:
#   vault server -config=deploy/single-node/vault.hcl
# Paths below are examples; create them owned by the user the server runs as, mode 0700.

# Integrated storage (Raft) even for one node: it needs no external service, and the same data
# directory can later seed an HA cluster (see deploy/ha/).
storage "raft" {
  path    = "/var/lib/vault/data"
  node_id = "vault-1"
}

# Loopback only: put a TLS-terminating proxy or a real interface address here only when clients
# on other hosts need the API. The certificate must name the address clients dial (here
# 127.0.0.1 as an IP SAN). Never set tls_disable outside a throwaway test server: tokens and
# issued certificates travel on this listener.
listener "tcp" {
  address         = "127.0.0.1:8200"
  cluster_address = "127.0.0.1:8201"
  tls_cert_file   = "/etc/vault.d/tls/vault.crt"
  tls_key_file    = "/etc/vault.d/tls/vault.key"
  tls_min_version = "tls12"
}

# The address clients and other nodes use to reach this server's API, and the address of its
# cluster port (request forwarding, Raft). Both must be reachable from the other nodes of a
# cluster; for a single node on loopback these are enough.
api_addr     = "https://127.0.0.1:8200"
cluster_addr = "https://127.0.0.1:8201"

# The only directory Vault executes external plugins from. Install the plugin binary here with
# deploy/register.sh. Keep it owned by root and not writable by the server's user.
plugin_directory = "/etc/vault.d/plugins"

# Raft keeps its data in memory-mapped files, which mlock would pin entirely; HashiCorp's Raft
# guidance is to disable mlock and to disable swap on the host instead.
disable_mlock = true

ui = false

# Audit: Vault 1.14 has no audit stanza in its configuration. Enable the file audit device once
# after `vault operator init` (it is stored in Vault and survives restarts):
#   vault audit enable file file_path=/var/log/vault/audit.log
# deploy/README.md shows how to check that issued certificates appear HMAC'd in it.
