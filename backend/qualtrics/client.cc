#include "backend/qualtrics/client.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <random>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "backend/crypto/certificate.h"
#include "backend/crypto/csr.h"
#include "backend/crypto/key.h"
#include "backend/logical/log.h"
#include "backend/qualtrics/api_errors.h"
#include "backend/qualtrics/http_transport.h"
#include "backend/qualtrics/response_decoding.h"

namespace vault_qualtrics {

using qualtrics_internal::AuthMode;
using qualtrics_internal::Endpoint;
using qualtrics_internal::ErrorBody;
using qualtrics_internal::HasControlCharacter;
using qualtrics_internal::HttpRequest;
using qualtrics_internal::HttpResult;
using qualtrics_internal::HttpTransport;
using qualtrics_internal::TransportFailure;
using qualtrics_internal::TransportOptions;

namespace {

// List pages followed at most, so a server that always returns nextPage cannot loop us forever.
constexpr int kMaxListPages = 100;
// An access token is refreshed this long before expires_in runs out (or at half its lifetime
// when that is shorter), so a call never starts with a token about to expire.
constexpr absl::Duration kTokenRefreshMargin = absl::Seconds(60);
// Lifetime assumed when a token response carries no expires_in.
constexpr absl::Duration kDefaultTokenLifetime = absl::Minutes(5);

// Percent-encodes everything except RFC 3986's unreserved characters.
std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string encoded;
  for (char c : text) {
    unsigned char byte = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~') {
      encoded.push_back(c);
    } else {
      encoded.push_back('%');
      encoded.push_back(kHex[byte >> 4]);
      encoded.push_back(kHex[byte & 0x0f]);
    }
  }
  return encoded;
}

bool IsHttpsUrl(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (url.size() <= kScheme.size()) return false;
  return absl::EqualsIgnoreCase(absl::string_view(url.data(), kScheme.size()), "https://");
}

absl::Status ValidateOptions(const ClientOptions& options) {
  if (!IsHttpsUrl(options.base_url) ||
      qualtrics_internal::UrlOrigin(options.base_url).empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid base_url \"", options.base_url,
        "\": use an https URL such as https://fra1.qualtrics.com/API/v3"));
  }
  if (options.organization_id.empty()) {
    return absl::InvalidArgumentError("organization_id is missing: set the Qualtrics organization "
                                      "(brand) id");
  }
  bool has_token = !options.api_token.empty();
  bool has_oauth = options.oauth.has_value();
  if (has_token == has_oauth) {
    return absl::InvalidArgumentError(
        "set exactly one of api_token and the OAuth client credentials (client_id, "
        "client_secret)");
  }
  if (has_token && HasControlCharacter(options.api_token.view())) {
    return absl::InvalidArgumentError(
        "api_token contains a control character such as a line break or NUL byte: set the "
        "token alone");
  }
  if (has_oauth) {
    const OAuthCredentials& oauth = *options.oauth;
    if (!IsHttpsUrl(oauth.token_url) || qualtrics_internal::UrlOrigin(oauth.token_url).empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid token_url \"", oauth.token_url,
          "\": use an https URL such as https://fra1.qualtrics.com/oauth2/token"));
    }
    if (oauth.client_id.empty() || oauth.client_secret.empty()) {
      return absl::InvalidArgumentError(
          "OAuth needs both client_id and client_secret: set the missing one");
    }
    if (HasControlCharacter(oauth.client_secret.view())) {
      return absl::InvalidArgumentError(
          "client_secret contains a control character such as a line break or NUL byte: set the "
          "secret alone");
    }
  }
  if (options.client_certificate_pem.empty() != options.client_key_pem.empty()) {
    return absl::InvalidArgumentError(
        "the mTLS client certificate and its private key must be set together");
  }
  if (!options.client_certificate_pem.empty()) {
    absl::StatusOr<PrivateKey> key = PrivateKeyFromPem(options.client_key_pem.view());
    if (!key.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("invalid mTLS client key: ",
                                                     std::string(key.status().message())));
    }
    absl::StatusOr<bool> matches = CertificateMatchesKey(options.client_certificate_pem, *key);
    if (!matches.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("invalid mTLS client certificate: ",
                                                     std::string(matches.status().message())));
    }
    if (!*matches) {
      return absl::InvalidArgumentError(
          "the mTLS client certificate does not belong to the given private key");
    }
  }
  if (options.connect_timeout <= absl::ZeroDuration() ||
      options.request_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("connect_timeout and request_timeout must be positive");
  }
  if (options.retry.max_retries < 0 || options.retry.max_retry_time < absl::ZeroDuration() ||
      options.retry.initial_backoff < absl::ZeroDuration() ||
      options.retry.max_backoff < options.retry.initial_backoff) {
    return absl::InvalidArgumentError(
        "invalid retry policy: max_retries and durations must not be negative, and max_backoff "
        "must be at least initial_backoff");
  }
  if (options.max_idle_connections < 0 || options.max_idle_time <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "max_idle_connections must not be negative and max_idle_time must be positive");
  }
  if (options.max_response_bytes == 0) {
    return absl::InvalidArgumentError("max_response_bytes must be positive");
  }
  if (!absl::StrContains(options.paths.create, "{organizationId}") ||
      !absl::StrContains(options.paths.list, "{organizationId}") ||
      !absl::StrContains(options.paths.remove, "{id}")) {
    return absl::InvalidArgumentError(
        "the API path templates must contain {organizationId}, and the delete path also {id}");
  }
  return absl::OkStatus();
}

