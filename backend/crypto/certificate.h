// Reading issued X.509 certificates: serial, validity, names and public key, and checking that a
// certificate belongs to a key we hold.
#ifndef BACKEND_CRYPTO_CERTIFICATE_H_
#define BACKEND_CRYPTO_CERTIFICATE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backend/crypto/key.h"

namespace vault_qualtrics {

// What ParseCertificatePem reads from a certificate.
struct CertificateInfo {
  // The serial number as lowercase hex byte pairs separated by colons ("0a:1b:..."), the form
  // Vault's PKI engine uses for serial_number.
  std::string serial_number;
  // Validity bounds as Unix seconds (UTC).
  int64_t not_before = 0;
  int64_t not_after = 0;
  // Distinguished names in RFC 2253 form, e.g. "CN=fra1.qualtrics.com,O=Example".
  std::string subject;
  std::string issuer;
  // Lowercase hex SHA-256 of the certificate's DER SubjectPublicKeyInfo.
  std::string public_key_fingerprint;
  // The first certificate of the input, re-encoded as PEM.
  std::string certificate_pem;
};

// Parses the first certificate in `pem` (a chain may follow; it is ignored). Fails with
// InvalidArgument when no PEM certificate can be read.
absl::StatusOr<CertificateInfo> ParseCertificatePem(std::string_view pem);

// Returns true when the first certificate in `certificate_pem` carries the public half of `key`.
// Fails with InvalidArgument when the certificate cannot be parsed.
absl::StatusOr<bool> CertificateMatchesKey(std::string_view certificate_pem,
                                           const PrivateKey& key);

}  // namespace vault_qualtrics

#endif  // BACKEND_CRYPTO_CERTIFICATE_H_
