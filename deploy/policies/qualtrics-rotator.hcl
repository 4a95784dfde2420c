# The few people or jobs allowed to force a new key and certificate for a role now, for example
# after a suspected key compromise. The superseded certificate is revoked at Qualtrics after the
# role's grace period. The rotate response never contains the private key, so this policy grants
# no read of keys: a rotator who also needs the new certificate or key gets qualtrics-reader as
# well.
path "qualtrics/rotate/*" {
  capabilities = ["update"]
}

# The role whose certificate the engine presents to Qualtrics for its own calls once mutual TLS
# is on (config mtls_role) is not rotated by this policy, so that a rotator cannot replace the
# engine's own identity. Change the name if your mTLS role differs.
path "qualtrics/rotate/qualtrics-mtls" {
  capabilities = ["deny"]
}
