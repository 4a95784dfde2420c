#include "backend/records.h"

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "backend/logical/logical.h"

namespace vault_qualtrics {
namespace {

using Json = nlohmann::json;

// Serialises a record that contains secrets, then zeroes the record's JSON strings.
SecretBytes DumpSecret(Json& json) {
  std::string text;
  DumpJsonInPlace(json, &text, Json::error_handler_t::strict);
  ZeroJsonStrings(json);
  return SecretBytes::TakeString(std::move(text));
}

// Parses `text` as a record object of a supported version. `kind` names the record in errors.
absl::StatusOr<Json> ParseRecord(std::string_view text, std::string_view kind) {
  Json json = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) {
    ZeroJsonStrings(json);
    return absl::DataLossError(absl::StrCat("stored ", std::string(kind), " is not a JSON object"));
  }
  auto version = json.find("version");
  if (version == json.end() || !version->is_number_integer()) {
    ZeroJsonStrings(json);
    return absl::DataLossError(absl::StrCat("stored ", std::string(kind), " has no version"));
  }
  if (version->get<int64_t>() > kRecordVersion) {
    ZeroJsonStrings(json);
    return absl::FailedPreconditionError(
        absl::StrCat("stored ", std::string(kind), " has schema version ", version->get<int64_t>(),
                     ", written by a newer plugin; this plugin reads version ", kRecordVersion,
                     " and older, so upgrade the plugin"));
  }
  return json;
}

// Runs `decode` and turns a type mismatch inside the stored JSON into DataLoss.
template <typename Record, typename Decode>
absl::StatusOr<Record> DecodeGuarded(std::string_view text, std::string_view kind, Decode decode) {
  absl::StatusOr<Json> json = ParseRecord(text, kind);
  if (!json.ok()) return json.status();
  absl::StatusOr<Record> record;
  try {
    record = decode(*json);
  } catch (const Json::exception&) {
    record = absl::DataLossError(
        absl::StrCat("stored ", std::string(kind), " has a field of the wrong type"));
  }
  // Config and certificate records contain secrets, and zeroing the others costs little.
  ZeroJsonStrings(*json);
  return record;
}

std::string HostOf(const std::string& url) {
  std::string_view rest = url;
  size_t scheme = rest.find("://");
  if (scheme != std::string_view::npos) rest.remove_prefix(scheme + 3);
  size_t end = rest.find_first_of("/?#");
  if (end != std::string_view::npos) rest = rest.substr(0, end);
  size_t at = rest.rfind('@');
  if (at != std::string_view::npos) rest.remove_prefix(at + 1);
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    return std::string(rest.substr(1, close == std::string_view::npos ? rest.size() : close - 1));
  }
  size_t colon = rest.find(':');
  if (colon != std::string_view::npos) rest = rest.substr(0, colon);
  return std::string(rest);
}

}  // namespace

ConfigRecord ConfigRecord::Clone() const {
  ConfigRecord copy;
  copy.datacenter = datacenter;
  copy.base_url = base_url;
  copy.organization_id = organization_id;
  copy.api_token = api_token.Copy();
  copy.oauth_client_id = oauth_client_id;
  copy.oauth_client_secret = oauth_client_secret.Copy();
  copy.oauth_token_url = oauth_token_url;
  copy.oauth_scope = oauth_scope;
  copy.ca_bundle = ca_bundle;
  copy.tls_server_name = tls_server_name;
  copy.connect_timeout_seconds = connect_timeout_seconds;
  copy.request_timeout_seconds = request_timeout_seconds;
  copy.max_retries = max_retries;
  copy.max_active_certificates = max_active_certificates;
  copy.mtls_role = mtls_role;
  copy.create_path = create_path;
  copy.list_path = list_path;
  copy.delete_path = delete_path;
  return copy;
}

std::string ConfigRecord::EffectiveBaseUrl() const {
  if (!base_url.empty()) return base_url;
  if (datacenter.empty()) return "";
  return absl::StrCat("https://", datacenter, ".qualtrics.com/API/v3");
}

std::string ConfigRecord::DefaultCommonName() const {
  if (!datacenter.empty() && base_url.empty()) return absl::StrCat(datacenter, ".qualtrics.com");
  return HostOf(EffectiveBaseUrl());
}

