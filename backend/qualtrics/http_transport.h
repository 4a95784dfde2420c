// One HTTPS exchange over libcurl with TLS verification always on. A failed exchange is
// classified by whether the request may have reached the server. Private to backend/qualtrics:
// the client builds retries and error messages on top of it.
#ifndef BACKEND_QUALTRICS_HTTP_TRANSPORT_H_
#define BACKEND_QUALTRICS_HTTP_TRANSPORT_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "backend/crypto/secret_bytes.h"

namespace vault_qualtrics {
namespace qualtrics_internal {

struct HttpRequest {
  std::string method;  // "GET", "POST" or "DELETE".
  std::string url;
  // Header lines without secrets, such as "Accept: application/json".
  std::vector<std::string> headers;
  // One header line carrying a credential ("X-API-TOKEN: ..." or "Authorization: ..."); zeroed
  // together with libcurl's copy when the exchange ends.
  SecretBytes credential_header;
  std::string body;
};

// The kind of failure of an exchange that produced no HTTP response.
enum class TransportFailure {
  kNone,
  // Name resolution, TCP connect or the TLS handshake failed: the request was never sent.
  kNotSent,
  // The request may have been sent, then the connection closed without a complete response.
  kNoResponse,
  // The request may have been sent, then the total timeout expired.
  kTimedOut,
  // The server's certificate did not verify (CA bundle or name mismatch).
  kTlsVerification,
  // Our client certificate, key or CA bundle could not be loaded.
  kLocalTlsSetup,
  // The response body exceeded the configured size cap.
  kResponseTooLarge,
  // The URL was rejected before connecting (not https, malformed).
  kBadUrl,
  // Anything else libcurl reports.
  kOther,
};

struct HttpResult {
  TransportFailure failure = TransportFailure::kNone;
  // libcurl's error text for a failure; never contains headers or bodies.
  std::string failure_detail;
  long status = 0;
  std::string body;
  // The Retry-After header, as a delay from now (libcurl parses seconds and HTTP dates).
  std::optional<absl::Duration> retry_after;
  // The X-Request-Id response header, when present.
  std::string request_id;
  // Connections opened for this exchange (libcurl's CURLINFO_NUM_CONNECTS): 0 when an idle
  // connection was reused.
  long new_connections = 0;
};

struct TransportOptions {
  std::string ca_bundle_pem;
  std::string server_name;
  std::string client_certificate_pem;
  SecretBytes client_key_pem;
  absl::Duration connect_timeout = absl::Seconds(10);
  absl::Duration request_timeout = absl::Seconds(30);
  size_t max_response_bytes = 1 << 20;
  // Idle connections kept for later exchanges; 0 opens a new connection for every exchange.
  int max_idle_connections = 4;
  // An idle connection older than this is closed instead of reused. It is kept below the 60 s
  // default idle timeout of AWS load balancers, so that a server rarely closes a connection just
  // as it is reused.
  absl::Duration max_idle_time = absl::Seconds(30);
};

class ConnectionPool;

// Performs HTTPS exchanges. Only https URLs are accepted and redirects are never followed. One
// instance may be used by several threads at once.
//
// Connections and TLS sessions are reused across the exchanges of one instance, never across
// instances, so a change of CA bundle, client certificate or credentials is made by creating a
// new instance. A reused connection can fail before any response byte arrives, for example when
// the server closed it at the same moment. Then libcurl sends a GET again on a new connection by
// itself. Any other method is not sent again: it fails as kNoResponse and the caller decides.
class HttpTransport {
 public:
  explicit HttpTransport(TransportOptions options);
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  HttpResult Perform(HttpRequest& request) const;

  // Idle connections currently kept, for tests.
  int IdleConnectionCount() const;

 private:
  TransportOptions options_;
  // Destroyed before options_, because pooled handles point to the client key in options_.
  std::unique_ptr<ConnectionPool> pool_;
};

// Rewrites `url` so that its host is `server_name` and returns the libcurl CONNECT_TO entry that
// keeps the connection going to the original host and port. Exposed for tests.
struct ConnectTarget {
  std::string url;
  std::string connect_to;
};
absl::StatusOr<ConnectTarget> ApplyServerName(std::string_view url, std::string_view server_name);

// Returns "scheme://host:port" of an absolute URL, with the default port made explicit, or an
// empty string when the URL cannot be parsed.
std::string UrlOrigin(std::string_view url);

}  // namespace qualtrics_internal
}  // namespace vault_qualtrics

#endif  // BACKEND_QUALTRICS_HTTP_TRANSPORT_H_
