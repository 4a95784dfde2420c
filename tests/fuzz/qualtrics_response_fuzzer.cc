// libFuzzer target for the Qualtrics client's response decoding. It feeds one body to the
// decoders the client runs on 2xx responses (response_decoding.h) and to the error-body parser
// and error mapping it runs on the others (api_errors.h), and checks what each one promises
// about its result.
//
// Input layout: the first byte picks the HTTP status; the rest is the response body.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "backend/qualtrics/api_errors.h"
#include "backend/qualtrics/http_transport.h"
#include "backend/qualtrics/response_decoding.h"

namespace {

using namespace vault_qualtrics;
using namespace vault_qualtrics::qualtrics_internal;

constexpr long kStatuses[] = {200, 400, 401, 403, 404, 409, 413, 429, 500, 502, 503, 504};
// The public key fingerprint of the certificate in the create_ok seed, so that seed decodes to
// a certificate and the checks below run.
constexpr std::string_view kExpectedFingerprint =
    "03a37e24a030ccfd4389fce04b2d9b41333c1331d5179852281ae982cdf3be57";
// The origin of nextPage in the list seeds.
constexpr std::string_view kExpectedOrigin = "https://127.0.0.1:1";
constexpr std::string_view kHeaderRequestId = "hdr-request-id";

void Require(bool condition) {
  if (!condition) std::abort();
}

void CheckCreate(long status, std::string_view body) {
  absl::StatusOr<CreatedCertificate> created =
      DecodeCreateResponse(status, kHeaderRequestId, body, kExpectedFingerprint);
  if (!created.ok()) {
    // A missing id or certificate means the service may have issued one.
    Require(created.status().code() == absl::StatusCode::kInternal ||
            HasOutcomeUnknownMark(created.status()));
    // The message quotes the id and request id from the body, escaped.
    Require(!HasControlCharacter(std::string(created.status().message())));
    return;
  }
  Require(!created->id.empty());
  Require(!created->certificate_pem.empty());
  Require(!created->request_id.empty());
  Require(created->info.public_key_fingerprint == kExpectedFingerprint);
}

void CheckList(std::string_view body) {
  absl::StatusOr<ListPage> page = DecodeListResponse(kHeaderRequestId, body, kExpectedOrigin);
  if (!page.ok()) {
    Require(page.status().code() == absl::StatusCode::kFailedPrecondition);
    return;
  }
  for (const RemoteCertificate& certificate : page->certificates) Require(!certificate.id.empty());
  // The credential goes with every page, so a next page must stay on the configured origin.
  if (!page->next_page_url.empty()) Require(UrlOrigin(page->next_page_url) == kExpectedOrigin);
}

void CheckToken(std::string_view body) {
  const absl::Duration default_lifetime = absl::Minutes(5);
  absl::StatusOr<AccessToken> token = DecodeTokenResponse(body, default_lifetime);
  if (!token.ok()) {
    Require(token.status().code() == absl::StatusCode::kFailedPrecondition);
    return;
  }
  // The token goes into a header line, so it must be non-empty and single-line.
  Require(!token->token.empty());
  Require(!HasControlCharacter(token->token.view()));
  Require(token->lifetime > absl::ZeroDuration());
}

void CheckErrorMapping(long status, std::string_view body) {
  ErrorBody error = ParseErrorBody(body, kHeaderRequestId);
  // Parsed error text goes into messages and logs, so it must stay short and free of control
  // characters whatever the body holds.
  for (const std::string* text : {&error.error_code, &error.error_message, &error.request_id}) {
    Require(!HasControlCharacter(*text));
  }
  (void)IsQuotaErrorBody(status, error);
  for (Endpoint endpoint : {Endpoint::kCreate, Endpoint::kList, Endpoint::kDelete,
                            Endpoint::kToken}) {
    Require(!MapHttpError(endpoint, AuthMode::kApiToken, status, error, "simorg").ok());
    Require(!MapRetriesExhausted(endpoint, status, error, 4, absl::Seconds(3)).ok());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  long status = kStatuses[data[0] % (sizeof(kStatuses) / sizeof(kStatuses[0]))];
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  CheckCreate(status, body);
  CheckList(body);
  CheckToken(body);
  CheckErrorMapping(status, body);
  return 0;
}
