// config: where Qualtrics is, which organization, how to authenticate, and the limits.
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "backend/paths.h"

namespace vault_qualtrics {
namespace {

using framework::FieldData;

extern const char kConfigSynopsis[];
extern const char kConfigDescription[];

std::vector<framework::FieldSchema> ConfigFields() {
  using namespace framework;
  std::vector<FieldSchema> fields = {
      StringField("datacenter",
                  "Qualtrics datacenter id such as fra1, iad1 or sjc1. Sets the base URL to "
                  "https://{datacenter}.qualtrics.com/API/v3. Writing it clears base_url."),
      StringField("base_url",
                  "API root including the version, e.g. https://fra1.qualtrics.com/API/v3. "
                  "Must use https. Writing it clears datacenter."),
      StringField("organization_id", "Qualtrics organization (brand) id."),
      StringField("api_token",
                  "API token of a brand administrator, sent as X-API-TOKEN. Write-only: reads "
                  "show api_token_set."),
      StringField("client_id", "OAuth 2.0 client id, for the client credentials grant."),
      StringField("client_secret",
                  "OAuth 2.0 client secret. Write-only: reads show "
                  "client_secret_set."),
      StringField("token_url",
                  "OAuth 2.0 token endpoint. Default: https://{host of base_url}/oauth2/token."),
      StringField("scope", "Space-separated OAuth 2.0 scopes to request."),
      StringField("ca_bundle",
                  "PEM CA certificates that verify Qualtrics' server certificate, instead of "
                  "the system store."),
      StringField("tls_server_name",
                  "Name to verify in Qualtrics' server certificate and send as SNI, when it "
                  "differs from the host of base_url."),
      DurationField("connect_timeout",
                    "Timeout for establishing a connection, in seconds or "
                    "as a duration such as \"10s\".",
                    kDefaultConnectTimeoutSeconds, 1, 300),
      DurationField("request_timeout",
                    "Timeout for one HTTP exchange, in seconds or as a duration such as \"30s\".",
                    kDefaultRequestTimeoutSeconds, 1, 600),
      IntField("max_retries", "Retries after a failed call (429, 502-504, connection errors).",
               kDefaultMaxRetries, 0, 10),
      IntField("max_active_certificates",
               "Active client certificates the organization may hold at Qualtrics; expired ones "
               "count until deleted.",
               kDefaultMaxActiveCertificates, 1, 1000),
      StringField("mtls_role",
                  "Role whose current certificate and key authenticate the plugin's own calls "
                  "once mutual TLS is on at Qualtrics. The role must exist. Empty: calls present "
                  "no client certificate."),
      BoolField("verify_connection",
                "Check reachability and credentials by listing certificates before the config "
                "is stored. Not stored.",
                true),
      StringField("create_path",
                  "Path template of the create call, appended to base_url. Default: "
                  "/organizations/{organizationId}/clientcertificates."),
      StringField("list_path",
                  "Path template of the list call. Default: "
                  "/organizations/{organizationId}/clientcertificates."),
      StringField("delete_path",
                  "Path template of the delete call. Default: "
                  "/organizations/{organizationId}/clientcertificates/{id}."),
  };
  for (FieldSchema& field : fields) {
    if (field.name == "api_token" || field.name == "client_secret") field.sensitive = true;
    if (field.name == "ca_bundle") field.max_length = 1 << 20;
  }
  return fields;
}

absl::Status Invalid(std::string_view field, std::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid field \"", std::string(field), "\": ", std::string(message)));
}

// An https URL whose host is a DNS name, an IPv4 address or a bracketed IPv6 literal, with an
// optional port and path, and no user info, query or fragment.
bool IsPlainHttpsUrl(const std::string& url) {
  static const std::regex kHttpsUrl(
      R"(https://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?(/[A-Za-z0-9._~/%-]*)?)");
  return std::regex_match(url, kHttpsUrl);
}

// True when `text` contains a byte below 0x20 or DEL, such as CR, LF or NUL. In a header value
// such a byte would end the header or be cut off.
bool HasControlCharacter(std::string_view text) {
  for (char c : text) {
    unsigned char byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return true;
  }
  return false;
}

absl::Status ValidateBaseUrl(const std::string& url) {
  if (!IsPlainHttpsUrl(url)) {
    return Invalid("base_url",
                   "expected an https URL with a host and an optional port and path, such as "
                   "https://fra1.qualtrics.com/API/v3 or https://[::1]:8443/API/v3 (no user "
                   "info, query or fragment)");
  }
  return absl::OkStatus();
}

