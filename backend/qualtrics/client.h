// A client for Qualtrics' client-certificate API (create, list, delete) over HTTPS.
//
// Create is documented by Qualtrics: POST {base_url}/organizations/{organizationId}/
// clientcertificates with {"certificateRequest": "<PEM CSR>"}. List (GET on the same path) and
// delete (DELETE .../clientcertificates/{id}) are assumed from the mTLS endpoint group and not
// documented in our sources, so all three paths are templates in ApiPaths that an operator can
// correct by configuration.
//
// Every failure is an absl::Status with the most specific code and a message that states what to
// fix and quotes Qualtrics' meta.requestId when there is one. Messages never contain the API
// token, OAuth secret or access token, nor the body we sent.
#ifndef BACKEND_QUALTRICS_CLIENT_H_
#define BACKEND_QUALTRICS_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "backend/crypto/certificate.h"
#include "backend/crypto/secret_bytes.h"

namespace vault_qualtrics {

// Path templates appended to base_url. "{organizationId}" and "{id}" are replaced by the
// URL-encoded organization id and certificate id.
struct ApiPaths {
  std::string create = "/organizations/{organizationId}/clientcertificates";
  std::string list = "/organizations/{organizationId}/clientcertificates";
  std::string remove = "/organizations/{organizationId}/clientcertificates/{id}";
};

// OAuth 2.0 client credentials grant: POST token_url with grant_type=client_credentials and
// scope, client_id and client_secret as HTTP basic auth.
struct OAuthCredentials {
  // Qualtrics' form is https://{datacenterId}.qualtrics.com/oauth2/token.
  std::string token_url;
  std::string client_id;
  SecretBytes client_secret;
  // Space-separated scopes; Qualtrics requires one that covers the certificate API.
  std::string scope;
};

// The retry limits for failed calls. Retries apply to HTTP 429, 502, 503 and 504 and to
// connection failures. Each wait is the server's Retry-After when it sends one, or else drawn
// uniformly from [0, min(max_backoff, initial_backoff * 2^retry)] ("full jitter"). A create whose
// request may have reached Qualtrics is never retried: a timeout or dropped connection after
// sending, and a 502 or 504 from a gateway, return the outcome-unknown status instead (see
// IsOutcomeUnknown). A 429 or 503 on create is retried, because the service did not act on it.
struct RetryPolicy {
  // Retries after the first attempt; 0 disables retries.
  int max_retries = 4;
  // No retry starts, and no wait is begun, that would end later than this after the first
  // attempt began.
  absl::Duration max_retry_time = absl::Seconds(60);
  absl::Duration initial_backoff = absl::Milliseconds(250);
  absl::Duration max_backoff = absl::Seconds(10);
};

struct ClientOptions {
  // API root including the version, e.g. https://fra1.qualtrics.com/API/v3. Must be https.
  std::string base_url;
  std::string organization_id;

  // Exactly one of api_token (sent as X-API-TOKEN) and oauth must be set.
  SecretBytes api_token;
  std::optional<OAuthCredentials> oauth;

  // PEM CA certificates to trust instead of the system store; empty means the system store.
  std::string ca_bundle_pem;
  // When set, TLS connects to the host and port of base_url but verifies the server's
  // certificate for this name, sends it as SNI and as the Host header.
  std::string server_name;

  // Client certificate for Qualtrics' mutual TLS mode, as in-memory PEM; both or neither.
  // The key is passed to libcurl by reference and never copied to a file.
  std::string client_certificate_pem;
  SecretBytes client_key_pem;

  absl::Duration connect_timeout = absl::Seconds(10);
  // Total time for one HTTP exchange, connect included.
  absl::Duration request_timeout = absl::Seconds(30);
  RetryPolicy retry;
  // Responses larger than this fail with ResourceExhausted.
  size_t max_response_bytes = 1 << 20;
  // Connections and TLS sessions are reused across the calls of one client, never across
  // clients: a client built from other options starts with no connection. At most
  // max_idle_connections stay open between calls, each for at most max_idle_time; 0 opens a
  // new connection for every request.
  int max_idle_connections = 4;
  absl::Duration max_idle_time = absl::Seconds(30);
  ApiPaths paths;

