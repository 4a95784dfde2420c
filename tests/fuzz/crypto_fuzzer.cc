// libFuzzer target for PEM, CSR, certificate and key parsing in backend/crypto. Every input is
// handed to each parser; a parser may reject it but must not crash, leak or read out of bounds.
// Parsed results are checked for internal consistency, because a wrong parse is a bug too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "backend/crypto/certificate.h"
#include "backend/crypto/csr.h"
#include "backend/crypto/key.h"

namespace vault_qualtrics {
namespace {

// One fixed key for CertificateMatchesKey, generated once per process.
const PrivateKey& FixedKey() {
  static const PrivateKey* key = [] {
    absl::StatusOr<KeySpec> spec = ParseKeySpec("ec", 256);
    if (!spec.ok()) std::abort();
    absl::StatusOr<PrivateKey> generated = GenerateKey(*spec);
    if (!generated.ok()) std::abort();
    return new PrivateKey(*std::move(generated));
  }();
  return *key;
}

void CheckCertificate(std::string_view input) {
  absl::StatusOr<CertificateInfo> info = ParseCertificatePem(input);
  absl::StatusOr<bool> matches = CertificateMatchesKey(input, FixedKey());
  // ParseCertificatePem also reads times, names and the key, so it may reject a certificate
  // that CertificateMatchesKey reads; the reverse would be a bug.
  if (info.ok() && !matches.ok()) std::abort();
  if (!info.ok()) return;
  if (info->public_key_fingerprint.size() != 64) std::abort();
  // The re-encoded PEM must parse to the same certificate.
  absl::StatusOr<CertificateInfo> again = ParseCertificatePem(info->certificate_pem);
  if (!again.ok()) std::abort();
  if (again->serial_number != info->serial_number ||
      again->public_key_fingerprint != info->public_key_fingerprint ||
      again->not_after != info->not_after) {
    std::abort();
  }
}

void CheckCsr(std::string_view input) {
  absl::Status verified = VerifyCsrPem(input);
  absl::StatusOr<std::string> fingerprint = CsrPublicKeyFingerprint(input);
  if (verified.ok() && !fingerprint.ok()) std::abort();
  if (fingerprint.ok() && fingerprint->size() != 64) std::abort();
}

void CheckPrivateKey(std::string_view input) {
  absl::StatusOr<PrivateKey> key = PrivateKeyFromPem(input);
  if (!key.ok()) return;
  absl::StatusOr<std::string> fingerprint = key->PublicKeyFingerprintSha256();
  absl::StatusOr<SecretBytes> pkcs8 = key->ToPkcs8Pem();
  if (!fingerprint.ok() || !pkcs8.ok()) std::abort();
  // Storage round trip: the re-encoded key must decode to the same public key.
  absl::StatusOr<PrivateKey> decoded = PrivateKeyFromPem(pkcs8->view());
  if (!decoded.ok()) std::abort();
  absl::StatusOr<std::string> decoded_fingerprint = decoded->PublicKeyFingerprintSha256();
  if (!decoded_fingerprint.ok() || *decoded_fingerprint != *fingerprint) std::abort();
  absl::StatusOr<std::string> public_pem = key->PublicKeyPem();
  if (!public_pem.ok()) std::abort();
  absl::StatusOr<std::string> from_public = PublicKeyFingerprintFromPem(*public_pem);
  if (!from_public.ok() || *from_public != *fingerprint) std::abort();
}

}  // namespace
}  // namespace vault_qualtrics

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  vault_qualtrics::CheckCertificate(input);
  vault_qualtrics::CheckCsr(input);
  vault_qualtrics::CheckPrivateKey(input);
  (void)vault_qualtrics::PublicKeyFingerprintFromPem(input);
  return 0;
}
