// Turns OpenSSL's error queue into an absl::Status. Private to backend/crypto.
#ifndef BACKEND_CRYPTO_OPENSSL_ERROR_H_
#define BACKEND_CRYPTO_OPENSSL_ERROR_H_

#include <string_view>

#include "absl/status/status.h"

namespace vault_qualtrics {
namespace crypto_internal {

// Returns a status with `code` and the message "<what>: <OpenSSL error queue text>", and empties
// the queue so the next failure starts clean. OpenSSL's error strings name functions and
// reasons only, never key bytes.
absl::Status OpenSslError(absl::StatusCode code, std::string_view what);

// Empties OpenSSL's error queue for this thread.
void ClearOpenSslErrors();

}  // namespace crypto_internal
}  // namespace vault_qualtrics

#endif  // BACKEND_CRYPTO_OPENSSL_ERROR_H_
