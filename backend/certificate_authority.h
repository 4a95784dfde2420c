// The engine's view of Qualtrics' client-certificate API: create, list and delete. The engine
// codes against this interface; qualtrics_adapter.h adapts the HTTPS client to it, and tests use
// a fake that signs real certificates in memory.
#ifndef BACKEND_CERTIFICATE_AUTHORITY_H_
#define BACKEND_CERTIFICATE_AUTHORITY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backend/crypto/secret_bytes.h"
#include "backend/records.h"

namespace vault_qualtrics {

// A certificate the service issued for our CSR.
struct IssuedCertificate {
  std::string id;
  std::string certificate_pem;
  // meta.requestId and meta.notice of the create response; either may be empty.
  std::string request_id;
  std::string notice;
};

// One certificate as the list call reports it. Fields the service leaves out stay empty or 0.
struct HeldCertificate {
  std::string id;
  std::string certificate_pem;
  // Lowercase hex SHA-256 of the DER SubjectPublicKeyInfo.
  std::string public_key_fingerprint;
  // Unix seconds; 0 when unknown.
  int64_t expires_at = 0;
};

// Create, list and delete at Qualtrics. Implementations are thread-safe.
class CertificateAuthority {
 public:
  virtual ~CertificateAuthority() = default;

  // Creates a certificate for `csr_pem`. A failure that leaves the outcome unknown (the request
  // may have reached the service) carries IsCreateOutcomeUnknown; a full organization carries
  // IsQuotaFull.
  virtual absl::StatusOr<IssuedCertificate> Create(std::string_view csr_pem,
                                                   std::string_view public_key_fingerprint) = 0;
  virtual absl::StatusOr<std::vector<HeldCertificate>> List() = 0;
  // Deletes (revokes) `id`. NotFound means the service does not know the id.
  virtual absl::Status Delete(std::string_view id) = 0;
};

// The client certificate and key presented to Qualtrics in mutual TLS mode.
struct ClientIdentity {
  std::string certificate_pem;
  SecretBytes private_key_pem;
};

// Builds a CertificateAuthority for `config`, presenting `identity` when it is not null.
using CertificateAuthorityFactory =
    std::function<absl::StatusOr<std::shared_ptr<CertificateAuthority>>(
        const ConfigRecord& config, const ClientIdentity* identity)>;

// Marks `status` as a create whose outcome is unknown, or as a full organization.
absl::Status MarkCreateOutcomeUnknown(absl::Status status);
absl::Status MarkQuotaFull(absl::Status status);
bool IsCreateOutcomeUnknown(const absl::Status& status);
bool IsQuotaFull(const absl::Status& status);

}  // namespace vault_qualtrics

#endif  // BACKEND_CERTIFICATE_AUTHORITY_H_
