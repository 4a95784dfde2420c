// roles/<name> and roles/: what key and subject a role's certificates get, and their life cycle.
#include <regex>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "backend/crypto/csr.h"
#include "backend/crypto/key.h"
#include "backend/paths.h"

namespace vault_qualtrics {
namespace {

using framework::FieldData;

extern const char kRoleSynopsis[];
extern const char kRoleDescription[];
extern const char kRoleListSynopsis[];

// Subject fields as the CSR's distinguished name carries them (64 characters at most).
constexpr size_t kMaxSubjectLength = 64;

std::vector<framework::FieldSchema> RoleFields() {
  using namespace framework;
  std::vector<FieldSchema> fields = {
      StringField("name", "Name of the role."),
      EnumField("key_type", "Key algorithm of the role's certificates.", {"rsa", "ec", "ed25519"},
                "ec"),
      IntField("key_bits",
               "Key size: rsa 2048, 3072 or 4096; ec 256 (P-256) or 384 (P-384); ed25519 256. "
               "0 picks the type's default (rsa 2048, ec 256).",
               0, 0, 4096),
      EnumField("signature_digest", "Digest of the CSR signature; ignored for ed25519.",
                {"sha256", "sha384"}, "sha256"),
      StringField("common_name",
                  "Subject common name of the CSR. Default: {datacenter}.qualtrics.com, or the "
                  "host of base_url."),
      StringField("organization", "Subject organization (O)."),
      StringField("organizational_unit", "Subject organizational unit (OU)."),
      StringField("locality", "Subject locality (L)."),
      StringField("province", "Subject state or province (ST)."),
      StringField("country", "Subject country (C), a two-letter ISO 3166 code."),
      DurationField("renew_before",
                    "Renew the certificate when it expires within this time, in seconds or as a "
                    "duration such as \"60d\". Qualtrics starts warning 60 days before expiry.",
                    kDefaultRenewBeforeSeconds, 0, 10 * 365 * 86400),
      DurationField("revoke_grace",
                    "How long a superseded certificate stays valid before it is revoked at "
                    "Qualtrics, in seconds or as a duration such as \"24h\".",
                    kDefaultRevokeGraceSeconds, 0, 365 * 86400),
      IntField("max_certificates",
               "Certificates the role may hold at Qualtrics at once, superseded ones included. "
               "After an issuance beyond it, the oldest superseded certificates are revoked "
               "before their grace period ends. 0: no limit other than the organization's.",
               0, 0, 1000),
      BoolField("allow_key_export",
                "Return the private key to readers of cert/<role>. When false, the key never "
                "leaves Vault's storage.",
                false),
  };
  for (FieldSchema& field : fields) {
    if (field.name == "common_name" || field.name == "organization" ||
        field.name == "organizational_unit" || field.name == "locality" ||
        field.name == "province" || field.name == "country") {
      field.max_length = kMaxSubjectLength;
    }
  }
  return fields;
}

// Qualtrics issues client certificates valid for one year.
constexpr int64_t kQualtricsLifetimeSeconds = 365 * 86400;

absl::Status Invalid(std::string_view field, std::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid field \"", std::string(field), "\": ", std::string(message)));
}

// Applies the request's fields to `role` and checks the result as a whole.
absl::Status Merge(const FieldData& data, bool creating, RoleRecord& role) {
  auto set = [&](const char* name, std::string& target) {
    if (creating || data.Has(name)) target = data.GetString(name);
  };
  set("key_type", role.key_type);
  set("signature_digest", role.signature_digest);
  set("common_name", role.common_name);
  set("organization", role.organization);
  set("organizational_unit", role.organizational_unit);
  set("locality", role.locality);
  set("province", role.province);
  set("country", role.country);
  if (creating || data.Has("key_bits") || data.Has("key_type")) {
    role.key_bits = data.GetInt("key_bits");
  }
  if (creating || data.Has("renew_before")) role.renew_before_seconds = data.GetInt("renew_before");
  if (creating || data.Has("revoke_grace")) role.revoke_grace_seconds = data.GetInt("revoke_grace");
  if (creating || data.Has("allow_key_export"))
    role.allow_key_export = data.GetBool("allow_key_export");
  if (creating || data.Has("max_certificates"))
    role.max_certificates = data.GetInt("max_certificates");

  // Store the concrete size so reads show what is generated.
  absl::StatusOr<KeySpec> spec = ParseKeySpec(role.key_type, static_cast<int>(role.key_bits));
  if (!spec.ok()) return spec.status();
  role.key_bits = spec->bits;
  if (absl::StatusOr<SignatureDigest> digest = ParseSignatureDigest(role.signature_digest);
      !digest.ok()) {
    return digest.status();
  }
  if (role.renew_before_seconds >= kQualtricsLifetimeSeconds) {
    constexpr int64_t kSecondsPerDay = 86400;
    std::string window = role.renew_before_seconds % kSecondsPerDay == 0
                             ? absl::StrCat(role.renew_before_seconds / kSecondsPerDay, "d")
                             : absl::StrCat(role.renew_before_seconds, "s");
    return Invalid("renew_before",
                   absl::StrCat(window,
                                " is not below the 365-day lifetime of Qualtrics certificates, "
                                "so every read would renew; use a shorter window such as \"60d\""));
  }
  static const std::regex kCountry("[A-Z]{2}");
  if (!role.country.empty() && !std::regex_match(role.country, kCountry)) {
    return Invalid("country", "expected a two-letter upper-case ISO 3166 code such as DE");
  }
  static const std::regex kPrintable(R"([A-Za-z0-9 '()+,./:=?*@&_-]*)");
  for (auto [name, value] :
       {std::pair<const char*, const std::string*>{"common_name", &role.common_name},
        {"organization", &role.organization},
        {"organizational_unit", &role.organizational_unit},
        {"locality", &role.locality},
        {"province", &role.province}}) {
    if (!std::regex_match(*value, kPrintable)) {
      return Invalid(name,
                     "expected ASCII printable characters only: letters A-Z and a-z, digits, "
                     "spaces and the punctuation ' ( ) + , . / : = ? * @ & _ -");
    }
  }
  return absl::OkStatus();
}

