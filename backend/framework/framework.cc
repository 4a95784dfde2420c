#include "backend/framework/framework.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "backend/logical/errors.h"

namespace vault_qualtrics {
namespace framework {
namespace {

// Vault's generic name rule: a word character, optionally followed by word characters, '-',
// '.' or '@', ending in a word character.
constexpr char kSegmentRegex[] = R"((\w(?:[\w.@-]*\w)?))";

// The regular expression's \w: ASCII letters, digits and '_'. std::regex classifies with the
// global locale, which the engine never changes from "C", so bytes of UTF-8 sequences are not
// word characters.
bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// A character that may appear inside a segment: [\w.@-].
bool IsSegmentChar(char c) { return IsWordChar(c) || c == '.' || c == '@' || c == '-'; }

std::string TypeName(FieldType type) {
  switch (type) {
    case FieldType::kString:
      return "string";
    case FieldType::kInt:
      return "integer";
    case FieldType::kBool:
      return "boolean";
    case FieldType::kDurationSeconds:
      return "duration";
    case FieldType::kCommaStringSlice:
      return "list of strings";
    case FieldType::kEnum:
      return "string";
  }
  return "string";
}

absl::Status FieldError(const FieldSchema& field, std::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid field \"", field.name, "\": ", std::string(problem)));
}

absl::StatusOr<int64_t> ParseInteger(std::string_view text) {
  if (text.empty() || text.size() > 20) return absl::InvalidArgumentError("not an integer");
  size_t start = (text[0] == '-' || text[0] == '+') ? 1 : 0;
  if (start == text.size()) return absl::InvalidArgumentError("not an integer");
  int64_t value = 0;
  for (size_t i = start; i < text.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
      return absl::InvalidArgumentError("not an integer");
    }
    int digit = text[i] - '0';
    if (value > (std::numeric_limits<int64_t>::max() - digit) / 10) {
      return absl::InvalidArgumentError("integer too large");
    }
    value = value * 10 + digit;
  }
  return text[0] == '-' ? -value : value;
}

absl::Status CheckBounds(const FieldSchema& field, int64_t value) {
  if (field.min && value < *field.min) {
    return FieldError(field, absl::StrCat("value ", value, " is below the minimum ", *field.min));
  }
  if (field.max && value > *field.max) {
    return FieldError(field, absl::StrCat("value ", value, " is above the maximum ", *field.max));
  }
  return absl::OkStatus();
}

absl::Status CheckLength(const FieldSchema& field, const std::string& value) {
  if (value.size() > field.max_length) {
    return FieldError(field, absl::StrCat("value is ", value.size(), " bytes long; the maximum is ",
                                          field.max_length));
  }
  return absl::OkStatus();
}

absl::StatusOr<nlohmann::json> ConvertString(const FieldSchema& field, const nlohmann::json& raw) {
  std::string value;
  if (raw.is_string()) {
    value = raw.get<std::string>();
  } else if (raw.is_number_integer() || raw.is_boolean()) {
    value = raw.dump();
  } else {
    return FieldError(field, "expected a string");
  }
  if (absl::Status status = CheckLength(field, value); !status.ok()) return status;
  return nlohmann::json(value);
}

// Describes what an integer field accepts, with the field's own default or lower bound as the
// example.
std::string ExpectedInteger(const FieldSchema& field) {
  if (field.default_value.is_number_integer()) {
    return absl::StrCat("expected an integer such as ", field.default_value.get<int64_t>());
  }
  if (field.min.has_value()) return absl::StrCat("expected an integer such as ", *field.min);
  return "expected an integer";
}

absl::StatusOr<nlohmann::json> ConvertInt(const FieldSchema& field, const nlohmann::json& raw) {
  int64_t value = 0;
  if (raw.is_number_integer()) {
    value = raw.get<int64_t>();
  } else if (raw.is_number_unsigned()) {
    return FieldError(field, "value is too large");
  } else if (raw.is_string()) {
    absl::StatusOr<int64_t> parsed = ParseInteger(raw.get<std::string>());
    if (!parsed.ok()) return FieldError(field, ExpectedInteger(field));
    value = *parsed;
  } else {
    return FieldError(field, ExpectedInteger(field));
  }
  if (absl::Status status = CheckBounds(field, value); !status.ok()) return status;
  return nlohmann::json(value);
}

