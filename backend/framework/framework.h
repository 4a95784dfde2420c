// A small path framework for the engine: paths with named segments, typed fields with
// validation, operations, existence checks, help text and OpenAPI output, all from one set of
// definitions.
//
// Example:
//   framework::Path path;
//   path.pattern = "roles/{name}";
//   path.fields = {framework::StringField("name", "Name of the role.")};
//   path.operations[Operation::kRead] = {[](const Request&, const framework::FieldData& data) {
//     ... data.GetString("name") ...
//   }, "Read a role."};
//
// Differences from Vault's Go framework, by choice:
// - Unknown request fields are rejected with InvalidArgument naming them (Vault ignores them
//   with a warning), so a typo never silently falls back to a default.
// - Pattern syntax is our own: literal text, `{name}` for a segment that matches Vault's
//   generic name rule (word characters, '-', '.', '@' inside), and a trailing `/?` for list
//   paths that match with or without the slash.
#ifndef BACKEND_FRAMEWORK_FRAMEWORK_H_
#define BACKEND_FRAMEWORK_FRAMEWORK_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backend/logical/logical.h"

namespace vault_qualtrics {
namespace framework {

enum class FieldType {
  kString,
  kInt,
  kBool,
  // Whole seconds. Accepts an integer, a numeric string, or a Go-style duration such as "90s",
  // "1h30m" or "30d" ('d' is 24 hours).
  kDurationSeconds,
  // A list of strings. Accepts a JSON array of strings or one comma-separated string.
  kCommaStringSlice,
  // A string that must be one of `allowed_values`.
  kEnum,
};

// One request or path field.
struct FieldSchema {
  std::string name;
  FieldType type = FieldType::kString;
  std::string description;
  // Returned by the getters when the request does not set the field. Null means no default.
  nlohmann::json default_value;
  std::vector<std::string> allowed_values;
  // Inclusive bounds for kInt and kDurationSeconds.
  std::optional<int64_t> min;
  std::optional<int64_t> max;
  // Maximum length in bytes of a string value (kString, kEnum, each kCommaStringSlice item).
  size_t max_length = 4096;
  // Marks a secret: OpenAPI flags it as sensitive so UIs mask it.
  bool sensitive = false;
  // Set for fields filled from the path pattern.
  bool in_path = false;
};

// Shorthands for building field lists.
FieldSchema StringField(std::string name, std::string description,
                        nlohmann::json default_value = nullptr);
FieldSchema IntField(std::string name, std::string description,
                     nlohmann::json default_value = nullptr, std::optional<int64_t> min = {},
                     std::optional<int64_t> max = {});
FieldSchema BoolField(std::string name, std::string description,
                      nlohmann::json default_value = nullptr);
FieldSchema DurationField(std::string name, std::string description,
                          nlohmann::json default_value = nullptr, std::optional<int64_t> min = {},
                          std::optional<int64_t> max = {});
FieldSchema SliceField(std::string name, std::string description);
FieldSchema EnumField(std::string name, std::string description,
                      std::vector<std::string> allowed_values,
                      nlohmann::json default_value = nullptr);

// Parses a duration ("90", "90s", "15m", "1h30m", "30d") into whole seconds. Fails with
// InvalidArgument on anything else, negative values included.
absl::StatusOr<int64_t> ParseDurationSeconds(std::string_view text);

// Validated request fields: every value has been converted to its field's type, so the getters
// cannot fail. Getters on a field the path does not declare return the type's zero value.
class FieldData {
 public:
  using Schema = std::map<std::string, FieldSchema>;

  FieldData() = default;
  FieldData(Schema schema, nlohmann::json values);
  // Shares a schema that a compiled path built once.
  FieldData(std::shared_ptr<const Schema> schema, nlohmann::json values);

  // True when the request set the field (or the path pattern captured it).
  bool Has(const std::string& name) const;
  std::string GetString(const std::string& name) const;
  int64_t GetInt(const std::string& name) const;
  bool GetBool(const std::string& name) const;
  int64_t GetDurationSeconds(const std::string& name) const { return GetInt(name); }
  std::vector<std::string> GetStrings(const std::string& name) const;

  // The validated values that the request set, as JSON.
  const nlohmann::json& values() const { return values_; }

 private:
  const nlohmann::json* Find(const std::string& name) const;