std::string ConfigRecord::EffectiveTokenUrl() const {
  if (!oauth_token_url.empty()) return oauth_token_url;
  std::string url = EffectiveBaseUrl();
  size_t scheme = url.find("://");
  size_t path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return absl::StrCat(url.substr(0, path), "/oauth2/token");
}

CertRecord CertRecord::Clone() const {
  CertRecord copy;
  copy.id = id;
  copy.role = role;
  copy.state = state;
  copy.certificate_pem = certificate_pem;
  copy.private_key_pem = private_key_pem.Copy();
  copy.key_exportable = key_exportable;
  copy.serial_number = serial_number;
  copy.not_before = not_before;
  copy.not_after = not_after;
  copy.subject = subject;
  copy.issuer = issuer;
  copy.public_key_fingerprint = public_key_fingerprint;
  copy.key_type = key_type;
  copy.key_bits = key_bits;
  copy.key_label = key_label;
  copy.issued_at = issued_at;
  copy.superseded_at = superseded_at;
  copy.revoke_after = revoke_after;
  copy.qualtrics_request_id = qualtrics_request_id;
  copy.notice = notice;
  return copy;
}

SecretBytes EncodeConfig(const ConfigRecord& r) {
  Json json = {{"version", kRecordVersion},
               {"datacenter", r.datacenter},
               {"base_url", r.base_url},
               {"organization_id", r.organization_id},
               {"api_token", std::string(r.api_token.view())},
               {"oauth_client_id", r.oauth_client_id},
               {"oauth_client_secret", std::string(r.oauth_client_secret.view())},
               {"oauth_token_url", r.oauth_token_url},
               {"oauth_scope", r.oauth_scope},
               {"ca_bundle", r.ca_bundle},
               {"tls_server_name", r.tls_server_name},
               {"connect_timeout_seconds", r.connect_timeout_seconds},
               {"request_timeout_seconds", r.request_timeout_seconds},
               {"max_retries", r.max_retries},
               {"max_active_certificates", r.max_active_certificates},
               {"mtls_role", r.mtls_role},
               {"create_path", r.create_path},
               {"list_path", r.list_path},
               {"delete_path", r.delete_path}};
  return DumpSecret(json);
}

absl::StatusOr<ConfigRecord> DecodeConfig(std::string_view text) {
  return DecodeGuarded<ConfigRecord>(text, "config", [](const Json& j) {
    ConfigRecord r;
    r.datacenter = j.value("datacenter", "");
    r.base_url = j.value("base_url", "");
    r.organization_id = j.value("organization_id", "");
    r.api_token = SecretBytes::TakeString(j.value("api_token", ""));
    r.oauth_client_id = j.value("oauth_client_id", "");
    r.oauth_client_secret = SecretBytes::TakeString(j.value("oauth_client_secret", ""));
    r.oauth_token_url = j.value("oauth_token_url", "");
    r.oauth_scope = j.value("oauth_scope", "");
    r.ca_bundle = j.value("ca_bundle", "");
    r.tls_server_name = j.value("tls_server_name", "");
    r.connect_timeout_seconds = j.value("connect_timeout_seconds", kDefaultConnectTimeoutSeconds);
    r.request_timeout_seconds = j.value("request_timeout_seconds", kDefaultRequestTimeoutSeconds);
    r.max_retries = j.value("max_retries", kDefaultMaxRetries);
    r.max_active_certificates = j.value("max_active_certificates", kDefaultMaxActiveCertificates);
    r.mtls_role = j.value("mtls_role", "");
    r.create_path = j.value("create_path", "");
    r.list_path = j.value("list_path", "");
    r.delete_path = j.value("delete_path", "");
    return r;
  });
}

std::string EncodeRole(const RoleRecord& r) {
  Json json = {{"version", kRecordVersion},
               {"name", r.name},
               {"key_type", r.key_type},
               {"key_bits", r.key_bits},
               {"signature_digest", r.signature_digest},
               {"common_name", r.common_name},
               {"organization", r.organization},
               {"organizational_unit", r.organizational_unit},
               {"locality", r.locality},
               {"province", r.province},
               {"country", r.country},
               {"renew_before_seconds", r.renew_before_seconds},
               {"revoke_grace_seconds", r.revoke_grace_seconds},
               {"allow_key_export", r.allow_key_export},
               {"max_certificates", r.max_certificates}};
  return json.dump();
}

