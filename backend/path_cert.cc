// cert/<role>: issue-on-read.
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "backend/paths.h"

namespace vault_qualtrics {
namespace {

using framework::FieldData;

extern const char kCertSynopsis[];
extern const char kCertDescription[];

}  // namespace

nlohmann::json CertificateResponseData(const Engine& engine, const ServedCertificate& served,
                                       const RoleRecord& role) {
  const CertRecord& record = *served.record;
  // Field names follow Vault's PKI engine where they apply.
  nlohmann::json data = {{"certificate", record.certificate_pem},
                         {"serial_number", record.serial_number},
                         {"expiration", record.not_after},
                         {"not_before", record.not_before},
                         {"qualtrics_id", record.id},
                         {"role", record.role},
                         {"subject", record.subject},
                         {"issuer", record.issuer},
                         {"key_type", record.key_type},
                         {"key_bits", record.key_bits},
                         {"public_key_fingerprint", record.public_key_fingerprint},
                         {"renew_in_seconds", engine.RenewInSeconds(record, role)},
                         {"from_storage", served.from_storage}};
  if (!record.notice.empty()) data["notice"] = record.notice;
  // A key generated while export was off stays unexported even after the role allows it.
  if (role.allow_key_export && record.key_exportable) {
    // NOTE: the JSON response keeps a copy of the key that is freed without being zeroed,
    // because the Response type carries plain JSON strings.
    data["private_key"] = std::string(record.private_key_pem.view());
    data["private_key_type"] = record.key_type;
  }
  return data;
}

absl::StatusOr<Response> CertificateResponse(Engine& engine, const std::string& name,
                                             absl::StatusOr<ServedCertificate> served) {
  if (!served.ok()) return served.status();
  absl::StatusOr<std::shared_ptr<const RoleRecord>> role = engine.LoadRole(name);
  if (!role.ok()) return role.status();
  if (*role == nullptr) {
    return absl::NotFoundError(absl::StrCat("role \"", name, "\" was deleted"));
  }

  Response response;
  response.data = CertificateResponseData(engine, *served, **role);
  response.warnings = served->warnings;
  std::string window = engine.RenewWindowWarning(*served->record, **role);
  if (!window.empty()) response.warnings.push_back(std::move(window));
  return response;
}

framework::Path CertPath(Engine* engine) {
  framework::Path path;
  path.pattern = "cert/{role}";
  path.fields = {framework::StringField("role", "Name of the role.")};
  path.help_synopsis = kCertSynopsis;
  path.help_description = kCertDescription;
  path.operations[Operation::kRead] = {
      [engine](const Request& request, const FieldData& data) -> absl::StatusOr<Response> {
        std::string name = data.GetString("role");
        return CertificateResponse(*engine, name, engine->ReadCertificate(name, request));
      },
      "Return the role's current certificate, issuing one when needed."};
  return path;
}

namespace {

const char kCertSynopsis[] = "Read the role's current client certificate, issued on demand.";
const char kCertDescription[] =
    "Returns the role's current certificate. When the role has none, or the current one is\n"
    "inside its renew window (renew_before), the engine generates a new key, sends a CSR to\n"
    "Qualtrics, stores the certificate and key, and returns the new certificate; the previous\n"
    "one is revoked after the role's grace period. Concurrent readers share one issuance.\n"
    "\n"
    "Response: certificate, serial_number, expiration and not_before (Unix seconds),\n"
    "qualtrics_id, role, subject, issuer, key_type, key_bits, public_key_fingerprint (SHA-256\n"
    "of the public key), renew_in_seconds, from_storage (false when this read issued), notice\n"
    "(Qualtrics' warning, when there was one), and private_key with private_key_type only when\n"
    "the role sets allow_key_export and also did when the key was generated. After turning\n"
    "export on, write rotate/<role> to get a key that may be returned.";

}  // namespace
}  // namespace vault_qualtrics
