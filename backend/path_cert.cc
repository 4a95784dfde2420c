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

Response CertificateResponseData(const Engine& engine, const ServedCertificate& served,
                                 const RoleRecord& role, KeyInResponse key) {
  const CertRecord& record = *served.record;
  Response response;
  // Entries go straight into the object's map. The initializer-list form builds a two-element
  // array per entry first, and took about 80% of a cached read in engine_benchmark.
  nlohmann::json::object_t& data = response.data.get_ref<nlohmann::json::object_t&>();
  // Field names follow Vault's PKI engine where they apply.
  data.emplace("certificate", record.certificate_pem);
  data.emplace("serial_number", record.serial_number);
  data.emplace("expiration", record.not_after);
  data.emplace("not_before", record.not_before);
  data.emplace("qualtrics_id", record.id);
  data.emplace("role", record.role);
  data.emplace("subject", record.subject);
  data.emplace("issuer", record.issuer);
  data.emplace("key_type", record.key_type);
  data.emplace("key_bits", record.key_bits);
  data.emplace("public_key_fingerprint", record.public_key_fingerprint);
  data.emplace("renew_in_seconds", engine.RenewInSeconds(record, role));
  data.emplace("from_storage", served.from_storage);
  if (!record.notice.empty()) data.emplace("notice", record.notice);
  // A key generated while export was off stays unexported even after the role allows it.
  if (key == KeyInResponse::kWhenExportable && role.allow_key_export && record.key_exportable) {
    // The key is copied once, into a string the JSON value takes over by move, and the
    // response zeroes it when it is destroyed.
    response.contains_secrets = true;
    data.emplace("private_key", nlohmann::json::string_t(record.private_key_pem.view()));
    data.emplace("private_key_type", record.key_type);
  }
  return response;
}

absl::StatusOr<Response> CertificateResponse(Engine& engine, const std::string& name,
                                             absl::StatusOr<ServedCertificate> served,
                                             KeyInResponse key) {
  if (!served.ok()) return served.status();
  absl::StatusOr<std::shared_ptr<const RoleRecord>> role = engine.LoadRole(name);
  if (!role.ok()) return role.status();
  if (*role == nullptr) {
    return absl::NotFoundError(absl::StrCat("role \"", name, "\" was deleted"));
  }

  Response response = CertificateResponseData(engine, *served, **role, key);
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
    "export on, write rotate/<role>, then read this path to get a key that may be returned.";

}  // namespace
}  // namespace vault_qualtrics