absl::StatusOr<RoleRecord> DecodeRole(std::string_view text) {
  return DecodeGuarded<RoleRecord>(text, "role", [](const Json& j) {
    RoleRecord r;
    r.name = j.value("name", "");
    r.key_type = j.value("key_type", "ec");
    r.key_bits = j.value("key_bits", int64_t{256});
    r.signature_digest = j.value("signature_digest", "sha256");
    r.common_name = j.value("common_name", "");
    r.organization = j.value("organization", "");
    r.organizational_unit = j.value("organizational_unit", "");
    r.locality = j.value("locality", "");
    r.province = j.value("province", "");
    r.country = j.value("country", "");
    r.renew_before_seconds = j.value("renew_before_seconds", kDefaultRenewBeforeSeconds);
    r.revoke_grace_seconds = j.value("revoke_grace_seconds", kDefaultRevokeGraceSeconds);
    r.allow_key_export = j.value("allow_key_export", false);
    r.max_certificates = j.value("max_certificates", int64_t{0});
    return r;
  });
}

SecretBytes EncodeCert(const CertRecord& r) {
  Json json = {{"version", kRecordVersion},
               {"id", r.id},
               {"role", r.role},
               {"state", r.state},
               {"certificate", r.certificate_pem},
               {"private_key", std::string(r.private_key_pem.view())},
               {"key_exportable", r.key_exportable},
               {"serial_number", r.serial_number},
               {"not_before", r.not_before},
               {"not_after", r.not_after},
               {"subject", r.subject},
               {"issuer", r.issuer},
               {"public_key_fingerprint", r.public_key_fingerprint},
               {"key_type", r.key_type},
               {"key_bits", r.key_bits},
               {"key_label", r.key_label},
               {"issued_at", r.issued_at},
               {"superseded_at", r.superseded_at},
               {"revoke_after", r.revoke_after},
               {"qualtrics_request_id", r.qualtrics_request_id},
               {"notice", r.notice}};
  return DumpSecret(json);
}

absl::StatusOr<CertRecord> DecodeCert(std::string_view text) {
  return DecodeGuarded<CertRecord>(text, "certificate record", [](const Json& j) {
    CertRecord r;
    r.id = j.value("id", "");
    r.role = j.value("role", "");
    r.state = j.value("state", std::string(kStateCurrent));
    r.certificate_pem = j.value("certificate", "");
    r.private_key_pem = SecretBytes::TakeString(j.value("private_key", ""));
    r.key_exportable = j.value("key_exportable", false);
    r.serial_number = j.value("serial_number", "");
    r.not_before = j.value("not_before", int64_t{0});
    r.not_after = j.value("not_after", int64_t{0});
    r.subject = j.value("subject", "");
    r.issuer = j.value("issuer", "");
    r.public_key_fingerprint = j.value("public_key_fingerprint", "");
    r.key_type = j.value("key_type", "");
    r.key_bits = j.value("key_bits", int64_t{0});
    r.key_label = j.value("key_label", "");
    r.issued_at = j.value("issued_at", int64_t{0});
    r.superseded_at = j.value("superseded_at", int64_t{0});
    r.revoke_after = j.value("revoke_after", int64_t{0});
    r.qualtrics_request_id = j.value("qualtrics_request_id", "");
    r.notice = j.value("notice", "");
    return r;
  });
}

std::string EncodeWal(const WalRecord& r) {
  Json json = {{"version", kRecordVersion},
               {"id", r.id},
               {"kind", r.kind},
               {"role", r.role},
               {"public_key_fingerprint", r.public_key_fingerprint},
               {"created_at", r.created_at},
               {"instance_id", r.instance_id},
               {"qualtrics_id", r.qualtrics_id}};
  return json.dump();
}

absl::StatusOr<WalRecord> DecodeWal(std::string_view text) {
  return DecodeGuarded<WalRecord>(text, "write-ahead entry", [](const Json& j) {
    WalRecord r;
    r.id = j.value("id", "");
    r.kind = j.value("kind", std::string(kWalCreate));
    r.role = j.value("role", "");
    r.public_key_fingerprint = j.value("public_key_fingerprint", "");
    r.created_at = j.value("created_at", int64_t{0});
    r.instance_id = j.value("instance_id", "");
    r.qualtrics_id = j.value("qualtrics_id", "");
    return r;
  });
}

}  // namespace vault_qualtrics