absl::StatusOr<nlohmann::json> ConvertBool(const FieldSchema& field, const nlohmann::json& raw) {
  if (raw.is_boolean()) return raw;
  if (raw.is_string()) {
    std::string text = raw.get<std::string>();
    if (text == "true" || text == "1") return nlohmann::json(true);
    if (text == "false" || text == "0") return nlohmann::json(false);
  }
  if (raw.is_number_integer()) {
    int64_t number = raw.get<int64_t>();
    if (number == 0 || number == 1) return nlohmann::json(number == 1);
  }
  return FieldError(field, "expected true or false");
}

absl::StatusOr<nlohmann::json> ConvertDuration(const FieldSchema& field,
                                               const nlohmann::json& raw) {
  int64_t seconds = 0;
  if (raw.is_number_integer()) {
    seconds = raw.get<int64_t>();
    if (seconds < 0) return FieldError(field, "a duration cannot be negative");
  } else if (raw.is_string()) {
    absl::StatusOr<int64_t> parsed = ParseDurationSeconds(raw.get<std::string>());
    if (!parsed.ok()) {
      return FieldError(field,
                        "expected seconds or a duration such as \"90s\", \"12h\" or \"30d\"");
    }
    seconds = *parsed;
  } else {
    return FieldError(field, "expected seconds or a duration such as \"90s\", \"12h\" or \"30d\"");
  }
  if (absl::Status status = CheckBounds(field, seconds); !status.ok()) return status;
  return nlohmann::json(seconds);
}

absl::StatusOr<nlohmann::json> ConvertSlice(const FieldSchema& field, const nlohmann::json& raw) {
  std::vector<std::string> items;
  if (raw.is_string()) {
    for (absl::string_view item : absl::StrSplit(raw.get<std::string>(), ',')) {
      absl::string_view trimmed = absl::StripAsciiWhitespace(item);
      if (!trimmed.empty()) items.emplace_back(trimmed);
    }
  } else if (raw.is_array()) {
    for (const nlohmann::json& item : raw) {
      if (!item.is_string()) return FieldError(field, "expected a list of strings");
      items.push_back(item.get<std::string>());
    }
  } else {
    return FieldError(field, "expected a list of strings or one comma-separated string");
  }
  for (const std::string& item : items) {
    if (absl::Status status = CheckLength(field, item); !status.ok()) return status;
  }
  return nlohmann::json(items);
}

absl::StatusOr<nlohmann::json> ConvertEnum(const FieldSchema& field, const nlohmann::json& raw) {
  if (!raw.is_string()) {
    return FieldError(field,
                      absl::StrCat("expected one of: ", absl::StrJoin(field.allowed_values, ", ")));
  }
  std::string value = raw.get<std::string>();
  if (std::find(field.allowed_values.begin(), field.allowed_values.end(), value) ==
      field.allowed_values.end()) {
    std::string shown = value.size() > 64 ? value.substr(0, 64) + "..." : value;
    return FieldError(field, absl::StrCat("\"", shown, "\" is not allowed; use one of: ",
                                          absl::StrJoin(field.allowed_values, ", ")));
  }
  return nlohmann::json(value);
}

absl::StatusOr<nlohmann::json> Convert(const FieldSchema& field, const nlohmann::json& raw) {
  switch (field.type) {
    case FieldType::kString:
      return ConvertString(field, raw);
    case FieldType::kInt:
      return ConvertInt(field, raw);
    case FieldType::kBool:
      return ConvertBool(field, raw);
    case FieldType::kDurationSeconds:
      return ConvertDuration(field, raw);
    case FieldType::kCommaStringSlice:
      return ConvertSlice(field, raw);
    case FieldType::kEnum:
      return ConvertEnum(field, raw);
  }
  return FieldError(field, "unsupported field type");
}

