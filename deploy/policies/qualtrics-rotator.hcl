# The few people or jobs allowed to force a new key and certificate for a role now, for example
# after a suspected key compromise. The superseded certificate is revoked at Qualtrics after the
# role's grace period. Grants nothing else: a rotator who also needs the new certificate gets
# qualtrics-reader as well.
path "qualtrics/rotate/*" {
  capabilities = ["update"]
}
