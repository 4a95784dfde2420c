#include "backend/logical/errors.h"

#include "absl/strings/cord.h"
#include <string>

namespace vault_qualtrics {
namespace {

// Status payload type URLs that mark Vault's sentinel errors.
constexpr std::string_view kUnsupportedPathType = "vault-qualtrics/unsupported-path";
constexpr std::string_view kUnsupportedOperationType = "vault-qualtrics/unsupported-operation";
constexpr std::string_view kReadOnlyType = "vault-qualtrics/read-only";

// Debian builds Abseil with its own string_view type, distinct from std::string_view.
absl::string_view ToAbsl(std::string_view text) { return absl::string_view(text.data(), text.size()); }

absl::Status WithMarker(absl::Status status, std::string_view type) {
  status.SetPayload(ToAbsl(type), absl::Cord("1"));
  return status;
}

}  // namespace

absl::Status UnsupportedPathError(std::string_view path) {
  return WithMarker(absl::NotFoundError(std::string("unsupported path: ").append(path)),
                    kUnsupportedPathType);
}

absl::Status UnsupportedOperationError(std::string_view operation, std::string_view path) {
  return WithMarker(absl::UnimplementedError(std::string("unsupported operation: ")
                                                   .append(operation)
                                                   .append(" is not supported on ")
                                                   .append(path)),
                    kUnsupportedOperationType);
}

absl::Status ReadOnlyError() {
  return WithMarker(absl::FailedPreconditionError(std::string(kReadOnlyMessage)), kReadOnlyType);
}

bool IsUnsupportedPath(const absl::Status& status) {
  return status.GetPayload(ToAbsl(kUnsupportedPathType)).has_value();
}

bool IsUnsupportedOperation(const absl::Status& status) {
  return status.GetPayload(ToAbsl(kUnsupportedOperationType)).has_value();
}

bool IsReadOnly(const absl::Status& status) {
  return status.GetPayload(ToAbsl(kReadOnlyType)).has_value();
}

int HttpStatusOf(const absl::Status& status) {
  if (status.ok()) return 200;
  if (IsReadOnly(status)) return 500;
  if (IsUnsupportedPath(status)) return 404;
  if (IsUnsupportedOperation(status)) return 405;
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kUnauthenticated:
      return 400;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kUnimplemented:
      return 405;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

bool IsClientError(const absl::Status& status) {
  const int http_status = HttpStatusOf(status);
  return http_status >= 400 && http_status < 500;
}

}  // namespace vault_qualtrics