absl::Status ValidatePathTemplate(std::string_view field, const std::string& value, bool needs_id) {
  if (value.empty()) return absl::OkStatus();
  static const std::regex kTemplate(R"(/[A-Za-z0-9._~/{}-]*)");
  if (!std::regex_match(value, kTemplate) || !absl::StrContains(value, "{organizationId}")) {
    return Invalid(field, "expected a path starting with '/' that contains {organizationId}");
  }
  if (needs_id && !absl::StrContains(value, "{id}")) {
    return Invalid(field, "expected a path that contains {id}");
  }
  return absl::OkStatus();
}

// Checks that a write which moves the stored credential to a new endpoint carries the
// credential again. Otherwise anyone allowed to update config could point base_url, token_url or
// the TLS trust at a server of theirs and receive the stored token, which reads never show.
absl::Status CheckCredentialDestination(const FieldData& data, const ConfigRecord& before,
                                        const ConfigRecord& after) {
  bool oauth = !after.oauth_client_id.empty();
  const char* credential = oauth ? "client_secret" : "api_token";
  if (!data.GetString(credential).empty()) return absl::OkStatus();

  std::vector<std::string> changed;
  if (before.EffectiveBaseUrl() != after.EffectiveBaseUrl()) {
    changed.push_back(data.Has("datacenter") ? "datacenter" : "base_url");
  }
  if (oauth && before.EffectiveTokenUrl() != after.EffectiveTokenUrl()) {
    changed.push_back("token_url");
  }
  if (before.ca_bundle != after.ca_bundle) changed.push_back("ca_bundle");
  if (before.tls_server_name != after.tls_server_name) changed.push_back("tls_server_name");
  if (changed.empty()) return absl::OkStatus();
  return Invalid(credential,
                 absl::StrCat("missing: this write changes ", absl::StrJoin(changed, ", "),
                              ", which would send the stored ", credential,
                              " to a different server; write ", credential,
                              " again in the same request"));
}