class CurlQualtricsClient : public QualtricsClient {
 public:
  explicit CurlQualtricsClient(ClientOptions options)
      : options_(std::move(options)),
        transport_(MakeTransportOptions(options_)),
        auth_mode_(options_.oauth.has_value() ? AuthMode::kOAuth : AuthMode::kApiToken),
        random_(std::random_device{}()) {
    while (!options_.base_url.empty() && options_.base_url.back() == '/') {
      options_.base_url.pop_back();
    }
  }

  absl::StatusOr<CreatedCertificate> CreateCertificate(
      std::string_view csr_pem, std::string_view expected_public_key_fingerprint) override;
  absl::StatusOr<std::vector<RemoteCertificate>> ListCertificates() override;
  absl::Status DeleteCertificate(std::string_view id) override;

 private:
  // One API call, before retries.
  struct Call {
    Endpoint endpoint;
    std::string method;
    std::string url;
    std::string content_type;
    std::string body;
    // For the token endpoint: the basic auth header, used instead of the API credential.
    const SecretBytes* fixed_credential = nullptr;
  };

  // A 2xx response, or for delete a 404 that follows an attempt whose response was lost.
  struct Answer {
    long status = 0;
    std::string body;
    std::string request_id;
  };

  static TransportOptions MakeTransportOptions(const ClientOptions& options) {
    TransportOptions transport;
    transport.ca_bundle_pem = options.ca_bundle_pem;
    transport.server_name = options.server_name;
    transport.client_certificate_pem = options.client_certificate_pem;
    transport.client_key_pem = options.client_key_pem.Copy();
    transport.connect_timeout = options.connect_timeout;
    transport.request_timeout = options.request_timeout;
    transport.max_response_bytes = options.max_response_bytes;
    transport.max_idle_connections = options.max_idle_connections;
    transport.max_idle_time = options.max_idle_time;
    return transport;
  }

  std::string ApiUrl(const std::string& path_template, std::string_view id = "") const {
    std::string path = absl::StrReplaceAll(
        path_template, {{"{organizationId}", PercentEncode(options_.organization_id)},
                        {"{id}", PercentEncode(id)}});
    if (!path.empty() && path.front() != '/') path.insert(0, "/");
    return options_.base_url + path;
  }

  absl::StatusOr<Answer> Execute(const Call& call);
  absl::StatusOr<SecretBytes> CredentialHeader(uint64_t* token_generation);
  // Requires token_mutex_.
  absl::Status FetchTokenLocked();
  void InvalidateToken(uint64_t token_generation);
  absl::Duration Backoff(int retry_index);
  void Sleep(absl::Duration duration) const {
    if (options_.sleep_for_testing) {
      options_.sleep_for_testing(duration);
    } else {
      absl::SleepFor(duration);
    }
  }

  ClientOptions options_;
  HttpTransport transport_;
  AuthMode auth_mode_;

  // std::mutex rather than absl::Mutex, because ThreadSanitizer sees only pthread locks in a
  // system Abseil that was not built with it.
  std::mutex token_mutex_;
  // Guarded by token_mutex_.
  SecretBytes access_token_;
  absl::Time token_refresh_at_ = absl::InfinitePast();
  uint64_t token_generation_ = 0;

  std::mutex random_mutex_;
  // Guarded by random_mutex_.
  std::mt19937_64 random_;
};