nlohmann::json OpenApiSchema(const FieldSchema& field) {
  nlohmann::json schema = nlohmann::json::object();
  switch (field.type) {
    case FieldType::kString:
      schema["type"] = "string";
      break;
    case FieldType::kInt:
      schema["type"] = "integer";
      break;
    case FieldType::kBool:
      schema["type"] = "boolean";
      break;
    case FieldType::kDurationSeconds:
      schema["type"] = "string";
      schema["format"] = "duration";
      break;
    case FieldType::kCommaStringSlice:
      schema["type"] = "array";
      schema["items"] = {{"type", "string"}};
      break;
    case FieldType::kEnum:
      schema["type"] = "string";
      schema["enum"] = field.allowed_values;
      break;
  }
  schema["description"] = field.description;
  if (!field.default_value.is_null()) schema["default"] = field.default_value;
  if (field.min) schema["minimum"] = *field.min;
  if (field.max) schema["maximum"] = *field.max;
  if (field.sensitive) schema["x-vault-displayAttrs"] = {{"sensitive", true}};
  return schema;
}

// Turns "roles/{name}" into "RolesName"-style identifiers for OpenAPI operation ids.
std::string OperationIdBase(const std::string& pattern) {
  std::string id;
  bool upper = true;
  for (char c : pattern) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      id += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
      upper = false;
    } else {
      upper = true;
    }
  }
  return id;
}

}  // namespace

FieldSchema StringField(std::string name, std::string description, nlohmann::json default_value) {
  FieldSchema field;
  field.name = std::move(name);
  field.type = FieldType::kString;
  field.description = std::move(description);
  field.default_value = std::move(default_value);
  return field;
}

FieldSchema IntField(std::string name, std::string description, nlohmann::json default_value,
                     std::optional<int64_t> min, std::optional<int64_t> max) {
  FieldSchema field =
      StringField(std::move(name), std::move(description), std::move(default_value));
  field.type = FieldType::kInt;
  field.min = min;
  field.max = max;
  return field;
}

FieldSchema BoolField(std::string name, std::string description, nlohmann::json default_value) {
  FieldSchema field =
      StringField(std::move(name), std::move(description), std::move(default_value));
  field.type = FieldType::kBool;
  return field;
}

FieldSchema DurationField(std::string name, std::string description, nlohmann::json default_value,
                          std::optional<int64_t> min, std::optional<int64_t> max) {
  FieldSchema field =
      IntField(std::move(name), std::move(description), std::move(default_value), min, max);
  field.type = FieldType::kDurationSeconds;
  return field;
}

FieldSchema SliceField(std::string name, std::string description) {
  FieldSchema field = StringField(std::move(name), std::move(description));
  field.type = FieldType::kCommaStringSlice;
  return field;
}

FieldSchema EnumField(std::string name, std::string description,
                      std::vector<std::string> allowed_values, nlohmann::json default_value) {
  FieldSchema field =
      StringField(std::move(name), std::move(description), std::move(default_value));
  field.type = FieldType::kEnum;
  field.allowed_values = std::move(allowed_values);
  return field;
}

absl::StatusOr<int64_t> ParseDurationSeconds(std::string_view text) {
  if (text.empty() || text.size() > 32) return absl::InvalidArgumentError("invalid duration");
  absl::StatusOr<int64_t> plain = ParseInteger(text);
  if (plain.ok()) {
    if (*plain < 0) return absl::InvalidArgumentError("negative duration");
    return *plain;
  }
  // A sequence of <digits><unit> pairs.
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == start || i - start > 12) return absl::InvalidArgumentError("invalid duration");
    int64_t number = *ParseInteger(text.substr(start, i - start));
    if (i == text.size()) return absl::InvalidArgumentError("duration unit missing");
    int64_t unit = 0;
    switch (text[i]) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        return absl::InvalidArgumentError("unknown duration unit");
    }
    ++i;
    if (number > (std::numeric_limits<int64_t>::max() - total) / unit) {
      return absl::InvalidArgumentError("duration too large");
    }
    total += number * unit;
  }
  return total;
}