  std::shared_ptr<const Schema> schema_;
  nlohmann::json values_ = nlohmann::json::object();
};

// Converts raw request data into FieldData. Fails with InvalidArgument naming each unknown
// field, or the first field whose value has the wrong type or is out of range, and the fix.
absl::StatusOr<FieldData> ValidateFields(const std::vector<FieldSchema>& fields,
                                         const nlohmann::json& raw);
// The same, with `schema` mapping the names of `fields` to their schemas, so a caller that validates many requests
// against one field list builds the map once.
absl::StatusOr<FieldData> ValidateFields(const std::vector<FieldSchema>& fields,
                                         std::shared_ptr<const FieldData::Schema> schema,
                                         const nlohmann::json& raw);

using Handler = std::function<absl::StatusOr<Response>(const Request&, const FieldData&)>;
using ExistenceCheck = std::function<absl::StatusOr<bool>(const Request&, const FieldData&)>;

struct OperationSpec {
  Handler handler;
  std::string summary;
  // When true, a performance standby returns Vault's read-only error without calling the
  // handler, so Vault forwards the request to the active node.
  bool forward_performance_standby = false;
};

struct Path {
  std::string pattern;
  std::vector<FieldSchema> fields;
  std::map<Operation, OperationSpec> operations;
  ExistenceCheck existence_check;
  std::string help_synopsis;
  std::string help_description;
  // Whether Vault should treat the path as requiring sudo (a root path).
  bool root = false;
};

// A compiled path. A pattern is matched piece by piece without std::regex: literal text,
// `{name}` segments and the optional trailing slash. A pattern where that walk could differ
// from the regular expression the pattern compiles to (a segment followed by another segment or
// by a literal that starts with a name character, as in "{id}.pem") is matched with
// std::regex instead. NOTE: libstdc++'s std::regex recurses once per input character, so such a
// pattern can overflow the stack on a request path of tens of thousands of characters. The
// engine registers no such pattern.
class CompiledPath {
 public:
  static absl::StatusOr<CompiledPath> Compile(Path path);

  // Returns the captured segments when `request_path` matches the whole pattern.
  std::optional<std::map<std::string, std::string>> Match(const std::string& request_path) const;
  const Path& path() const { return path_; }
  // The path's fields by name, shared by every FieldData validated against this path.
  const std::shared_ptr<const FieldData::Schema>& schema() const { return schema_; }
  // The path in OpenAPI form, e.g. "/roles/{name}".
  std::string OpenApiPath() const;
  // The regular expression the pattern compiles to, matched against the whole path.
  const std::string& regex_source() const { return regex_source_; }
  // True when Match uses std::regex because the pattern has no piece-by-piece form.
  bool uses_regex() const { return regex_ != nullptr; }

 private:
  struct Piece {
    enum class Kind { kLiteral, kSegment, kOptionalTrailingSlash };
    Kind kind;
    // The text of a literal piece.
    std::string literal;
  };

  bool MatchPieces(std::string_view request_path, std::vector<std::string_view>* segments) const;

  Path path_;
  std::shared_ptr<const FieldData::Schema> schema_;
  std::vector<Piece> pieces_;
  std::string regex_source_;
  // Set only for patterns that the pieces cannot match exactly.
  std::shared_ptr<const std::regex> regex_;
  std::vector<std::string> segment_names_;
};

struct BackendOptions {
  std::string help;
  std::vector<Path> paths;
  SpecialPaths special_paths;
  // Called for Vault's periodic `rollback` operation (about once a minute).
  std::function<absl::Status(const Request&)> periodic;
  // Returns true when the node is a performance standby.
  std::function<bool()> is_performance_standby;
};

// Routes requests to paths. Thread-safe after construction: it holds no mutable state.
class Router {
 public:
  static absl::StatusOr<Router> Create(BackendOptions options);

  // Handles `request`: rollback runs the periodic hook; help returns help text and OpenAPI;
  // other operations validate fields and call the path's handler. Unknown paths fail with
  // UnsupportedPathError, unknown operations with UnsupportedOperationError.
  absl::StatusOr<Response> HandleRequest(const Request& request) const;
  absl::StatusOr<ExistenceResult> HandleExistenceCheck(const Request& request) const;
  // The OpenAPI document for every path, or for one path when `only` is set.
  nlohmann::json OpenApi(const CompiledPath* only = nullptr) const;

 private:
  Router() = default;
  const CompiledPath* Find(const std::string& path,
                           std::map<std::string, std::string>* captures) const;
  absl::StatusOr<FieldData> Fields(const CompiledPath& path, const Request& request,
                                   const std::map<std::string, std::string>& captures) const;
  Response RootHelp() const;
  Response PathHelp(const CompiledPath& path) const;

  BackendOptions options_;
  std::vector<CompiledPath> paths_;
};

}  // namespace framework
}  // namespace vault_qualtrics

#endif  // BACKEND_FRAMEWORK_FRAMEWORK_H_
