#include "plugin/status_mapping.h"

#include "backend/logical/errors.h"

namespace vault_qualtrics {

VaultError ToVaultError(const absl::Status& status) {
  VaultError error;
  error.message = std::string(status.message());
  error.http_status = HttpStatusOf(status);

  if (IsUnsupportedPath(status)) {
    error.type = VaultErrorType::kUnsupportedPath;
    return error;
  }
  if (IsReadOnly(status)) {
    // Vault recognises the read-only error by its exact text.
    error.type = VaultErrorType::kPlain;
    error.message = std::string(kReadOnlyMessage);
    return error;
  }
  switch (error.http_status) {
    case 400:
      error.type = VaultErrorType::kStatusBadRequest;
      error.error_response = true;
      return error;
    case 405:
      error.type = VaultErrorType::kUnsupportedOperation;
      return error;
    case 403:
    case 429:
    case 503:
    case 504:
      error.type = VaultErrorType::kCodedError;
      error.code = error.http_status;
      return error;
    default:
      error.type = VaultErrorType::kInternalError;
      return error;
  }
}

}  // namespace vault_qualtrics