FieldData::FieldData(Schema schema, nlohmann::json values)
    : schema_(std::make_shared<const Schema>(std::move(schema))), values_(std::move(values)) {}

FieldData::FieldData(std::shared_ptr<const Schema> schema, nlohmann::json values)
    : schema_(std::move(schema)), values_(std::move(values)) {}

bool FieldData::Has(const std::string& name) const { return values_.contains(name); }

const nlohmann::json* FieldData::Find(const std::string& name) const {
  auto value = values_.find(name);
  if (value != values_.end()) return &*value;
  if (schema_ == nullptr) return nullptr;
  auto field = schema_->find(name);
  if (field != schema_->end() && !field->second.default_value.is_null()) {
    return &field->second.default_value;
  }
  return nullptr;
}

std::string FieldData::GetString(const std::string& name) const {
  const nlohmann::json* value = Find(name);
  return value != nullptr && value->is_string() ? value->get<std::string>() : std::string();
}

int64_t FieldData::GetInt(const std::string& name) const {
  const nlohmann::json* value = Find(name);
  return value != nullptr && value->is_number_integer() ? value->get<int64_t>() : 0;
}

bool FieldData::GetBool(const std::string& name) const {
  const nlohmann::json* value = Find(name);
  return value != nullptr && value->is_boolean() && value->get<bool>();
}

std::vector<std::string> FieldData::GetStrings(const std::string& name) const {
  const nlohmann::json* value = Find(name);
  if (value == nullptr || !value->is_array()) return {};
  return value->get<std::vector<std::string>>();
}

absl::StatusOr<FieldData> ValidateFields(const std::vector<FieldSchema>& fields,
                                         const nlohmann::json& raw) {
  auto schema = std::make_shared<FieldData::Schema>();
  for (const FieldSchema& field : fields) (*schema)[field.name] = field;
  return ValidateFields(fields, std::move(schema), raw);
}

absl::StatusOr<FieldData> ValidateFields(const std::vector<FieldSchema>& fields,
                                         std::shared_ptr<const FieldData::Schema> schema,
                                         const nlohmann::json& raw) {
  if (!raw.is_object()) return absl::InvalidArgumentError("request data must be a JSON object");

  std::vector<std::string> unknown;
  for (auto item = raw.begin(); item != raw.end(); ++item) {
    if (schema->count(item.key()) == 0) {
      std::string name = item.key().size() > 64 ? item.key().substr(0, 64) + "..." : item.key();
      unknown.push_back(absl::StrCat("\"", name, "\""));
    }
  }
  if (!unknown.empty()) {
    std::vector<std::string> known;
    for (const FieldSchema& field : fields) {
      if (!field.in_path) known.push_back(field.name);
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown field", unknown.size() > 1 ? "s " : " ", absl::StrJoin(unknown, ", "),
        known.empty() ? "; this path takes no fields"
                      : absl::StrCat("; this path accepts: ", absl::StrJoin(known, ", "))));
  }

  nlohmann::json values = nlohmann::json::object();
  for (auto item = raw.begin(); item != raw.end(); ++item) {
    const FieldSchema& field = schema->at(item.key());
    // Vault's CLI sends an explicit null for `field=` in some versions; treat it as unset.
    if (item.value().is_null()) continue;
    absl::StatusOr<nlohmann::json> converted = Convert(field, item.value());
    if (!converted.ok()) return converted.status();
    values[item.key()] = *std::move(converted);
  }
  return FieldData(std::move(schema), std::move(values));
}