absl::Duration CurlQualtricsClient::Backoff(int retry_index) {
  // Full jitter: a uniform wait between zero and the capped exponential bound.
  absl::Duration bound = options_.retry.initial_backoff;
  for (int i = 0; i < retry_index && bound < options_.retry.max_backoff; ++i) bound *= 2;
  bound = std::min(bound, options_.retry.max_backoff);
  int64_t bound_us = absl::ToInt64Microseconds(bound);
  if (bound_us <= 0) return absl::ZeroDuration();
  std::lock_guard<std::mutex> lock(random_mutex_);
  std::uniform_int_distribution<int64_t> distribution(0, bound_us);
  return absl::Microseconds(distribution(random_));
}

absl::Status CurlQualtricsClient::FetchTokenLocked() {
  const OAuthCredentials& oauth = *options_.oauth;
  SecretBytes pair(absl::StrCat(oauth.client_id, ":"));
  SecretBytes joined = SecretBytes::OfSize(pair.size() + oauth.client_secret.size());
  std::memcpy(joined.mutable_data(), pair.data(), pair.size());
  std::memcpy(joined.mutable_data() + pair.size(), oauth.client_secret.data(),
              oauth.client_secret.size());
  SecretBytes encoded = Base64Encode(joined.view());
  std::string_view prefix = "Authorization: Basic ";
  SecretBytes basic = SecretBytes::OfSize(prefix.size() + encoded.size());
  std::memcpy(basic.mutable_data(), prefix.data(), prefix.size());
  std::memcpy(basic.mutable_data() + prefix.size(), encoded.data(), encoded.size());

  Call call;
  call.endpoint = Endpoint::kToken;
  call.method = "POST";
  call.url = oauth.token_url;
  call.content_type = "application/x-www-form-urlencoded";
  call.body = "grant_type=client_credentials";
  if (!oauth.scope.empty()) call.body.append("&scope=").append(PercentEncode(oauth.scope));
  call.fixed_credential = &basic;

  absl::Time requested_at = absl::Now();
  absl::StatusOr<Answer> answer = Execute(call);
  if (!answer.ok()) return answer.status();

  absl::StatusOr<qualtrics_internal::AccessToken> decoded =
      qualtrics_internal::DecodeTokenResponse(answer->body, kDefaultTokenLifetime);
  ZeroString(answer->body);
  if (!decoded.ok()) return decoded.status();
  absl::Duration margin = std::min(kTokenRefreshMargin, decoded->lifetime / 2);
  access_token_ = std::move(decoded->token);
  token_refresh_at_ = requested_at + decoded->lifetime - margin;
  ++token_generation_;
  return absl::OkStatus();
}

absl::StatusOr<SecretBytes> CurlQualtricsClient::CredentialHeader(uint64_t* token_generation) {
  if (auth_mode_ == AuthMode::kApiToken) {
    std::string_view prefix = "X-API-TOKEN: ";
    SecretBytes header = SecretBytes::OfSize(prefix.size() + options_.api_token.size());
    std::memcpy(header.mutable_data(), prefix.data(), prefix.size());
    std::memcpy(header.mutable_data() + prefix.size(), options_.api_token.data(),
                options_.api_token.size());
    return header;
  }

  // The lock is held while a token is fetched, so concurrent callers wait for one request
  // instead of each fetching their own.
  std::lock_guard<std::mutex> lock(token_mutex_);
  if (access_token_.empty() || absl::Now() >= token_refresh_at_) {
    absl::Status fetched = FetchTokenLocked();
    if (!fetched.ok()) return fetched;
  }
  *token_generation = token_generation_;
  std::string_view prefix = "Authorization: Bearer ";
  SecretBytes header = SecretBytes::OfSize(prefix.size() + access_token_.size());
  std::memcpy(header.mutable_data(), prefix.data(), prefix.size());
  std::memcpy(header.mutable_data() + prefix.size(), access_token_.data(), access_token_.size());
  return header;
}

void CurlQualtricsClient::InvalidateToken(uint64_t token_generation) {
  std::lock_guard<std::mutex> lock(token_mutex_);
  // Only the token that was rejected is dropped; another thread may have replaced it already.
  if (token_generation == token_generation_) access_token_.Clear();
}