  // Test hook: replaces the sleep between retries. Left empty, the client sleeps for real.
  std::function<void(absl::Duration)> sleep_for_testing;
};

// A certificate Qualtrics issued for our CSR, already checked against the expected key.
struct CreatedCertificate {
  std::string id;
  std::string certificate_pem;
  // Parsed from certificate_pem.
  CertificateInfo info;
  // meta.requestId, to quote to Qualtrics support.
  std::string request_id;
  // meta.notice, set when Qualtrics warns, e.g. that the presented client certificate expires
  // within 60 days. Empty when there is none.
  std::string notice;
};

// One certificate as the list call returns it. Fields the service leaves out stay empty or 0.
struct RemoteCertificate {
  std::string id;
  // The certificate PEM when the service returns it.
  std::string certificate_pem;
  // Lowercase hex SHA-256 of the DER SubjectPublicKeyInfo, computed from certificate_pem when
  // present, otherwise taken from the service's fingerprint field.
  std::string public_key_fingerprint;
  // Expiry as Unix seconds; 0 when unknown.
  int64_t expires_at = 0;
  std::string serial_number;
};

// The Qualtrics client-certificate API. Implementations are thread-safe: several threads may
// call one instance at once.
class QualtricsClient {
 public:
  virtual ~QualtricsClient() = default;

  // Sends `csr_pem` to Qualtrics and returns the issued certificate, after checking that it
  // parses, that its public key fingerprint equals `expected_public_key_fingerprint` (from
  // PrivateKey::PublicKeyFingerprintSha256) and that the id is not empty. The CSR is verified
  // locally first and is not sent when its signature or key does not match.
  //
  // Errors: Unauthenticated (token or OAuth credentials rejected), PermissionDenied (not a brand
  // administrator), ResourceExhausted (10 active certificates, see IsQuotaExceeded, or rate
  // limited after retries), InvalidArgument (CSR invalid or rejected with 400), Internal (HTTP
  // 500, or a returned certificate that does not parse or carries another key; the message
  // names its id so it can be deleted), Unavailable or DeadlineExceeded (service unreachable).
  // The outcome-unknown status (IsOutcomeUnknown) means the request was sent but no usable
  // response came back. The certificate may then exist, so reconcile by listing and matching
  // the public key fingerprint before trying again.
  virtual absl::StatusOr<CreatedCertificate> CreateCertificate(
      std::string_view csr_pem, std::string_view expected_public_key_fingerprint) = 0;

  // Lists the organization's client certificates, active and expired.
  virtual absl::StatusOr<std::vector<RemoteCertificate>> ListCertificates() = 0;

  // Deletes (revokes) the certificate `id`, freeing its slot. Fails with NotFound when Qualtrics
  // does not know the id, except after a retried attempt whose response was lost, where NotFound
  // means the first attempt succeeded and the call returns OK.
  virtual absl::Status DeleteCertificate(std::string_view id) = 0;
};

// Creates the libcurl-based client. Fails with InvalidArgument when the options are incomplete
// or contradictory (no https base URL, no organization id, neither or both of api_token and
// oauth, a client certificate without its key), naming the option to fix.
absl::StatusOr<std::unique_ptr<QualtricsClient>> NewQualtricsClient(ClientOptions options);

// True when `status` reports a create request that may have reached Qualtrics with an unknown
// outcome. That happens when the response timed out or the connection dropped after sending,
// when a gateway returned 502 or 504, or when a 2xx response could not be read. Such a status
// has code Unavailable or DeadlineExceeded.
bool IsOutcomeUnknown(const absl::Status& status);

// True when `status` reports that the organization has the maximum number of active
// certificates.
bool IsQuotaExceeded(const absl::Status& status);

}  // namespace vault_qualtrics

#endif  // BACKEND_QUALTRICS_CLIENT_H_