absl::StatusOr<CompiledPath> CompiledPath::Compile(Path path) {
  CompiledPath compiled;
  std::string regex;
  const std::string& pattern = path.pattern;
  auto append_literal = [&compiled](char c) {
    if (compiled.pieces_.empty() || compiled.pieces_.back().kind != Piece::Kind::kLiteral) {
      compiled.pieces_.push_back({Piece::Kind::kLiteral, ""});
    }
    compiled.pieces_.back().literal += c;
  };
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '{') {
      size_t end = pattern.find('}', i);
      if (end == std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat("unclosed '{' in pattern ", pattern));
      }
      compiled.segment_names_.push_back(pattern.substr(i + 1, end - i - 1));
      compiled.pieces_.push_back({Piece::Kind::kSegment, ""});
      regex += kSegmentRegex;
      i = end;
    } else if (c == '/' && i + 2 == pattern.size() && pattern[i + 1] == '?') {
      compiled.pieces_.push_back({Piece::Kind::kOptionalTrailingSlash, ""});
      regex += "/?";
      break;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '/') {
      append_literal(c);
      regex += c;
    } else {
      append_literal(c);
      regex += '\\';
      regex += c;
    }
  }
  for (const std::string& name : compiled.segment_names_) {
    auto field = std::find_if(path.fields.begin(), path.fields.end(),
                              [&](const FieldSchema& f) { return f.name == name; });
    if (field == path.fields.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("pattern ", pattern, " captures ", name, " but declares no such field"));
    }
    field->in_path = true;
  }

  // A segment takes the whole run of name characters that starts at its position. That equals
  // the regular expression's match only when the piece after the segment cannot start with a
  // name character, so other patterns keep std::regex.
  for (size_t i = 0; i < compiled.pieces_.size(); ++i) {
    if (compiled.pieces_[i].kind != Piece::Kind::kSegment || i + 1 == compiled.pieces_.size()) {
      continue;
    }
    const Piece& next = compiled.pieces_[i + 1];
    bool exact = next.kind == Piece::Kind::kOptionalTrailingSlash ||
                 (next.kind == Piece::Kind::kLiteral && !IsSegmentChar(next.literal[0]));
    if (!exact) {
      compiled.regex_ = std::make_shared<const std::regex>(
          regex, std::regex::ECMAScript | std::regex::optimize);
      break;
    }
  }
  compiled.regex_source_ = std::move(regex);

  auto schema = std::make_shared<FieldData::Schema>();
  for (const FieldSchema& field : path.fields) (*schema)[field.name] = field;
  compiled.schema_ = std::move(schema);
  compiled.path_ = std::move(path);
  return compiled;
}

bool CompiledPath::MatchPieces(std::string_view request_path,
                               std::vector<std::string_view>* segments) const {
  size_t position = 0;
  for (const Piece& piece : pieces_) {
    switch (piece.kind) {
      case Piece::Kind::kLiteral:
        if (request_path.compare(position, piece.literal.size(), piece.literal) != 0) return false;
        position += piece.literal.size();
        break;
      case Piece::Kind::kSegment: {
        size_t end = position;
        while (end < request_path.size() && IsSegmentChar(request_path[end])) ++end;
        // Vault's name rule: at least one character, starting and ending with a word character.
        if (end == position || !IsWordChar(request_path[position]) ||
            !IsWordChar(request_path[end - 1])) {
          return false;
        }
        segments->push_back(request_path.substr(position, end - position));
        position = end;
        break;
      }
      case Piece::Kind::kOptionalTrailingSlash:
        if (position < request_path.size() && request_path[position] == '/') ++position;
        break;
    }
  }
  return position == request_path.size();
}

std::optional<std::map<std::string, std::string>> CompiledPath::Match(
    const std::string& request_path) const {
  std::map<std::string, std::string> captures;
  if (regex_ != nullptr) {
    std::smatch match;
    if (!std::regex_match(request_path, match, *regex_)) return std::nullopt;
    for (size_t i = 0; i < segment_names_.size(); ++i) {
      captures[segment_names_[i]] = match[i + 1].str();
    }
    return captures;
  }
  std::vector<std::string_view> segments;
  segments.reserve(segment_names_.size());
  if (!MatchPieces(request_path, &segments)) return std::nullopt;
  for (size_t i = 0; i < segment_names_.size(); ++i) {
    captures[segment_names_[i]] = std::string(segments[i]);
  }
  return captures;
}

std::string CompiledPath::OpenApiPath() const {
  std::string path = "/" + path_.pattern;
  if (path.size() >= 2 && path.compare(path.size() - 2, 2, "/?") == 0) {
    path.resize(path.size() - 1);
  }
  return path;
}