nlohmann::json RoleResponse(const RoleRecord& role) {
  return {{"key_type", role.key_type},
          {"key_bits", role.key_bits},
          {"signature_digest", role.signature_digest},
          {"common_name", role.common_name},
          {"organization", role.organization},
          {"organizational_unit", role.organizational_unit},
          {"locality", role.locality},
          {"province", role.province},
          {"country", role.country},
          {"renew_before", role.renew_before_seconds},
          {"revoke_grace", role.revoke_grace_seconds},
          {"allow_key_export", role.allow_key_export},
          {"max_certificates", role.max_certificates}};
}

}  // namespace

std::vector<framework::Path> RolePaths(Engine* engine) {
  framework::Path role;
  role.pattern = "roles/{name}";
  role.fields = RoleFields();
  role.help_synopsis = kRoleSynopsis;
  role.help_description = kRoleDescription;
  role.existence_check = [engine](const Request&, const FieldData& data) -> absl::StatusOr<bool> {
    absl::StatusOr<std::shared_ptr<const RoleRecord>> stored =
        engine->LoadRole(data.GetString("name"));
    if (!stored.ok()) return stored.status();
    return *stored != nullptr;
  };

  role.operations[Operation::kRead] = {
      [engine](const Request&, const FieldData& data) -> absl::StatusOr<Response> {
        absl::StatusOr<std::shared_ptr<const RoleRecord>> stored =
            engine->LoadRole(data.GetString("name"));
        if (!stored.ok()) return stored.status();
        if (*stored == nullptr) return Response::Empty();
        Response response;
        response.data = RoleResponse(**stored);
        return response;
      },
      "Read a role."};

  framework::Handler write = [engine](const Request& request,
                                      const FieldData& data) -> absl::StatusOr<Response> {
    std::string name = data.GetString("name");
    absl::StatusOr<std::shared_ptr<const RoleRecord>> stored = engine->LoadRole(name);
    if (!stored.ok()) return stored.status();
    bool creating = *stored == nullptr;
    RoleRecord role = creating ? RoleRecord() : **stored;
    role.name = name;
    if (absl::Status status = Merge(data, creating, role); !status.ok()) return status;
    if (absl::Status status = engine->SaveRole(role); !status.ok()) return status;
    Response response;
    response.data = RoleResponse(role);
    return response;
  };
  role.operations[Operation::kCreate] = {write, "Create a role.", true};
  role.operations[Operation::kUpdate] = {write, "Update a role; unset fields keep their value.",
                                         true};

  role.operations[Operation::kDelete] = {
      [engine](const Request&, const FieldData& data) -> absl::StatusOr<Response> {
        if (absl::Status status = engine->DeleteRole(data.GetString("name")); !status.ok()) {
          return status;
        }
        return Response::Empty();
      },
      "Delete a role; its current certificate is revoked after the role's grace period.", true};

  framework::Path list;
  list.pattern = "roles/?";
  list.help_synopsis = kRoleListSynopsis;
  list.operations[Operation::kList] = {
      [engine](const Request&, const FieldData&) -> absl::StatusOr<Response> {
        absl::StatusOr<std::vector<std::string>> names = engine->ListRoles();
        if (!names.ok()) return names.status();
        Response response;
        response.data = {{"keys", *names}};
        return response;
      },
      "List roles."};
  return {role, list};
}

namespace {

const char kRoleSynopsis[] = "Manage roles: the key and subject of a role's certificates.";
const char kRoleDescription[] =
    "A role defines how the engine creates certificates for readers of cert/<role>: key type and\n"
    "size, the CSR subject, when a certificate is renewed (renew_before), how long a superseded\n"
    "certificate stays valid before it is revoked (revoke_grace), and whether readers may get\n"
    "the private key (allow_key_export, default false).\n"
    "\n"
    "Changing a role affects the next certificate; use rotate/<role> to apply it now. Deleting\n"
    "a role marks its current certificate superseded, so it is revoked after the grace period.";
const char kRoleListSynopsis[] = "List the roles.";

}  // namespace
}  // namespace vault_qualtrics
