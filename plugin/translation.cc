#include "plugin/translation.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace vault_qualtrics {
namespace {

// Parses a JSON object sent as a string; "" and "null" mean an empty object.
absl::StatusOr<nlohmann::json> ParseObject(const std::string& text, std::string_view field) {
  if (text.empty() || text == "null") return nlohmann::json::object();
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request ", absl::string_view(field.data(), field.size()), " is not valid JSON"));
  }
  if (value.is_null()) return nlohmann::json::object();
  if (!value.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("request ", absl::string_view(field.data(), field.size()),
                     " must be a JSON object, got ", value.type_name()));
  }
  return value;
}

std::string DumpObject(const nlohmann::json& value) {
  if (!value.is_object()) return "{}";
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

absl::StatusOr<Request> FromProtoRequest(const pb::Request& proto) {
  Request request;
  request.operation = ParseOperation(proto.operation());
  request.path = proto.path();
  absl::StatusOr<nlohmann::json> data = ParseObject(proto.data(), "data");
  if (!data.ok()) return data.status();
  request.data = *std::move(data);
  request.id = proto.id();
  request.mount_point = proto.mount_point();
  request.mount_accessor = proto.mount_accessor();
  request.entity_id = proto.entity_id();
  request.display_name = proto.display_name();
  request.client_token_accessor = proto.client_token_accessor();
  if (proto.has_secret()) request.secret_internal_data = proto.secret().internal_data();
  return request;
}

void ToProtoResponse(const Response& response, pb::Response* proto) {
  if (response.contains_secrets && response.data.is_object()) {
    // Serialise straight into the reply at its final size, so no growing buffer leaves partial
    // copies of the secret behind. The engine's Response zeroes its own strings when freed.
    // NOTE: gRPC's synchronous server owns the reply message. It serialises the reply after
    // the handler returns and then frees the message and gRPC's send buffers without zeroing
    // them. nlohmann's serializer also leaves up to 512 escaped bytes in a stack buffer.
    std::string* data = proto->mutable_data();
    data->clear();
    DumpJsonInPlace(response.data, data);
  } else {
    proto->set_data(DumpObject(response.data));
  }
  for (const std::string& warning : response.warnings) proto->add_warnings(warning);
}

void ToProtoError(const VaultError& error, pb::ProtoError* proto, pb::Response* response) {
  proto->set_err_type(static_cast<uint32_t>(error.type));
  proto->set_err_msg(error.message);
  proto->set_err_code(error.code);
  if (error.error_response && response != nullptr) {
    nlohmann::json data = {{"error", error.message}};
    response->set_data(DumpObject(data));
  }
}

void SetLeaseIssueTimeNow(pb::LeaseOptions* lease) {
  absl::Time now = absl::Now();
  int64_t seconds = absl::ToUnixSeconds(now);
  lease->mutable_issue_time()->set_seconds(seconds);
  lease->mutable_issue_time()->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(now - absl::FromUnixSeconds(seconds))));
}

}  // namespace vault_qualtrics
