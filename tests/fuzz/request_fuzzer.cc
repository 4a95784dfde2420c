// libFuzzer target for request decoding: the plugin's translation of Vault's gRPC request
// (operation, path and the JSON body string) and the path framework's routing and typed field
// validation. The paths mirror the engine's patterns and field types, with handlers that read
// every field back, so no engine or storage is involved.
//
// Input layout: the first byte picks the operation, the bytes up to the first '\n' are the
// request path, and the rest is the JSON body as Vault sends it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "backend/framework/framework.h"
#include "backend/logical/logical.h"
#include "plugin/translation.h"
#include "proto/backend.pb.h"

namespace vault_qualtrics {
namespace {

using framework::FieldData;
using framework::FieldSchema;

constexpr const char* kOperations[] = {"read", "update", "create", "list", "delete", "help",
                                       "rollback", "patch"};

// Reads every declared field through its typed getter, as handlers do.
absl::StatusOr<Response> ReadAll(const std::vector<FieldSchema>& fields, const FieldData& data) {
  Response response;
  for (const FieldSchema& field : fields) {
    switch (field.type) {
      case framework::FieldType::kInt:
      case framework::FieldType::kDurationSeconds:
        response.data[field.name] = data.GetInt(field.name);
        break;
      case framework::FieldType::kBool:
        response.data[field.name] = data.GetBool(field.name);
        break;
      case framework::FieldType::kCommaStringSlice:
        response.data[field.name] = data.GetStrings(field.name);
        break;
      default:
        response.data[field.name] = data.GetString(field.name);
        break;
    }
  }
  return response;
}

framework::Path MakePath(std::string pattern, std::vector<FieldSchema> fields) {
  framework::Path path;
  path.pattern = std::move(pattern);
  path.fields = fields;
  framework::Handler handler = [fields](const Request&, const FieldData& data) {
    return ReadAll(fields, data);
  };
  for (Operation op : {Operation::kRead, Operation::kUpdate, Operation::kCreate,
                       Operation::kDelete, Operation::kList}) {
    path.operations[op] = {handler, "fuzz"};
  }
  path.existence_check = [](const Request&, const FieldData& data) -> absl::StatusOr<bool> {
    return data.Has("name");
  };
  return path;
}

const framework::Router& TheRouter() {
  static const framework::Router* router = [] {
    framework::BackendOptions options;
    options.help = "fuzz";
    options.paths.push_back(MakePath(
        "config",
        {framework::StringField("base_url", "url"), framework::StringField("api_token", "token"),
         framework::DurationField("request_timeout", "timeout", 30, 1, 600),
         framework::IntField("max_retries", "retries", 3, 0, 10),
         framework::BoolField("verify_connection", "verify", true)}));
    options.paths.push_back(MakePath(
        "roles/{name}",
        {framework::StringField("name", "name"),
         framework::EnumField("key_type", "type", {"rsa", "ec", "ed25519"}, "ec"),
         framework::IntField("key_bits", "bits", 0, 0, 8192),
         framework::DurationField("renew_before", "renew", 86400, 0, 315360000),
         framework::SliceField("allowed_names", "names"),
         framework::BoolField("allow_key_export", "export", false)}));
    options.paths.push_back(MakePath("roles/?", {}));
    options.paths.push_back(MakePath("cert/{role}", {framework::StringField("role", "role")}));
    options.paths.push_back(MakePath("certs/{id}", {framework::StringField("id", "id")}));
    options.paths.push_back(MakePath(
        "tidy", {framework::BoolField("tidy_expired", "expired", true),
                 framework::BoolField("tidy_superseded", "superseded", true)}));
    options.periodic = [](const Request&) { return absl::OkStatus(); };
    options.is_performance_standby = [] { return false; };
    absl::StatusOr<framework::Router> created = framework::Router::Create(std::move(options));
    if (!created.ok()) std::abort();
    return new framework::Router(*std::move(created));
  }();
  return *router;
}

}  // namespace
}  // namespace vault_qualtrics

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vault_qualtrics;
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t newline = input.find('\n');
  std::string_view path = input.substr(0, newline);
  std::string_view body = newline == std::string_view::npos ? "" : input.substr(newline + 1);

  pb::Request proto;
  proto.set_operation(kOperations[data[0] % (sizeof(kOperations) / sizeof(kOperations[0]))]);
  proto.set_path(std::string(path));
  proto.set_data(std::string(body));
  absl::StatusOr<Request> request = FromProtoRequest(proto);
  if (!request.ok()) return 0;
  if (!request->data.is_object()) std::abort();

  (void)TheRouter().HandleExistenceCheck(*request);
  absl::StatusOr<Response> response = TheRouter().HandleRequest(*request);
  if (response.ok()) {
    pb::Response out;
    ToProtoResponse(*response, &out);
  }
  (void)framework::ParseDurationSeconds(body);
  return 0;
}
