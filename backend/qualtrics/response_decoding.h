// Decoding of successful (2xx) Qualtrics response bodies into the client's results. The client
// calls these after an exchange succeeds, and tests/fuzz/qualtrics_response_fuzzer.cc calls them
// on arbitrary bytes, so they must accept any body without crashing. Error bodies (non-2xx) are
// decoded by ParseErrorBody in api_errors.h. Private to backend/qualtrics.
#ifndef BACKEND_QUALTRICS_RESPONSE_DECODING_H_
#define BACKEND_QUALTRICS_RESPONSE_DECODING_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "backend/crypto/secret_bytes.h"
#include "backend/qualtrics/client.h"

namespace vault_qualtrics {
namespace qualtrics_internal {

// Decodes the body of a 2xx create response: result.id, result.certificate, meta.requestId
// (`header_request_id` when the body has none) and meta.notice. The certificate must parse and
// carry the key with `expected_public_key_fingerprint`. `http_status` is only quoted in messages.
//
// Errors: the outcome-unknown status (see IsOutcomeUnknown) when the id or the certificate is
// missing, because the service may have issued one; Internal when the certificate does not parse
// or carries another key, naming its id (escaped by SanitizeServerText) so it can be deleted.
absl::StatusOr<CreatedCertificate> DecodeCreateResponse(
    long http_status, std::string_view header_request_id, std::string_view body,
    std::string_view expected_public_key_fingerprint);

// One page of the list response.
struct ListPage {
  // Elements without an id are skipped.
  std::vector<RemoteCertificate> certificates;
  // Absolute URL of the next page, or empty on the last page.
  std::string next_page_url;
};

// Decodes the body of a 2xx list response: result.elements and result.nextPage. An element's
// fingerprint, expiry and serial come from its certificate when that parses, otherwise from its
// fingerprint and expiry fields. `expected_origin` is UrlOrigin of the configured base URL.
//
// Errors: FailedPrecondition when the body has no result.elements array, or when nextPage
// points to another origin than `expected_origin` (the credential goes with every page).
absl::StatusOr<ListPage> DecodeListResponse(std::string_view header_request_id,
                                            std::string_view body,
                                            std::string_view expected_origin);

// An OAuth access token and how long it is valid from the time it was requested.
struct AccessToken {
  SecretBytes token;
  absl::Duration lifetime;
};

// Decodes the body of a 2xx OAuth token response: access_token and expires_in (a positive
// number of seconds; `default_lifetime` when absent or not positive). The decoder zeroes its
// parsed copy of the token, but not `body`, which the caller must zero.
//
// Errors: FailedPrecondition when access_token is missing, empty, not a string or contains a
// control character.
absl::StatusOr<AccessToken> DecodeTokenResponse(std::string_view body,
                                                absl::Duration default_lifetime);

// True for CR, LF, NUL and the other bytes below 0x20, and DEL: none may appear in a header
// value or a form field the client sends.
bool HasControlCharacter(std::string_view text);

}  // namespace qualtrics_internal
}  // namespace vault_qualtrics

#endif  // BACKEND_QUALTRICS_RESPONSE_DECODING_H_
