// Helpers on raw EVP_PKEY pointers shared inside backend/crypto.
#ifndef BACKEND_CRYPTO_KEY_INTERNAL_H_
#define BACKEND_CRYPTO_KEY_INTERNAL_H_

#include <openssl/evp.h>

#include <string>

#include "absl/status/statusor.h"
#include "backend/crypto/key.h"

namespace vault_qualtrics {
namespace crypto_internal {

// Reads the type and size of `key`; fails with InvalidArgument for keys this library does not
// issue.
absl::StatusOr<KeySpec> SpecOfKey(EVP_PKEY* key);

// Returns the lowercase hex SHA-256 of `key`'s DER SubjectPublicKeyInfo.
absl::StatusOr<std::string> FingerprintOfPublicKey(EVP_PKEY* key);

}  // namespace crypto_internal
}  // namespace vault_qualtrics

#endif  // BACKEND_CRYPTO_KEY_INTERNAL_H_