absl::StatusOr<Router> Router::Create(BackendOptions options) {
  Router router;
  for (Path& path : options.paths) {
    absl::StatusOr<CompiledPath> compiled = CompiledPath::Compile(std::move(path));
    if (!compiled.ok()) return compiled.status();
    router.paths_.push_back(*std::move(compiled));
  }
  options.paths.clear();
  router.options_ = std::move(options);
  return router;
}

const CompiledPath* Router::Find(const std::string& path,
                                 std::map<std::string, std::string>* captures) const {
  for (const CompiledPath& compiled : paths_) {
    std::optional<std::map<std::string, std::string>> match = compiled.Match(path);
    if (match) {
      *captures = *std::move(match);
      return &compiled;
    }
  }
  return nullptr;
}

absl::StatusOr<FieldData> Router::Fields(const CompiledPath& path, const Request& request,
                                         const std::map<std::string, std::string>& captures) const {
  nlohmann::json raw = request.data.is_object() ? request.data : nlohmann::json::object();
  // Path segments win over body fields of the same name, as in Vault.
  for (const auto& [name, value] : captures) raw[name] = value;
  return ValidateFields(path.path().fields, path.schema(), raw);
}

absl::StatusOr<Response> Router::HandleRequest(const Request& request) const {
  if (request.operation == Operation::kRollback) {
    if (options_.periodic) {
      if (absl::Status status = options_.periodic(request); !status.ok()) return status;
    }
    return Response::Empty();
  }
  if (request.operation == Operation::kHelp && request.path.empty()) return RootHelp();

  std::map<std::string, std::string> captures;
  const CompiledPath* path = Find(request.path, &captures);
  if (path == nullptr) return UnsupportedPathError(request.path);
  if (request.operation == Operation::kHelp) return PathHelp(*path);

  const auto& operations = path->path().operations;
  auto operation = operations.find(request.operation);
  // Vault sends create only when the path has an existence check that reported "missing";
  // paths without a separate create handler treat it as update.
  if (operation == operations.end() && request.operation == Operation::kCreate) {
    operation = operations.find(Operation::kUpdate);
  }
  if (operation == operations.end()) {
    return UnsupportedOperationError(OperationName(request.operation), request.path);
  }
  if (operation->second.forward_performance_standby && options_.is_performance_standby &&
      options_.is_performance_standby()) {
    return ReadOnlyError();
  }

  absl::StatusOr<FieldData> fields = Fields(*path, request, captures);
  if (!fields.ok()) return fields.status();
  return operation->second.handler(request, *fields);
}

absl::StatusOr<ExistenceResult> Router::HandleExistenceCheck(const Request& request) const {
  std::map<std::string, std::string> captures;
  const CompiledPath* path = Find(request.path, &captures);
  if (path == nullptr) return UnsupportedPathError(request.path);
  ExistenceResult result;
  if (!path->path().existence_check) return result;
  result.check_found = true;
  // Only the path segments are validated here. Body fields are checked when the create or update
  // runs, because Vault reports an existence-check error as a 500 rather than the 400 it is.
  Request segments_only = request;
  segments_only.data = nlohmann::json::object();
  absl::StatusOr<FieldData> fields = Fields(*path, segments_only, captures);
  if (!fields.ok()) return fields.status();
  absl::StatusOr<bool> exists = path->path().existence_check(request, *fields);
  if (!exists.ok()) return exists.status();
  result.exists = *exists;
  return result;
}