// Applies the request's fields to `config` and checks the result as a whole.
absl::Status Merge(const FieldData& data, ConfigRecord& config) {
  auto set = [&](const char* name, std::string& target) {
    if (data.Has(name)) target = data.GetString(name);
  };
  // datacenter and base_url are two ways to set the API root, so writing one clears the other.
  if (!data.GetString("datacenter").empty() && !data.GetString("base_url").empty()) {
    return absl::InvalidArgumentError(
        "invalid fields \"datacenter\" and \"base_url\": they are mutually exclusive; set "
        "datacenter for https://{datacenter}.qualtrics.com/API/v3, or base_url for any other "
        "API root, not both");
  }
  set("datacenter", config.datacenter);
  set("base_url", config.base_url);
  if (data.Has("datacenter") && !config.datacenter.empty()) config.base_url.clear();
  if (data.Has("base_url") && !config.base_url.empty()) config.datacenter.clear();
  set("organization_id", config.organization_id);
  set("tls_server_name", config.tls_server_name);
  set("ca_bundle", config.ca_bundle);
  set("mtls_role", config.mtls_role);
  set("create_path", config.create_path);
  set("list_path", config.list_path);
  set("delete_path", config.delete_path);
  if (data.Has("connect_timeout")) config.connect_timeout_seconds = data.GetInt("connect_timeout");
  if (data.Has("request_timeout")) config.request_timeout_seconds = data.GetInt("request_timeout");
  if (data.Has("max_retries")) config.max_retries = data.GetInt("max_retries");
  if (data.Has("max_active_certificates")) {
    config.max_active_certificates = data.GetInt("max_active_certificates");
  }

  // Writing one kind of credentials replaces the other kind.
  if (data.Has("api_token")) {
    config.api_token = SecretBytes(data.GetString("api_token"));
    if (!config.api_token.empty()) {
      config.oauth_client_id.clear();
      config.oauth_client_secret.Clear();
    }
  }
  if (data.Has("client_id") || data.Has("client_secret")) {
    set("client_id", config.oauth_client_id);
    if (data.Has("client_secret"))
      config.oauth_client_secret = SecretBytes(data.GetString("client_secret"));
    if (!config.oauth_client_id.empty() || !config.oauth_client_secret.empty())
      config.api_token.Clear();
  }
  set("token_url", config.oauth_token_url);
  set("scope", config.oauth_scope);

  static const std::regex kDatacenter(R"([a-z0-9][a-z0-9-]{0,31})");
  if (!config.datacenter.empty() && !std::regex_match(config.datacenter, kDatacenter)) {
    return Invalid("datacenter",
                   "expected a datacenter id of lower-case letters, digits and "
                   "'-', such as fra1");
  }
  if (config.EffectiveBaseUrl().empty()) {
    return Invalid("datacenter", "missing: set datacenter (e.g. fra1) or base_url");
  }
  if (absl::Status status = ValidateBaseUrl(config.EffectiveBaseUrl()); !status.ok()) return status;
  if (config.organization_id.empty()) {
    return Invalid("organization_id", "missing: set the Qualtrics organization id");
  }
  static const std::regex kOrganization(R"([A-Za-z0-9_.-]{1,128})");
  if (!std::regex_match(config.organization_id, kOrganization)) {
    return Invalid("organization_id", "expected letters, digits, '_', '.' or '-'");
  }
  if (HasControlCharacter(config.api_token.view())) {
    return Invalid("api_token",
                   "contains a control character such as a line break or NUL byte; set the "
                   "token alone");
  }
  if (HasControlCharacter(config.oauth_client_secret.view())) {
    return Invalid("client_secret",
                   "contains a control character such as a line break or NUL byte; set the "
                   "secret alone");
  }
  if (HasControlCharacter(config.oauth_client_id)) {
    return Invalid("client_id", "contains a control character such as a line break or NUL byte");
  }
  bool has_token = !config.api_token.empty();
  bool has_oauth = !config.oauth_client_id.empty() || !config.oauth_client_secret.empty();
  if (!has_token && !has_oauth) {
    return Invalid("api_token", "missing: set api_token, or client_id and client_secret");
  }
  if (has_oauth && config.oauth_client_id.empty()) {
    return Invalid("client_id", "missing: OAuth needs client_id together with client_secret");
  }
  if (has_oauth && config.oauth_client_secret.empty()) {
    return Invalid("client_secret", "missing: OAuth needs client_secret together with client_id");
  }
  if (!config.oauth_token_url.empty()) {
    if (!IsPlainHttpsUrl(config.oauth_token_url)) {
      return Invalid("token_url",
                     "expected an https URL such as "
                     "https://fra1.qualtrics.com/oauth2/token");
    }
  }
  if (!config.ca_bundle.empty() &&
      !absl::StrContains(config.ca_bundle, "-----BEGIN CERTIFICATE-----")) {
    return Invalid("ca_bundle", "expected PEM certificates (-----BEGIN CERTIFICATE-----)");
  }
  static const std::regex kName(R"(\w(?:[\w.@-]*\w)?)");
  if (!config.mtls_role.empty() && !std::regex_match(config.mtls_role, kName)) {
    return Invalid("mtls_role", "expected a role name");
  }
  if (!config.tls_server_name.empty() &&
      !std::regex_match(config.tls_server_name, std::regex(R"([A-Za-z0-9.-]{1,253})"))) {
    return Invalid("tls_server_name", "expected a DNS name");
  }
  if (absl::Status s = ValidatePathTemplate("create_path", config.create_path, false); !s.ok())
    return s;
  if (absl::Status s = ValidatePathTemplate("list_path", config.list_path, false); !s.ok())
    return s;
  if (absl::Status s = ValidatePathTemplate("delete_path", config.delete_path, true); !s.ok())
    return s;
  return absl::OkStatus();
}

nlohmann::json ConfigResponse(const ConfigRecord& config) {
  bool oauth = !config.oauth_client_id.empty();
  return {{"datacenter", config.datacenter},
          {"base_url", config.EffectiveBaseUrl()},
          {"organization_id", config.organization_id},
          {"auth_method", oauth ? "oauth" : "api_token"},
          {"api_token_set", !config.api_token.empty()},
          {"client_id", config.oauth_client_id},
          {"client_secret_set", !config.oauth_client_secret.empty()},
          {"token_url", oauth ? config.EffectiveTokenUrl() : config.oauth_token_url},
          {"scope", config.oauth_scope},
          {"ca_bundle", config.ca_bundle},
          {"tls_server_name", config.tls_server_name},
          {"connect_timeout", config.connect_timeout_seconds},
          {"request_timeout", config.request_timeout_seconds},
          {"max_retries", config.max_retries},
          {"max_active_certificates", config.max_active_certificates},
          {"mtls_role", config.mtls_role},
          {"create_path", config.create_path},
          {"list_path", config.list_path},
          {"delete_path", config.delete_path}};
}

}  // namespace