absl::StatusOr<CurlQualtricsClient::Answer> CurlQualtricsClient::Execute(const Call& call) {
  const absl::Time started = absl::Now();
  const std::string_view endpoint_name = qualtrics_internal::EndpointName(call.endpoint);
  int attempts = 0;
  int retries = 0;
  bool token_refreshed = false;
  bool earlier_response_lost = false;

  // Bounded: each pass either returns or consumes one of max_retries retries, except a single
  // pass that refreshes the OAuth token.
  while (true) {
    ++attempts;
    HttpRequest request;
    request.method = call.method;
    request.url = call.url;
    request.headers.push_back("Accept: application/json");
    if (!call.content_type.empty()) {
      request.headers.push_back(absl::StrCat("Content-Type: ", call.content_type));
    }
    request.body = call.body;
    uint64_t token_generation = 0;
    if (call.fixed_credential != nullptr) {
      request.credential_header = call.fixed_credential->Copy();
    } else {
      absl::StatusOr<SecretBytes> credential = CredentialHeader(&token_generation);
      if (!credential.ok()) return credential.status();
      request.credential_header = *std::move(credential);
    }

    HttpResult result = transport_.Perform(request);
    request.credential_header.Clear();

    if (result.failure == TransportFailure::kNone && result.status >= 200 &&
        result.status < 300) {
      return Answer{result.status, std::move(result.body), std::move(result.request_id)};
    }

    std::optional<absl::Duration> server_wait;
    long retry_status = 0;
    ErrorBody error;
    if (result.failure != TransportFailure::kNone) {
      bool may_have_been_sent = result.failure == TransportFailure::kNoResponse ||
                                result.failure == TransportFailure::kTimedOut;
      // For a create, every failure after the request may have left counts as an unknown
      // outcome: a response over the size cap, for one, still means the certificate exists.
      bool create_may_exist = result.failure != TransportFailure::kNotSent &&
                              result.failure != TransportFailure::kBadUrl &&
                              result.failure != TransportFailure::kLocalTlsSetup &&
                              result.failure != TransportFailure::kTlsVerification;
      if (create_may_exist && call.endpoint == Endpoint::kCreate) {
        absl::Status failure =
            qualtrics_internal::MapTransportFailure(call.endpoint, result, attempts);
        absl::StatusCode code = result.failure == TransportFailure::kTimedOut
                                    ? absl::StatusCode::kDeadlineExceeded
                                    : absl::StatusCode::kUnavailable;
        return qualtrics_internal::MarkOutcomeUnknown(absl::Status(
            code, absl::StrCat(std::string(failure.message()),
                               "; the create request was sent, so the certificate may exist: "
                               "list the certificates and match the public key before creating "
                               "again")));
      }
      bool retryable = result.failure == TransportFailure::kNotSent || may_have_been_sent;
      if (!retryable) {
        return qualtrics_internal::MapTransportFailure(call.endpoint, result, attempts);
      }
      earlier_response_lost = earlier_response_lost || may_have_been_sent;
    } else {
      error = qualtrics_internal::ParseErrorBody(result.body, result.request_id);
      long status = result.status;

      if (status == 401 && auth_mode_ == AuthMode::kOAuth && call.fixed_credential == nullptr &&
          !token_refreshed && !absl::StartsWith(error.error_code, "CLIENT_CERT_")) {
        // The cached bearer token may have been revoked or expired early: fetch a new one once.
        token_refreshed = true;
        InvalidateToken(token_generation);
        --attempts;
        Log(LogLevel::kDebug, "qualtrics access token rejected, fetching a new one",
            {{"operation", std::string(endpoint_name)}, {"request_id", error.request_id}});
        continue;
      }
      if (call.endpoint == Endpoint::kCreate && (status == 502 || status == 504)) {
        // A gateway error means an upstream server may have handled the create.
        return qualtrics_internal::MarkOutcomeUnknown(absl::UnavailableError(absl::StrCat(
            "Qualtrics responded to the create request with HTTP ", status,
            " from a gateway, so the certificate may exist: list the certificates and match the "
            "public key before creating again",
            error.request_id.empty() ? "" : absl::StrCat(" (request id ", error.request_id, ")"))));
      }
      if (call.endpoint == Endpoint::kDelete && status == 404 && earlier_response_lost) {
        return Answer{status, "", error.request_id};
      }
      if (status != 429 && status != 502 && status != 503 && status != 504) {
        return qualtrics_internal::MapHttpError(call.endpoint, auth_mode_, status, error,
                                                options_.organization_id);
      }
      retry_status = status;
      server_wait = result.retry_after;
    }

    auto give_up = [&]() -> absl::Status {
      if (retry_status != 0) {
        return qualtrics_internal::MapRetriesExhausted(call.endpoint, retry_status, error,
                                                       attempts, absl::Now() - started);
      }
      return qualtrics_internal::MapTransportFailure(call.endpoint, result, attempts);
    };
    if (retries >= options_.retry.max_retries) return give_up();
    absl::Duration wait = server_wait.has_value() ? *server_wait : Backoff(retries);
    if (absl::Now() + wait - started > options_.retry.max_retry_time) return give_up();

    ++retries;
    Log(LogLevel::kWarn, "qualtrics request retried",
        {{"operation", std::string(endpoint_name)},
         {"attempt", absl::StrCat(attempts + 1)},
         {"reason", retry_status != 0 ? absl::StrCat("http ", retry_status)
                                      : std::string(result.failure_detail)},
         {"wait_ms", absl::StrCat(absl::ToInt64Milliseconds(wait))},
         {"request_id", error.request_id}});
    Sleep(wait);
  }
}

