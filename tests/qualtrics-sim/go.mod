module vault-plugin-secrets-qualtrics/tests/qualtrics-sim

go 1.22