nlohmann::json Router::OpenApi(const CompiledPath* only) const {
  nlohmann::json paths = nlohmann::json::object();
  for (const CompiledPath& compiled : paths_) {
    if (only != nullptr && &compiled != only) continue;
    const Path& path = compiled.path();
    nlohmann::json item = nlohmann::json::object();
    item["description"] = path.help_synopsis;
    if (path.root) item["x-vault-sudo"] = true;
    if (path.existence_check) item["x-vault-createSupported"] = true;

    nlohmann::json parameters = nlohmann::json::array();
    nlohmann::json properties = nlohmann::json::object();
    for (const FieldSchema& field : path.fields) {
      if (field.in_path) {
        parameters.push_back({{"name", field.name},
                              {"description", field.description},
                              {"in", "path"},
                              {"schema", {{"type", "string"}}},
                              {"required", true}});
      } else {
        properties[field.name] = OpenApiSchema(field);
      }
    }
    if (!parameters.empty()) item["parameters"] = parameters;

    std::string id_base = OperationIdBase(path.pattern);
    nlohmann::json ok = {{"200", {{"description", "OK"}}}};
    for (const auto& [op, spec] : path.operations) {
      nlohmann::json operation = {{"summary", spec.summary}, {"responses", ok}};
      std::string method;
      switch (op) {
        case Operation::kRead:
          method = "get";
          operation["operationId"] = "read" + id_base;
          break;
        case Operation::kList:
          method = "get";
          operation["operationId"] = "list" + id_base;
          operation["parameters"] =
              nlohmann::json::array({{{"name", "list"},
                                      {"description", "Must be set to `true`"},
                                      {"in", "query"},
                                      {"schema", {{"type", "string"}, {"enum", {"true"}}}},
                                      {"required", true}}});
          break;
        case Operation::kCreate:
        case Operation::kUpdate:
          method = "post";
          operation["operationId"] = "write" + id_base;
          if (!properties.empty()) {
            operation["requestBody"] = {
                {"required", true},
                {"content",
                 {{"application/json",
                   {{"schema", {{"type", "object"}, {"properties", properties}}}}}}}};
          }
          break;
        case Operation::kDelete:
          method = "delete";
          operation["operationId"] = "delete" + id_base;
          break;
        default:
          continue;
      }
      // A path with both read and list keeps read as "get"; list is exposed with ?list=true.
      if (item.contains(method) && op == Operation::kList) continue;
      item[method] = operation;
    }
    paths[compiled.OpenApiPath()] = item;
  }
  return {{"openapi", "3.0.2"},
          {"info",
           {{"title", "vault-plugin-secrets-qualtrics"},
            {"description", options_.help.substr(0, options_.help.find('\n'))},
            {"version", ""}}},
          {"paths", paths},
          {"components", {{"schemas", nlohmann::json::object()}}}};
}

Response Router::RootHelp() const {
  std::string text = options_.help;
  text +=
      "\n\n## PATHS\n\nThe following paths are supported by this backend. To view help for any of\n"
      "the paths below, use the help command with any route matching the path pattern.\n";
  for (const CompiledPath& compiled : paths_) {
    absl::StrAppend(&text, "\n    ", compiled.path().pattern, "\n        ",
                    compiled.path().help_synopsis, "\n");
  }
  Response response;
  response.data = {{"help", text}, {"see_also", nlohmann::json::array()}, {"openapi", OpenApi()}};
  return response;
}

Response Router::PathHelp(const CompiledPath& compiled) const {
  const Path& path = compiled.path();
  std::string text = absl::StrCat("Request:        ", path.pattern, "\nMatching Route: ^",
                                  path.pattern, "$\n\n", path.help_synopsis, "\n");
  if (!path.fields.empty()) {
    text += "\n## PARAMETERS\n";
    for (const FieldSchema& field : path.fields) {
      absl::StrAppend(&text, "\n", field.name, " (", TypeName(field.type), ")\n\n    ",
                      field.description, "\n");
      if (!field.allowed_values.empty()) {
        absl::StrAppend(&text, "    Allowed values: ", absl::StrJoin(field.allowed_values, ", "),
                        "\n");
      }
      if (!field.default_value.is_null()) {
        absl::StrAppend(&text, "    Default: ", field.default_value.dump(), "\n");
      }
    }
  }
  if (!path.help_description.empty()) {
    absl::StrAppend(&text, "\n## DESCRIPTION\n\n", path.help_description, "\n");
  }
  Response response;
  response.data = {
      {"help", text}, {"see_also", nlohmann::json::array()}, {"openapi", OpenApi(&compiled)}};
  return response;
}

}  // namespace framework
}  // namespace vault_qualtrics
