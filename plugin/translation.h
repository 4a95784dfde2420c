// Conversion between Vault's protobuf messages (proto/backend.proto) and the engine's types
// (backend/logical/logical.h).
#ifndef PLUGIN_TRANSLATION_H_
#define PLUGIN_TRANSLATION_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backend/logical/logical.h"
#include "plugin/status_mapping.h"
#include "proto/backend.pb.h"

namespace vault_qualtrics {

// Converts a request. An empty or "null" data string becomes an empty object. Fails with
// kInvalidArgument when data or the secret's internal data is not a JSON object.
absl::StatusOr<Request> FromProtoRequest(const pb::Request& proto);

// Fills `proto` from `response`; data is always a JSON object. Invalid UTF-8 in strings is
// replaced with U+FFFD, because Vault decodes the data with Go's encoding/json.
void ToProtoResponse(const Response& response, pb::Response* proto);

// Fills `proto` from a Vault error; with error.error_response, also `response` with
// {"error": message}.
void ToProtoError(const VaultError& error, pb::ProtoError* proto, pb::Response* response);

// Sets issue_time to now. Vault rejects a lease whose issue_time is missing.
void SetLeaseIssueTimeNow(pb::LeaseOptions* lease);

}  // namespace vault_qualtrics

#endif  // PLUGIN_TRANSLATION_H_
