# Node 3 of a 3-node Vault 1.14 HA cluster on integrated storage (Raft). The three files differ
# only in node_id, data path and ports. As shipped, all three nodes run on one host on loopback
# (API ports 8200, 8210, 8220; cluster ports 8201, 8211, 8221), which is enough to try failover.
# For nodes on separate hosts, give each the same ports and replace 127.0.0.1 with the host's
# private address everywhere below, including retry_join.
storage "raft" {
  path    = "/var/lib/vault/vault-3"
  node_id = "vault-3"

  # A node that starts without Raft data tries these peers until one lets it join. The join
  # completes when the node is unsealed with the cluster's key shares.
  retry_join {
    leader_api_addr     = "https://127.0.0.1:8200"
    leader_ca_cert_file = "/etc/vault.d/tls/ca.crt"
  }
  retry_join {
    leader_api_addr     = "https://127.0.0.1:8210"
    leader_ca_cert_file = "/etc/vault.d/tls/ca.crt"
  }
  retry_join {
    leader_api_addr     = "https://127.0.0.1:8220"
    leader_ca_cert_file = "/etc/vault.d/tls/ca.crt"
  }
}

# TLS is required: nodes join each other over this listener. The certificate must carry the
# address other nodes dial (127.0.0.1 here, the host's address otherwise) as an IP SAN and be
# signed by the CA in ca.crt, which every node and client trusts.
listener "tcp" {
  address         = "127.0.0.1:8220"
  cluster_address = "127.0.0.1:8221"
  tls_cert_file   = "/etc/vault.d/tls/vault.crt"
  tls_key_file    = "/etc/vault.d/tls/vault.key"
  tls_min_version = "tls12"
}

# api_addr is where a standby redirects clients; cluster_addr is where standbys forward requests
# and Raft replicates. Both name this node.
api_addr     = "https://127.0.0.1:8220"
cluster_addr = "https://127.0.0.1:8221"

# Every node must hold the same plugin binaries here: the catalog (name, version, SHA-256) is
# replicated through Raft, the files are not.
plugin_directory = "/etc/vault.d/plugins"

disable_mlock = true
ui            = false
