// Records the engine keeps in Vault's storage, and their JSON encoding.
//
// Each record is a JSON object with a "version" field. Version 1 is the only schema so far;
// a record with a higher version was written by a newer plugin and is rejected with
// FailedPrecondition rather than misread. Fields a record does not carry take their defaults,
// so later versions may add fields without a migration.
//
// Secrets (API token, OAuth client secret, private keys) are held in SecretBytes, and the
// encoders return SecretBytes. EncodeConfig, EncodeCert and every decoder zero the strings of
// the JSON objects they build. NOTE: nlohmann::json's parser copies each string through a
// growing token buffer, and its serializer through a 512-byte stack buffer, and neither buffer
// is zeroed.
#ifndef BACKEND_RECORDS_H_
#define BACKEND_RECORDS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "backend/crypto/secret_bytes.h"

namespace vault_qualtrics {

inline constexpr int kRecordVersion = 1;

// Defaults that config and roles share with their help text.
inline constexpr int64_t kDefaultConnectTimeoutSeconds = 10;
inline constexpr int64_t kDefaultRequestTimeoutSeconds = 30;
inline constexpr int64_t kDefaultMaxRetries = 4;
// Qualtrics allows at most 10 active client certificates per organization.
inline constexpr int64_t kDefaultMaxActiveCertificates = 10;
// Qualtrics starts warning (meta.notice) 60 days before a presented certificate expires.
inline constexpr int64_t kDefaultRenewBeforeSeconds = 60 * 86400;
inline constexpr int64_t kDefaultRevokeGraceSeconds = 24 * 3600;

// The stored `config`.
struct ConfigRecord {
  // Either datacenter (e.g. "fra1") or base_url is set; base_url wins when both are.
  std::string datacenter;
  std::string base_url;
  std::string organization_id;
  SecretBytes api_token;
  std::string oauth_client_id;
  SecretBytes oauth_client_secret;
  std::string oauth_token_url;
  std::string oauth_scope;
  std::string ca_bundle;
  std::string tls_server_name;
  int64_t connect_timeout_seconds = kDefaultConnectTimeoutSeconds;
  int64_t request_timeout_seconds = kDefaultRequestTimeoutSeconds;
  int64_t max_retries = kDefaultMaxRetries;
  int64_t max_active_certificates = kDefaultMaxActiveCertificates;
  std::string mtls_role;
  // Overrides of the client's API path templates; empty keeps the client's default.
  std::string create_path;
  std::string list_path;
  std::string delete_path;

  ConfigRecord Clone() const;
  // base_url, or https://{datacenter}.qualtrics.com/API/v3 when only the datacenter is set.
  std::string EffectiveBaseUrl() const;
  // {datacenter}.qualtrics.com, or the host of base_url: the default CSR common name.
  std::string DefaultCommonName() const;
  // The OAuth token URL, defaulting to https://{host of the base URL}/oauth2/token.
  std::string EffectiveTokenUrl() const;
};

// The stored `role/<name>`.
struct RoleRecord {
  std::string name;
  std::string key_type = "ec";
  int64_t key_bits = 256;
  std::string signature_digest = "sha256";
  // Empty means the config's default common name.
  std::string common_name;
  std::string organization;
  std::string organizational_unit;
  std::string locality;
  std::string province;
  std::string country;
  int64_t renew_before_seconds = kDefaultRenewBeforeSeconds;
  int64_t revoke_grace_seconds = kDefaultRevokeGraceSeconds;
  bool allow_key_export = false;
  // Certificates the role may hold at Qualtrics at once, superseded ones included; 0 means no
  // limit other than the organization's.
  int64_t max_certificates = 0;
};

// Life-cycle states of a held certificate.
inline constexpr std::string_view kStateCurrent = "current";
inline constexpr std::string_view kStateSuperseded = "superseded";

// The stored `certs/<id>` and `cert/<role>/current`: one certificate held at Qualtrics.
struct CertRecord {
  // The Qualtrics certificate id.
  std::string id;
  std::string role;
  std::string state = std::string(kStateCurrent);
  std::string certificate_pem;
  // Unencrypted PKCS#8 PEM.
  SecretBytes private_key_pem;
  // Whether the role allowed key export when the key was generated. The key is returned only
  // when this and the current role both allow it; records written without the field decode as
  // false.
  bool key_exportable = false;
  std::string serial_number;
  int64_t not_before = 0;
  int64_t not_after = 0;
  std::string subject;
  std::string issuer;
  std::string public_key_fingerprint;
  // "rsa", "ec" or "ed25519"; the size in bits (RSA modulus, curve size, 256 for Ed25519); and
  // a label such as "ec-p256".
  std::string key_type;
  int64_t key_bits = 0;
  std::string key_label;
  int64_t issued_at = 0;
  // Set when the certificate was superseded, and when it may be revoked.
  int64_t superseded_at = 0;
  int64_t revoke_after = 0;
  // Qualtrics' meta.requestId and meta.notice of the create call.
  std::string qualtrics_request_id;
  std::string notice;

  CertRecord Clone() const;
};

// Write-ahead entry kinds.
inline constexpr std::string_view kWalCreate = "create";

// The stored `wal/<id>`: a create at Qualtrics whose result is not yet stored.
struct WalRecord {
  std::string id;
  std::string kind = std::string(kWalCreate);
  std::string role;
  std::string public_key_fingerprint;
  int64_t created_at = 0;
  // A random id of the engine instance that wrote the entry.
  std::string instance_id;
  // Set once Qualtrics returned the certificate id.
  std::string qualtrics_id;
};

SecretBytes EncodeConfig(const ConfigRecord& record);
absl::StatusOr<ConfigRecord> DecodeConfig(std::string_view text);
std::string EncodeRole(const RoleRecord& record);
absl::StatusOr<RoleRecord> DecodeRole(std::string_view text);
SecretBytes EncodeCert(const CertRecord& record);
absl::StatusOr<CertRecord> DecodeCert(std::string_view text);
std::string EncodeWal(const WalRecord& record);
absl::StatusOr<WalRecord> DecodeWal(std::string_view text);

}  // namespace vault_qualtrics

#endif  // BACKEND_RECORDS_H_
