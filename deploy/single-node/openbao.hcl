# A single OpenBao 2.x server with the Qualtrics plugin. Start with:
#   bao server -config=deploy/single-node/openbao.hcl
# Same layout as vault.hcl beside it; comments there explain each setting.
# NOTE: unlike the Vault files, this one is not started by tests/realserver, because no OpenBao
# build was available there; the audit stanza follows OpenBao's declarative audit documentation.

storage "raft" {
  path    = "/var/lib/openbao/data"
  node_id = "openbao-1"
}

listener "tcp" {
  address         = "127.0.0.1:8200"
  cluster_address = "127.0.0.1:8201"
  tls_cert_file   = "/etc/openbao/tls/openbao.crt"
  tls_key_file    = "/etc/openbao/tls/openbao.key"
  tls_min_version = "tls12"
}

api_addr         = "https://127.0.0.1:8200"
cluster_addr     = "https://127.0.0.1:8201"
plugin_directory = "/etc/openbao/plugins"
disable_mlock    = true
ui               = false

# OpenBao 2.4 and later create audit devices from the configuration file ("declarative audit"),
# and by default reject creating them through sys/audit. The device is created on the active
# node at start-up; keep this stanza identical on every node of a cluster.
audit "file" "file" {
  description = "Every request and response, sensitive values HMAC'd"
  options {
    file_path = "/var/log/openbao/audit.log"
  }
}
