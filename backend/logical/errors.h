// Errors the engine returns, and how each reaches a Vault user.
//
// Handlers return absl::Status with the most specific code. HttpStatusOf gives the HTTP status
// for each, and plugin/status_mapping turns that into Vault's error kinds:
//   kInvalidArgument, kFailedPrecondition, kNotFound, kAlreadyExists, kOutOfRange,
//   kUnauthenticated                       -> 400, with the message
//   kPermissionDenied                      -> 403, with the message
//   kResourceExhausted                     -> 429, with the message
//   kUnavailable                           -> 503, kDeadlineExceeded -> 504, with the message
//   kUnimplemented                         -> Vault's "unsupported operation" (405)
//   anything else                          -> 500, with the message
// Three cases carry a payload so plugin/ can send Vault's own sentinel errors:
//   UnsupportedPathError  -> Vault's "unsupported path" (404)
//   ReadOnlyError         -> Vault's "cannot write to readonly storage", which makes a
//                            performance standby forward the request to the active node
//   UnsupportedOperationError -> Vault's "unsupported operation" (405)
#ifndef BACKEND_LOGICAL_ERRORS_H_
#define BACKEND_LOGICAL_ERRORS_H_

#include <string_view>

#include "absl/status/status.h"

namespace vault_qualtrics {

// Vault's exact message for a write rejected by a performance standby's storage.
inline constexpr std::string_view kReadOnlyMessage = "cannot write to readonly storage";

absl::Status UnsupportedPathError(std::string_view path);
absl::Status UnsupportedOperationError(std::string_view operation, std::string_view path);
absl::Status ReadOnlyError();

bool IsUnsupportedPath(const absl::Status& status);
bool IsUnsupportedOperation(const absl::Status& status);
bool IsReadOnly(const absl::Status& status);
// The HTTP status a Vault user sees for `status`, from the table above (200 for OK).
int HttpStatusOf(const absl::Status& status);
// True when `status` reaches the caller as a 4xx error (see the table above): a failure the
// caller or the operator can fix, which is logged at warn level, not error.
bool IsClientError(const absl::Status& status);

}  // namespace vault_qualtrics

#endif  // BACKEND_LOGICAL_ERRORS_H_