framework::Path ConfigPath(Engine* engine) {
  framework::Path path;
  path.pattern = "config";
  path.fields = ConfigFields();
  path.help_synopsis = kConfigSynopsis;
  path.help_description = kConfigDescription;

  path.existence_check = [engine](const Request&, const FieldData&) -> absl::StatusOr<bool> {
    absl::StatusOr<std::shared_ptr<const ConfigRecord>> config = engine->LoadConfig();
    if (!config.ok()) return config.status();
    return *config != nullptr;
  };

  path.operations[Operation::kRead] = {
      [engine](const Request&, const FieldData&) -> absl::StatusOr<Response> {
        absl::StatusOr<std::shared_ptr<const ConfigRecord>> config = engine->LoadConfig();
        if (!config.ok()) return config.status();
        if (*config == nullptr) return Response::Empty();
        Response response;
        response.data = ConfigResponse(**config);
        return response;
      },
      "Read the connection config; secrets show only whether they are set."};

  framework::Handler write = [engine](const Request& request,
                                      const FieldData& data) -> absl::StatusOr<Response> {
    absl::StatusOr<std::shared_ptr<const ConfigRecord>> existing = engine->LoadConfig();
    if (!existing.ok()) return existing.status();
    ConfigRecord config = *existing != nullptr ? (*existing)->Clone() : ConfigRecord();
    if (absl::Status status = Merge(data, config); !status.ok()) return status;
    if (*existing != nullptr) {
      absl::Status status = CheckCredentialDestination(data, **existing, config);
      if (!status.ok()) return status;
    }

    if (data.GetBool("verify_connection")) {
      if (absl::Status status = engine->VerifyConnection(config); !status.ok()) return status;
    }
    std::vector<std::string> warnings;
    if (!config.mtls_role.empty()) {
      absl::StatusOr<std::shared_ptr<const RoleRecord>> role = engine->LoadRole(config.mtls_role);
      if (!role.ok()) return role.status();
      // A stored mtls_role whose role was deleted later does not block writes of other fields.
      if (*role == nullptr && data.Has("mtls_role")) {
        return Invalid("mtls_role",
                       absl::StrCat("role \"", config.mtls_role, "\" does not exist; create it "
                                    "first with `vault write ", request.mount_point, "roles/",
                                    config.mtls_role, "`, then set mtls_role"));
      }
      if (*role != nullptr && (*role)->allow_key_export) {
        warnings.push_back(absl::StrCat(
            "mtls_role \"", config.mtls_role,
            "\" has allow_key_export=true, so anyone who can read cert/", config.mtls_role,
            " can read the private key the plugin uses for its own mutual TLS calls; set "
            "allow_key_export=false on that role and rotate it, or choose another role"));
      }
    }
    if (absl::Status status = engine->SaveConfig(config); !status.ok()) return status;
    if (!data.GetBool("verify_connection")) {
      warnings.push_back("the connection to Qualtrics was not checked (verify_connection=false)");
    }
    if (warnings.empty()) return Response::Empty();
    Response response;
    response.data = ConfigResponse(config);
    response.warnings = std::move(warnings);
    return response;
  };
  path.operations[Operation::kUpdate] = {write, "Write the connection config.", true};
  path.operations[Operation::kCreate] = {write, "Write the connection config.", true};

  path.operations[Operation::kDelete] = {
      [engine](const Request&, const FieldData&) -> absl::StatusOr<Response> {
        if (absl::Status status = engine->DeleteConfig(); !status.ok()) return status;
        return Response::Empty();
      },
      "Delete the connection config; held certificates and their records stay.", true};
  return path;
}

namespace {

const char kConfigSynopsis[] = "Configure the connection to Qualtrics' client-certificate API.";
const char kConfigDescription[] =
    "The engine creates, lists and deletes client certificates at Qualtrics with these settings.\n"
    "Set datacenter (or base_url), organization_id, and either api_token or client_id and\n"
    "client_secret of a brand administrator. Secrets are write-only. Unless\n"
    "verify_connection=false, a write first lists the organization's client certificates to\n"
    "check the endpoint and credentials, and is rejected when that fails.\n"
    "\n"
    "A write updates only the fields it sets; writing api_token removes OAuth credentials and\n"
    "writing client_id or client_secret removes the API token. A write that changes where the\n"
    "credential goes (datacenter, base_url, token_url, ca_bundle or tls_server_name) must\n"
    "include api_token, or client_secret for OAuth, again.\n"
    "\n"
    "Once mutual TLS is on at Qualtrics, every call must present a client certificate: set\n"
    "mtls_role to a role whose certificate was created before mutual TLS was turned on. The\n"
    "engine presents that role's current certificate and renews it before it expires.";

}  // namespace
}  // namespace vault_qualtrics
