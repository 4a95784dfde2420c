// The contract between the engine (backend/) and the process that serves it to Vault
// (plugin/). Nothing here depends on gRPC: plugin/ translates Vault's protobuf messages into
// these types, and the engine is tested with in-memory implementations of Storage.
#ifndef BACKEND_LOGICAL_LOGICAL_H_
#define BACKEND_LOGICAL_LOGICAL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace vault_qualtrics {

// Vault's logical operations, named as in `logical.Operation` of Vault's SDK.
enum class Operation {
  kCreate,
  kRead,
  kUpdate,
  kPatch,
  kDelete,
  kList,
  kHelp,
  kAliasLookahead,
  kResolveRole,
  kHeader,
  kRevoke,
  kRenew,
  kRollback,
  kScan,
  kUnknown,
};

// Maps Vault's operation string ("read", "update", ...) to Operation; unknown strings map to
// Operation::kUnknown.
Operation ParseOperation(std::string_view name);
// Returns Vault's string for `op` ("read", "update", ...).
std::string_view OperationName(Operation op);

// One request from Vault, with the mount prefix already removed from `path`.
struct Request {
  Operation operation = Operation::kUnknown;
  std::string path;
  // The request body: always a JSON object (Vault's "null" body becomes an empty object).
  nlohmann::json data = nlohmann::json::object();
  std::string id;
  std::string mount_point;
  std::string mount_accessor;
  std::string entity_id;
  std::string display_name;
  std::string client_token_accessor;
  // Set on Vault's periodic rollback and on revoke/renew of a lease.
  std::string secret_internal_data;
};

// A successful reply. `data` must be a JSON object; warnings are shown to the caller as Vault
// warnings. A reply with `has_response == false` is sent as "no response" (HTTP 204).
//
// When `contains_secrets` is set, every string value in `data` is overwritten with zeros before
// its memory is released: when the response is destroyed and before an assignment replaces
// `data`. Moving transfers `data` and leaves the source's `data` null.
struct Response {
  nlohmann::json data = nlohmann::json::object();
  std::vector<std::string> warnings;
  bool has_response = true;
  // Set when `data` contains secret values, such as an exported private key.
  bool contains_secrets = false;

  Response() = default;
  Response(const Response& other) = default;
  Response(Response&& other) noexcept = default;
  Response& operator=(const Response& other);
  Response& operator=(Response&& other) noexcept;
  ~Response();

  static Response Empty() {
    Response response;
    response.has_response = false;
    return response;
  }
};

// Overwrites the characters of every string value in `value`, nested ones included, with
// zeros. Object keys are left as they are. Strings keep their length, so callers should drop
// `value` afterwards.
void ZeroJsonStrings(nlohmann::json& value);

// Test hook: when set, called with each string buffer that ZeroJsonStrings has just zeroed, so
// a test can inspect the bytes before they are freed. Pass nullptr to remove it. Not
// thread-safe.
using ZeroedStringObserver = void (*)(const char* data, size_t size);
void SetZeroedStringObserverForTesting(ZeroedStringObserver observer);

// Serialises `value` as compact JSON and appends it to `out`. The exact size is reserved
// first, so `out` is not reallocated while the JSON is written and leaves no partial copy
// behind. `error_handler` treats invalid UTF-8 in strings as dump() does: the default replaces
// it with U+FFFD, and strict throws nlohmann::json::type_error. It serialises twice (once to
// count), so it takes about twice as long as dump().
void DumpJsonInPlace(
    const nlohmann::json& value, std::string* out,
    nlohmann::json::error_handler_t error_handler = nlohmann::json::error_handler_t::replace);

// Paths that Vault treats specially, relative to the mount, with Vault's glob rules.
struct SpecialPaths {
  std::vector<std::string> root;
  std::vector<std::string> unauthenticated;
  std::vector<std::string> local_storage;
  std::vector<std::string> seal_wrap_storage;
};

// The mount's view of Vault's encrypted storage. Keys are relative to the mount. Every method
// may fail (Vault sealed, storage down, a performance standby rejecting a write); writes on a
// standby fail with ReadOnlyError(). Implementations are thread-safe.
class Storage {
 public:
  virtual ~Storage() = default;

  // Returns the value at `key`, or std::nullopt when there is none.
  virtual absl::StatusOr<std::optional<std::string>> Get(std::string_view key) = 0;
  virtual absl::Status Put(std::string_view key, std::string_view value) = 0;
  // Deleting a missing key succeeds.
  virtual absl::Status Delete(std::string_view key) = 0;
  // Lists the keys directly under `prefix`; sub-folders appear once, with a trailing '/'.
  virtual absl::StatusOr<std::vector<std::string>> List(std::string_view prefix) = 0;
};

// What Vault tells a mount about its surroundings. Implementations are thread-safe.
class SystemView {
 public:
  virtual ~SystemView() = default;

  // Vault's replication state bit set (see ReplicationState in Vault's SDK consts).
  virtual absl::StatusOr<uint32_t> ReplicationState() = 0;
  virtual absl::StatusOr<bool> LocalMount() = 0;
  // The Vault (or OpenBao) server's version string, e.g. "1.14.10".
  virtual absl::StatusOr<std::string> VaultVersion() = 0;
};

// The replication state bit Vault sets on a performance standby node.
inline constexpr uint32_t kReplicationPerformanceStandby = 1u << 4;

// Everything a backend instance gets from the mount that creates it. The storage and system
// view outlive the backend.
struct BackendConfig {
  // The mount's options plus plugin_name, plugin_type and plugin_version.
  std::map<std::string, std::string> config;
  std::string backend_uuid;
  Storage* storage = nullptr;
  SystemView* system_view = nullptr;
};

// The result of an existence check: `check_found` is false when the path has no check.
struct ExistenceResult {
  bool check_found = false;
  bool exists = false;
};

// One mount's engine. Vault calls every method concurrently from many threads; implementations
// are thread-safe.
class LogicalBackend {
 public:
  virtual ~LogicalBackend() = default;

  // Runs once after the mount is set up or unsealed, before requests; may use storage.
  virtual absl::Status Initialize() = 0;
  // Handles one request. A failed status becomes a Vault error response (see errors.h).
  virtual absl::StatusOr<Response> HandleRequest(const Request& request) = 0;
  virtual absl::StatusOr<ExistenceResult> HandleExistenceCheck(const Request& request) = 0;
  virtual SpecialPaths GetSpecialPaths() const = 0;
  // Drops any cached state derived from storage key `key` (Vault replicated a change).
  virtual void InvalidateKey(std::string_view key) = 0;
  // Stops background work; no method is called afterwards.
  virtual void Cleanup() = 0;
};

// Creates a backend for one mount. Must not touch storage: Vault calls Setup with an empty
// config just to learn the plugin's type.
using BackendFactory =
    std::function<absl::StatusOr<std::unique_ptr<LogicalBackend>>(const BackendConfig& config)>;

}  // namespace vault_qualtrics

#endif  // BACKEND_LOGICAL_LOGICAL_H_
