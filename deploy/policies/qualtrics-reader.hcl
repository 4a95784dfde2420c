# Applications and pipelines that need the client certificate of a role. Reading cert/<role>
# returns the current certificate and issues a new one when none is current, so this one
# capability is all a consumer needs. To limit a consumer to one role, replace * with the role
# name, for example "qualtrics/cert/web".
path "qualtrics/cert/*" {
  capabilities = ["read"]
}
