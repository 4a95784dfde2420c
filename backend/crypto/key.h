// Private keys for client certificates: key specifications, generation, PKCS#8 encoding and
// public key fingerprints, on OpenSSL 3's EVP interfaces.
//
// Supported keys: RSA with 2048, 3072 or 4096 bits, ECDSA on P-256 or P-384, and Ed25519.
// Errors carry OpenSSL's error queue text and never key bytes.
#ifndef BACKEND_CRYPTO_KEY_H_
#define BACKEND_CRYPTO_KEY_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backend/crypto/secret_bytes.h"

// OpenSSL's key type, declared here so callers need not include OpenSSL headers.
typedef struct evp_pkey_st EVP_PKEY;

namespace vault_qualtrics {

enum class KeyType { kRsa, kEc, kEd25519 };
enum class EcCurve { kNone, kP256, kP384 };

// The type and size of a key to generate. Build it with ParseKeySpec, which rejects unsupported
// combinations. `bits` is the RSA modulus size or the curve size (256 or 384, and 256 for
// Ed25519).
struct KeySpec {
  KeyType type = KeyType::kEc;
  int bits = 256;
  EcCurve curve = EcCurve::kP256;

  bool operator==(const KeySpec& other) const {
    return type == other.type && bits == other.bits && curve == other.curve;
  }
};

// Parses a key type name ("rsa", "ec", "ed25519") and size, as roles store them. `bits` may be 0
// for the type's default: rsa 2048, ec 256 (P-256). Allowed sizes: rsa 2048, 3072, 4096; ec 256
// (P-256) or 384 (P-384); ed25519 0 or 256. Fails with InvalidArgument naming the field
// (key_type or key_bits) and the allowed values.
absl::StatusOr<KeySpec> ParseKeySpec(std::string_view key_type, int key_bits);

// Returns "rsa", "ec" or "ed25519", the name ParseKeySpec accepts.
std::string_view KeyTypeName(KeyType type);
// Returns a short label such as "rsa-3072", "ec-p384" or "ed25519", for logs and responses.
std::string KeySpecLabel(const KeySpec& spec);

// An owned private key (an EVP_PKEY). Move-only; OpenSSL clears the key's memory when the last
// reference is freed. Const methods are safe to call from several threads at once.
class PrivateKey {
 public:
  PrivateKey(PrivateKey&& other) noexcept;
  PrivateKey& operator=(PrivateKey&& other) noexcept;
  PrivateKey(const PrivateKey&) = delete;
  PrivateKey& operator=(const PrivateKey&) = delete;
  ~PrivateKey();

  // The key's type and size, read back from the key itself.
  const KeySpec& spec() const { return spec_; }

  // Encodes the key as unencrypted PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"). Only for
  // storage in Vault's encrypted storage or for a role that allows returning the key.
  absl::StatusOr<SecretBytes> ToPkcs8Pem() const;

  // Returns the public key as PEM ("-----BEGIN PUBLIC KEY-----", SubjectPublicKeyInfo).
  absl::StatusOr<std::string> PublicKeyPem() const;

  // Returns the lowercase hex SHA-256 of the DER SubjectPublicKeyInfo (64 characters), the same
  // value PublicKeyFingerprintFromPem and CertificateInfo report for the matching public key.
  absl::StatusOr<std::string> PublicKeyFingerprintSha256() const;

  // Borrowed pointer for the crypto library's own use; the PrivateKey keeps ownership.
  EVP_PKEY* get() const { return key_; }

 private:
  friend absl::StatusOr<PrivateKey> GenerateKey(const KeySpec& spec);
  friend absl::StatusOr<PrivateKey> PrivateKeyFromPem(std::string_view pem);
  PrivateKey(EVP_PKEY* key, KeySpec spec) : key_(key), spec_(spec) {}

  EVP_PKEY* key_ = nullptr;
  KeySpec spec_;
};

// Generates a fresh key from OpenSSL's default random source.
absl::StatusOr<PrivateKey> GenerateKey(const KeySpec& spec);

// Decodes a PEM private key (PKCS#8, or the traditional RSA/EC forms), as stored by ToPkcs8Pem.
// Fails with InvalidArgument when the text is not an unencrypted private key of a supported type
// and size; the message never quotes the input.
absl::StatusOr<PrivateKey> PrivateKeyFromPem(std::string_view pem);

// Returns the fingerprint (as PrivateKey::PublicKeyFingerprintSha256) of a PEM public key
// ("BEGIN PUBLIC KEY").
absl::StatusOr<std::string> PublicKeyFingerprintFromPem(std::string_view public_key_pem);

// Encodes `bytes` as standard base64 with padding and no line breaks. The result is a
// SecretBytes because callers encode credentials with it (HTTP basic auth).
SecretBytes Base64Encode(std::string_view bytes);

}  // namespace vault_qualtrics

#endif  // BACKEND_CRYPTO_KEY_H_
