#include "backend/crypto/openssl_error.h"

#include <openssl/err.h>

#include <string>

namespace vault_qualtrics {
namespace crypto_internal {

absl::Status OpenSslError(absl::StatusCode code, std::string_view what) {
  std::string message(what);
  std::string queue;
  unsigned long error = 0;
  // Bounded, because the queue contains at most ERR_NUM_ERRORS entries per thread.
  while ((error = ERR_get_error()) != 0) {
    char text[256];
    ERR_error_string_n(error, text, sizeof(text));
    if (!queue.empty()) queue.append("; ");
    queue.append(text);
  }
  if (queue.empty()) queue = "no OpenSSL error reported";
  message.append(": ").append(queue);
  return absl::Status(code, message);
}

void ClearOpenSslErrors() { ERR_clear_error(); }

}  // namespace crypto_internal
}  // namespace vault_qualtrics