absl::StatusOr<CreatedCertificate> CurlQualtricsClient::CreateCertificate(
    std::string_view csr_pem, std::string_view expected_public_key_fingerprint) {
  if (expected_public_key_fingerprint.empty()) {
    return absl::InvalidArgumentError(
        "the expected public key fingerprint is missing: pass the key's SHA-256 fingerprint");
  }
  if (absl::Status verified = VerifyCsrPem(csr_pem); !verified.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("the CSR is not valid and was not sent: ",
                                                   std::string(verified.message())));
  }
  absl::StatusOr<std::string> csr_fingerprint = CsrPublicKeyFingerprint(csr_pem);
  if (!csr_fingerprint.ok()) return csr_fingerprint.status();
  if (*csr_fingerprint != expected_public_key_fingerprint) {
    return absl::InvalidArgumentError(
        "the CSR carries a different public key than the expected fingerprint: build the CSR "
        "from the key whose fingerprint is passed");
  }

  nlohmann::json request_body = {{"certificateRequest", std::string(csr_pem)}};
  Call call;
  call.endpoint = Endpoint::kCreate;
  call.method = "POST";
  call.url = ApiUrl(options_.paths.create);
  call.content_type = "application/json";
  call.body = request_body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);

  absl::StatusOr<Answer> answer = Execute(call);
  if (!answer.ok()) return answer.status();

  absl::StatusOr<CreatedCertificate> created = qualtrics_internal::DecodeCreateResponse(
      answer->status, answer->request_id, answer->body, expected_public_key_fingerprint);
  if (!created.ok()) return created.status();
  if (!created->notice.empty()) {
    Log(LogLevel::kWarn, "qualtrics notice on certificate creation",
        {{"notice", created->notice}, {"request_id", created->request_id}});
  }
  return created;
}

absl::StatusOr<std::vector<RemoteCertificate>> CurlQualtricsClient::ListCertificates() {
  std::vector<RemoteCertificate> certificates;
  const std::string expected_origin = qualtrics_internal::UrlOrigin(options_.base_url);
  std::string url = ApiUrl(options_.paths.list);

  for (int page = 0; page < kMaxListPages; ++page) {
    Call call;
    call.endpoint = Endpoint::kList;
    call.method = "GET";
    call.url = url;
    absl::StatusOr<Answer> answer = Execute(call);
    if (!answer.ok()) return answer.status();

    absl::StatusOr<qualtrics_internal::ListPage> decoded =
        qualtrics_internal::DecodeListResponse(answer->request_id, answer->body, expected_origin);
    if (!decoded.ok()) return decoded.status();
    for (RemoteCertificate& certificate : decoded->certificates) {
      certificates.push_back(std::move(certificate));
    }
    if (decoded->next_page_url.empty()) return certificates;
    url = std::move(decoded->next_page_url);
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "the Qualtrics certificate list did not end after ", kMaxListPages, " pages"));
}

absl::Status CurlQualtricsClient::DeleteCertificate(std::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError("the certificate id to delete is empty");
  Call call;
  call.endpoint = Endpoint::kDelete;
  call.method = "DELETE";
  call.url = ApiUrl(options_.paths.remove, id);
  absl::StatusOr<Answer> answer = Execute(call);
  if (!answer.ok()) return answer.status();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<QualtricsClient>> NewQualtricsClient(ClientOptions options) {
  if (absl::Status valid = ValidateOptions(options); !valid.ok()) return valid;
  return std::unique_ptr<QualtricsClient>(new CurlQualtricsClient(std::move(options)));
}

bool IsOutcomeUnknown(const absl::Status& status) {
  return qualtrics_internal::HasOutcomeUnknownMark(status);
}

bool IsQuotaExceeded(const absl::Status& status) {
  return qualtrics_internal::HasQuotaExceededMark(status);
}

}  // namespace vault_qualtrics
