// certs/ and certs/<id>: the certificates this mount holds at Qualtrics.
#include <string>

#include "absl/strings/str_cat.h"
#include "backend/paths.h"

namespace vault_qualtrics {
namespace {

using framework::FieldData;

extern const char kCertsListSynopsis[];
extern const char kCertsSynopsis[];
extern const char kCertsDescription[];

nlohmann::json HeldResponse(const Engine& engine, const CertRecord& record) {
  nlohmann::json data = {{"qualtrics_id", record.id},
                         {"role", record.role},
                         {"state", engine.StateOf(record)},
                         {"certificate", record.certificate_pem},
                         {"serial_number", record.serial_number},
                         {"expiration", record.not_after},
                         {"not_before", record.not_before},
                         {"subject", record.subject},
                         {"issuer", record.issuer},
                         {"key_type", record.key_type},
                         {"key_bits", record.key_bits},
                         {"public_key_fingerprint", record.public_key_fingerprint},
                         {"issued_at", record.issued_at}};
  if (record.state == kStateSuperseded) {
    data["superseded_at"] = record.superseded_at;
    data["revoke_after"] = record.revoke_after;
  }
  return data;
}

}  // namespace

std::vector<framework::Path> CertsPaths(Engine* engine) {
  framework::Path list;
  list.pattern = "certs/?";
  list.help_synopsis = kCertsListSynopsis;
  list.help_description = kCertsDescription;
  list.operations[Operation::kList] = {
      [engine](const Request&, const FieldData&) -> absl::StatusOr<Response> {
        absl::StatusOr<std::vector<std::string>> ids = engine->ListCertIds();
        if (!ids.ok()) return ids.status();
        nlohmann::json key_info = nlohmann::json::object();
        for (const std::string& id : *ids) {
          absl::StatusOr<std::shared_ptr<const CertRecord>> record = engine->LoadCert(id);
          if (!record.ok()) return record.status();
          if (*record == nullptr) continue;
          key_info[id] = {{"role", (*record)->role},
                          {"state", engine->StateOf(**record)},
                          {"expiration", (*record)->not_after},
                          {"serial_number", (*record)->serial_number}};
        }
        Response response;
        response.data = {{"keys", *ids}, {"key_info", key_info}};
        return response;
      },
      "List the certificates this mount holds at Qualtrics."};

  framework::Path one;
  one.pattern = "certs/{id}";
  one.fields = {framework::StringField("id", "Qualtrics id of the certificate.")};
  one.help_synopsis = kCertsSynopsis;
  one.help_description = kCertsDescription;
  one.operations[Operation::kRead] = {
      [engine](const Request&, const FieldData& data) -> absl::StatusOr<Response> {
        absl::StatusOr<std::shared_ptr<const CertRecord>> record =
            engine->LoadCert(data.GetString("id"));
        if (!record.ok()) return record.status();
        if (*record == nullptr) return Response::Empty();
        Response response;
        response.data = HeldResponse(*engine, **record);
        return response;
      },
      "Read a held certificate (never its key)."};
  one.operations[Operation::kDelete] = {
      [engine](const Request& request, const FieldData& data) -> absl::StatusOr<Response> {
        absl::Status status = engine->RevokeCert(data.GetString("id"), request, "deleted");
        if (!status.ok()) return status;
        return Response::Empty();
      },
      "Revoke the certificate at Qualtrics, then forget it.", true};
  return {list, one};
}

namespace {

const char kCertsListSynopsis[] = "List the certificates this mount holds at Qualtrics.";
const char kCertsSynopsis[] = "Read or revoke one certificate this mount holds at Qualtrics.";
const char kCertsDescription[] =
    "Every certificate the engine created and has not revoked, by Qualtrics id, with its role,\n"
    "state (current, superseded or expired) and expiry. Each one takes one of the organization's\n"
    "active-certificate slots, expired ones included. Deleting certs/<id> revokes the\n"
    "certificate at Qualtrics, then drops the engine's records of it; when it was a role's\n"
    "current certificate, the next read of cert/<role> issues a new one.";

}  // namespace
}  // namespace vault_qualtrics
