#include "plugin/status_mapping.h"

#include "backend/logical/errors.h"

namespace vault_qualtrics {
namespace {

VaultError Coded(int http_status, std::string message) {
  VaultError error;
  error.type = VaultErrorType::kCodedError;
  error.code = http_status;
  error.http_status = http_status;
  error.message = std::move(message);
  return error;
}

}  // namespace

VaultError ToVaultError(const absl::Status& status) {
  std::string message(status.message());
  VaultError error;
  error.message = message;

  if (IsUnsupportedPath(status)) {
    error.type = VaultErrorType::kUnsupportedPath;
    error.http_status = 404;
    return error;
  }
  if (IsUnsupportedOperation(status) || status.code() == absl::StatusCode::kUnimplemented) {
    error.type = VaultErrorType::kUnsupportedOperation;
    error.http_status = 405;
    return error;
  }
  if (IsReadOnly(status)) {
    // Vault recognises the read-only error by its exact text.
    error.type = VaultErrorType::kPlain;
    error.message = std::string(kReadOnlyMessage);
    error.http_status = 500;
    return error;
  }

  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kUnauthenticated:
      error.type = VaultErrorType::kStatusBadRequest;
      error.http_status = 400;
      error.error_response = true;
      return error;
    case absl::StatusCode::kPermissionDenied:
      return Coded(403, message);
    case absl::StatusCode::kResourceExhausted:
      return Coded(429, message);
    case absl::StatusCode::kUnavailable:
      return Coded(503, message);
    case absl::StatusCode::kDeadlineExceeded:
      return Coded(504, message);
    default:
      error.type = VaultErrorType::kInternalError;
      error.http_status = 500;
      return error;
  }
}

}  // namespace vault_qualtrics
