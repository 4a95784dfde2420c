# Applications and pipelines that need the client certificate of a role. Reading cert/<role>
# returns the current certificate and issues a new one when none is current, so this one
# capability is all a consumer needs. To limit a consumer to one role, replace * with the role
# name, for example "qualtrics/cert/web".
path "qualtrics/cert/*" {
  capabilities = ["read"]
}

# The role whose certificate the engine presents to Qualtrics for its own calls once mutual TLS
# is on (config mtls_role) is not for applications. Change the name if your mTLS role differs.
path "qualtrics/cert/qualtrics-mtls" {
  capabilities = ["deny"]
}
