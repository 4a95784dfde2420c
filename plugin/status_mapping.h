// The one place where the engine's absl::Status becomes a Vault error.
//
// A backend error travels to Vault as data: a pb.ProtoError inside the reply, which Vault's SDK
// turns back into its own error values and its HTTP layer into a status code. A gRPC status
// error on the RPC itself is a transport error, which Vault reports as 500 whatever its text, so
// it is used only for protocol faults (no backend instance, malformed metadata), never here.
//
// How Vault's SDK (sdk/plugin/pb translation.go, ProtoErrToErr) and HTTP layer
// (sdk/logical response_util.go, RespondErrorCommon) treat each err_type used here:
//   0 plain error       -> 500 when no response is sent; Vault matches sentinel errors by their
//                          text, so "cannot write to readonly storage" still triggers forwarding
//                          from a performance standby
//   2 internal error    -> 500, message kept
//   3 coded error       -> err_code as the HTTP status, message kept
//   4 bad request       -> 400, message kept
//   5 unsupported operation -> 405 "unsupported operation" (our message is replaced)
//   6 unsupported path  -> 404 "unsupported path" (our message is replaced)
// Any non-nil Response turns a plain error into a 400, so data is sent only with 400s.
#ifndef PLUGIN_STATUS_MAPPING_H_
#define PLUGIN_STATUS_MAPPING_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace vault_qualtrics {

// Values of pb.ProtoError.err_type (Vault SDK's ErrType* constants).
enum class VaultErrorType : uint32_t {
  kPlain = 0,
  kUserError = 1,
  kInternalError = 2,
  kCodedError = 3,
  kStatusBadRequest = 4,
  kUnsupportedOperation = 5,
  kUnsupportedPath = 6,
  kInvalidRequest = 7,
  kPermissionDenied = 8,
  kMultiAuthzPending = 9,
  kUnrecoverable = 10,
};

// A Vault error for one failed backend call.
struct VaultError {
  VaultErrorType type = VaultErrorType::kPlain;
  std::string message;
  // The HTTP status for kCodedError; 0 otherwise.
  int64_t code = 0;
  // The HTTP status Vault answers with, for logs and tests.
  int http_status = 500;
  // When true, the reply also carries a Response whose data is {"error": message}, as Go
  // backends do for request errors.
  bool error_response = false;
};

// Maps a non-OK status as described in backend/logical/errors.h: the sentinel markers first,
// then the status code.
VaultError ToVaultError(const absl::Status& status);

}  // namespace vault_qualtrics

#endif  // PLUGIN_STATUS_MAPPING_H_
