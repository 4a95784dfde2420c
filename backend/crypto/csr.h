// Certificate signing requests (PKCS#10) for a PrivateKey, as PEM.
#ifndef BACKEND_CRYPTO_CSR_H_
#define BACKEND_CRYPTO_CSR_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backend/crypto/key.h"

namespace vault_qualtrics {

// The distinguished name of a CSR. common_name is required; empty optional fields are left out.
// country, when set, is a two-letter ISO 3166 code.
struct Subject {
  std::string common_name;
  std::string organization;
  std::string organizational_unit;
  std::string locality;
  std::string province;
  std::string country;
};

// The digest an RSA or ECDSA signature uses. Ed25519 signs without a separate digest, so the
// choice is ignored for Ed25519 keys.
enum class SignatureDigest { kSha256, kSha384 };

// Parses "sha256" or "sha384"; an empty name means sha256. Fails with InvalidArgument naming the
// field signature_digest and the allowed values.
absl::StatusOr<SignatureDigest> ParseSignatureDigest(std::string_view name);

// Builds a CSR for `key` with `subject`, signed by `key`, and returns it as PEM
// ("-----BEGIN CERTIFICATE REQUEST-----" with line breaks). Fails with InvalidArgument when the
// subject is invalid (missing common name, a field over 64 characters, a country that is not
// two letters), Internal when OpenSSL fails.
absl::StatusOr<std::string> CreateCsrPem(const PrivateKey& key, const Subject& subject,
                                         SignatureDigest digest = SignatureDigest::kSha256);

// Checks that `csr_pem` parses and that its signature verifies with the public key it carries.
// Fails with InvalidArgument otherwise.
absl::Status VerifyCsrPem(std::string_view csr_pem);

// Returns the public key fingerprint (as PrivateKey::PublicKeyFingerprintSha256) of a CSR.
absl::StatusOr<std::string> CsrPublicKeyFingerprint(std::string_view csr_pem);

}  // namespace vault_qualtrics

#endif  // BACKEND_CRYPTO_CSR_H_
