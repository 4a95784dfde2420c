// The engine's paths. Each builder returns the framework definition of one path (fields,
// operations, help text) whose handlers call `engine`, which must outlive the paths.
#ifndef BACKEND_PATHS_H_
#define BACKEND_PATHS_H_

#include <vector>

#include "backend/engine.h"
#include "backend/framework/framework.h"

namespace vault_qualtrics {

// config: the Qualtrics endpoint, organization, credentials and limits.
framework::Path ConfigPath(Engine* engine);
// roles/<name> and roles/: key and subject settings per role.
std::vector<framework::Path> RolePaths(Engine* engine);
// cert/<role>: issue-on-read.
framework::Path CertPath(Engine* engine);
// rotate/<role>: force a new key and certificate.
framework::Path RotatePath(Engine* engine);
// certs/ and certs/<id>: certificates the mount holds at Qualtrics.
std::vector<framework::Path> CertsPaths(Engine* engine);
// tidy: revoke expired and superseded certificates.
framework::Path TidyPath(Engine* engine);

// Whether a certificate response may carry the private key.
enum class KeyInResponse {
  // cert/<role>: the key when the role allows export and the key was generated exportable.
  kWhenExportable,
  // rotate/<role>: never, so that the right to rotate does not grant reading the key.
  kNever,
};

// The response for a certificate served from cert/<role> or rotate/<role>, data only. Includes
// the private key only when `key` permits it and the role allows export, and then marks the
// response as containing secrets.
Response CertificateResponseData(const Engine& engine, const ServedCertificate& served,
                                 const RoleRecord& role,
                                 KeyInResponse key = KeyInResponse::kWhenExportable);

// Builds the full response of cert/<role> and rotate/<role> for the certificate `served` of role
// `name`: the data above plus the issuance's warnings and any renew-window warning. Fails when
// the role was deleted meanwhile.
absl::StatusOr<Response> CertificateResponse(Engine& engine, const std::string& name,
                                             absl::StatusOr<ServedCertificate> served,
                                             KeyInResponse key = KeyInResponse::kWhenExportable);

}  // namespace vault_qualtrics

#endif  // BACKEND_PATHS_H_
