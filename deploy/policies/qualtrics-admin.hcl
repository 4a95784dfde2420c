# Operators of the mount: the connection config, the roles, the inventory of certificates held at
# Qualtrics, and tidy. Deliberately not cert/* or rotate/*: administering the mount does not
# grant use of its certificates or keys.

# Connection config. Secrets (API token, OAuth client secret) are write-only: read shows only
# whether they are set.
path "qualtrics/config" {
  capabilities = ["create", "read", "update", "delete"]
}

# Roles. The glob also matches "qualtrics/roles/", which is the path a LIST request checks.
path "qualtrics/roles/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}

# Inventory of certificates this mount holds at Qualtrics. Delete revokes at Qualtrics and then
# forgets the record, freeing one of the organization's slots.
path "qualtrics/certs/*" {
  capabilities = ["read", "delete", "list"]
}

# Revoke superseded certificates past their grace period and expired ones, and drop their records.
path "qualtrics/tidy" {
  capabilities = ["update"]
}
