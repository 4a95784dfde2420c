// Turns Qualtrics HTTP error responses and transport failures into absl::Status values with the
// most specific code and a message that states what to fix. Private to backend/qualtrics.
#ifndef BACKEND_QUALTRICS_API_ERRORS_H_
#define BACKEND_QUALTRICS_API_ERRORS_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "backend/qualtrics/http_transport.h"

namespace vault_qualtrics {
namespace qualtrics_internal {

// The API call being made, which decides how an error is worded.
enum class Endpoint { kCreate, kList, kDelete, kToken };
std::string_view EndpointName(Endpoint endpoint);

// The credential kind a request used, which decides the advice in 401 messages.
enum class AuthMode { kApiToken, kOAuth };

// The parts of a Qualtrics error body: {"meta": {"error": {"errorCode", "errorMessage"},
// "requestId"}}, or an OAuth error body {"error", "error_description"}.
struct ErrorBody {
  std::string error_code;
  std::string error_message;
  std::string request_id;
};

// Parses what it can; missing fields stay empty. Each field passes through SanitizeServerText, so
// a hostile body cannot flood or forge log lines.
ErrorBody ParseErrorBody(std::string_view body, std::string_view header_request_id);

// Makes text that a server sent (a certificate id, a request id, an error message) safe to quote
// in an error message or a log line. The result is printable ASCII: control characters, non-ASCII
// characters and backslashes become JSON string escapes such as \n, \u001b, \u00e9 and \\, and
// invalid UTF-8 becomes \ufffd. Only the first 300 bytes are kept, and a cut text ends in "...".
std::string SanitizeServerText(std::string_view text);

// Maps a final (not retried) HTTP error status to a Status.
absl::Status MapHttpError(Endpoint endpoint, AuthMode auth, long http_status,
                          const ErrorBody& error, std::string_view organization_id);

// Maps a retryable status (429, 502, 503, 504) that persisted through all attempts.
absl::Status MapRetriesExhausted(Endpoint endpoint, long http_status, const ErrorBody& error,
                                 int attempts, absl::Duration elapsed);

// Maps a transport failure that is final.
absl::Status MapTransportFailure(Endpoint endpoint, const HttpResult& result, int attempts);

// True for an error body that reports the limit of active certificates.
bool IsQuotaErrorBody(long http_status, const ErrorBody& error);

// Status payload markers, read by IsOutcomeUnknown and IsQuotaExceeded.
absl::Status MarkOutcomeUnknown(absl::Status status);
absl::Status MarkQuotaExceeded(absl::Status status);
bool HasOutcomeUnknownMark(const absl::Status& status);
bool HasQuotaExceededMark(const absl::Status& status);

}  // namespace qualtrics_internal
}  // namespace vault_qualtrics

#endif  // BACKEND_QUALTRICS_API_ERRORS_H_
