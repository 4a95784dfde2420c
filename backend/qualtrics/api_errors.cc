#include "backend/qualtrics/api_errors.h"

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace vault_qualtrics {
namespace qualtrics_internal {
namespace {

constexpr char kOutcomeUnknownType[] = "vault-qualtrics/qualtrics-outcome-unknown";
constexpr char kQuotaExceededType[] = "vault-qualtrics/qualtrics-quota-exceeded";

// Maximum number of bytes of a server-supplied text that error messages quote.
constexpr size_t kMaxQuotedLength = 300;

std::string StringField(const nlohmann::json& object, const char* name) {
  if (!object.is_object()) return "";
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

// " (Qualtrics: CODE: message; request id R)" or "" when there is nothing to quote.
std::string QuoteServer(const ErrorBody& error) {
  std::string detail;
  if (!error.error_code.empty()) detail = error.error_code;
  if (!error.error_message.empty()) {
    if (!detail.empty()) detail.append(": ");
    detail.append(error.error_message);
  }
  if (!error.request_id.empty()) {
    if (!detail.empty()) detail.append("; ");
    detail.append("request id ").append(error.request_id);
  }
  return detail.empty() ? "" : absl::StrCat(" (Qualtrics: ", detail, ")");
}

std::string Action(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kCreate:
      return "creating a client certificate";
    case Endpoint::kList:
      return "listing client certificates";
    case Endpoint::kDelete:
      return "deleting a client certificate";
    case Endpoint::kToken:
      return "requesting an OAuth access token";
  }
  return "calling Qualtrics";
}

}  // namespace

std::string SanitizeServerText(std::string_view text) {
  const bool cut = text.size() > kMaxQuotedLength;
  // A cut inside a UTF-8 sequence leaves invalid bytes, which dump() turns into U+FFFD.
  nlohmann::json value = std::string(text.substr(0, kMaxQuotedLength));
  std::string escaped =
      value.dump(-1, ' ', /*ensure_ascii=*/true, nlohmann::json::error_handler_t::replace);
  // dump() encloses the string in double quotes and escapes the ones inside, which are harmless
  // in a message. Every '"' in its output follows the backslash of its escape.
  escaped = absl::StrReplaceAll(escaped.substr(1, escaped.size() - 2), {{"\\\"", "\""}});
  if (cut) escaped.append("...");
  return escaped;
}

std::string_view EndpointName(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kCreate:
      return "create";
    case Endpoint::kList:
      return "list";
    case Endpoint::kDelete:
      return "delete";
    case Endpoint::kToken:
      return "token";
  }
  return "unknown";
}

ErrorBody ParseErrorBody(std::string_view body, std::string_view header_request_id) {
  ErrorBody error;
  nlohmann::json parsed = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (parsed.is_object()) {
    auto meta = parsed.find("meta");
    if (meta != parsed.end() && meta->is_object()) {
      error.request_id = StringField(*meta, "requestId");
      auto detail = meta->find("error");
      if (detail != meta->end()) {
        error.error_code = StringField(*detail, "errorCode");
        error.error_message = StringField(*detail, "errorMessage");
      }
    }
    // OAuth token endpoint errors (RFC 6749, section 5.2).
    if (error.error_code.empty()) error.error_code = StringField(parsed, "error");
    if (error.error_message.empty()) {
      error.error_message = StringField(parsed, "error_description");
    }
  }
  if (error.request_id.empty()) error.request_id = std::string(header_request_id);
  error.error_code = SanitizeServerText(error.error_code);
  error.error_message = SanitizeServerText(error.error_message);
  error.request_id = SanitizeServerText(error.request_id);
  return error;
}

bool IsQuotaErrorBody(long http_status, const ErrorBody& error) {
  // NOTE: Qualtrics documents the limit of 10 active certificates but not the error it returns.
  // This accepts the simulator's CERT_LIMIT_REACHED and, for other 400/403/409/422 responses, any
  // code or message that mentions a limit, quota or maximum.
  if (http_status != 400 && http_status != 403 && http_status != 409 && http_status != 422) {
    return false;
  }
  if (error.error_code == "CERT_LIMIT_REACHED") return true;
  if (error.error_code == "NOT_BRAND_ADMINISTRATOR") return false;
  std::string code = absl::AsciiStrToLower(error.error_code);
  std::string message = absl::AsciiStrToLower(error.error_message);
  return absl::StrContains(code, "limit") || absl::StrContains(code, "quota") ||
         absl::StrContains(message, "maximum") || absl::StrContains(message, "limit");
}

absl::Status MapHttpError(Endpoint endpoint, AuthMode auth, long http_status,
                          const ErrorBody& error, std::string_view organization_id) {
  std::string quoted = QuoteServer(error);
  std::string action = Action(endpoint);

  // The engine adds the fix to this message, because it decides how certificates are freed.
  if (endpoint == Endpoint::kCreate && IsQuotaErrorBody(http_status, error)) {
    return MarkQuotaExceeded(absl::ResourceExhaustedError(absl::StrCat(
        "Qualtrics rejected a new client certificate because organization ",
        std::string(organization_id),
        " already holds its maximum of active certificates (expired ones count until deleted)",
        quoted)));
  }

  if (endpoint == Endpoint::kToken) {
    if (http_status == 400 && (error.error_code == "invalid_scope")) {
      return absl::InvalidArgumentError(
          absl::StrCat("the OAuth token endpoint rejected the scope: check config scope", quoted));
    }
    if (http_status == 401 || error.error_code == "invalid_client") {
      return absl::UnauthenticatedError(absl::StrCat(
          "the OAuth token endpoint rejected the client credentials: check config client_id and "
          "client_secret",
          quoted));
    }
    if (http_status == 400) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the OAuth token endpoint rejected the request (HTTP 400): check config token_url, "
          "client_id and scope",
          quoted));
    }
  }

  switch (http_status) {
    case 401:
      if (absl::StartsWith(error.error_code, "CLIENT_CERT_")) {
        return absl::UnauthenticatedError(absl::StrCat(
            "Qualtrics rejected the client certificate presented for mutual TLS while ", action,
            ": configure a current certificate that Qualtrics issued to this organization (the "
            "mTLS role in config)",
            quoted));
      }
      if (auth == AuthMode::kOAuth) {
        return absl::UnauthenticatedError(absl::StrCat(
            "Qualtrics rejected the OAuth access token, also after fetching a new one, while ",
            action, ": check config client_id, client_secret and scope", quoted));
      }
      return absl::UnauthenticatedError(
          absl::StrCat("Qualtrics rejected the API token while ", action,
                       ": check config api_token", quoted));
    case 403:
      if (error.error_code == "CLIENT_CERT_WRONG_ORGANIZATION") {
        return absl::PermissionDeniedError(absl::StrCat(
            "the client certificate presented for mutual TLS belongs to another organization "
            "than ",
            std::string(organization_id), ": check config organization_id and the mTLS role",
            quoted));
      }
      return absl::PermissionDeniedError(absl::StrCat(
          "Qualtrics denied ", action,
          ": the user behind the configured credentials must be a Qualtrics brand administrator",
          quoted));
    case 404:
      if (error.error_code == "ORGANIZATION_NOT_FOUND") {
        return absl::NotFoundError(absl::StrCat("Qualtrics has no organization ",
                                                std::string(organization_id),
                                                ": check config organization_id", quoted));
      }
      if (endpoint == Endpoint::kDelete) {
        return absl::NotFoundError(
            absl::StrCat("Qualtrics has no client certificate with this id", quoted));
      }
      return absl::NotFoundError(absl::StrCat(
          "Qualtrics returned 404 for ", action,
          ": check config base_url and, for list and delete, the configured API paths", quoted));
    case 405:
      return absl::FailedPreconditionError(absl::StrCat(
          "Qualtrics returned 405 (method not allowed) for ", action,
          ": check the configured API paths", quoted));
    case 413:
      return absl::InvalidArgumentError(
          absl::StrCat("Qualtrics rejected the request as too large while ", action, quoted));
    default:
      break;
  }

  if (endpoint == Endpoint::kCreate && http_status == 400) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Qualtrics rejected the certificate signing request (HTTP 400): check the role's key "
        "type and subject",
        quoted));
  }
  if (endpoint == Endpoint::kCreate && http_status == 500) {
    // Qualtrics returns 500 for a CSR it cannot parse. Our CSR was verified before sending, so
    // the cause may be on either side.
    return absl::InternalError(absl::StrCat(
        "Qualtrics rejected the certificate signing request with HTTP 500, which it returns for "
        "a CSR it cannot parse and for its own failures; the CSR verified locally, so retry "
        "later and report the request id to Qualtrics support if it persists",
        quoted));
  }
  if (http_status >= 500) {
    return absl::UnavailableError(
        absl::StrCat("Qualtrics failed with HTTP ", http_status, " while ", action, quoted));
  }
  if (http_status >= 300 && http_status < 400) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Qualtrics responded with a redirect (HTTP ", http_status, ") while ", action,
        ", which is not followed: check config base_url", quoted));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("Qualtrics returned HTTP ", http_status, " while ", action, quoted));
}

absl::Status MapRetriesExhausted(Endpoint endpoint, long http_status, const ErrorBody& error,
                                 int attempts, absl::Duration elapsed) {
  std::string quoted = QuoteServer(error);
  std::string tries = absl::StrCat(attempts, attempts == 1 ? " attempt" : " attempts", " over ",
                                   absl::FormatDuration(absl::Trunc(elapsed, absl::Milliseconds(1))));
  if (http_status == 429) {
    return absl::ResourceExhaustedError(absl::StrCat("Qualtrics rate limited ", Action(endpoint),
                                                     " (HTTP 429) after ", tries,
                                                     ": retry later", quoted));
  }
  return absl::UnavailableError(absl::StrCat("Qualtrics was unavailable (HTTP ", http_status,
                                             ") for ", Action(endpoint), " after ", tries,
                                             ": retry later", quoted));
}

absl::Status MapTransportFailure(Endpoint endpoint, const HttpResult& result, int attempts) {
  std::string action = Action(endpoint);
  // libcurl's message can quote the server, for example the subject name of its certificate.
  std::string detail = absl::StrCat(" (", SanitizeServerText(result.failure_detail), ")");
  std::string tries = absl::StrCat(" after ", attempts, attempts == 1 ? " attempt" : " attempts");
  switch (result.failure) {
    case TransportFailure::kTlsVerification:
      return absl::FailedPreconditionError(absl::StrCat(
          "the Qualtrics server's TLS certificate did not verify while ", action,
          ": check config ca_bundle (or the system CA store), tls_server_name and base_url",
          detail));
    case TransportFailure::kLocalTlsSetup:
      return absl::InvalidArgumentError(absl::StrCat(
          "the TLS client certificate, its key or the CA bundle could not be loaded while ",
          action, ": check config ca_bundle and the mTLS certificate", detail));
    case TransportFailure::kResponseTooLarge:
      return absl::ResourceExhaustedError(
          absl::StrCat("the Qualtrics response exceeded the configured maximum response size "
                       "while ",
                       action, ": raise max_response_bytes if the response is expected"));
    case TransportFailure::kBadUrl:
      return absl::InvalidArgumentError(
          absl::StrCat("invalid Qualtrics URL while ", action, ": check config base_url",
                       detail));
    case TransportFailure::kTimedOut:
      return absl::DeadlineExceededError(
          absl::StrCat("Qualtrics did not answer in time while ", action, tries, detail));
    case TransportFailure::kNotSent:
    case TransportFailure::kNoResponse:
      return absl::UnavailableError(
          absl::StrCat("Qualtrics could not be reached while ", action, tries, detail));
    case TransportFailure::kOther:
    case TransportFailure::kNone:
      break;
  }
  return absl::UnavailableError(
      absl::StrCat("the connection to Qualtrics failed while ", action, tries, detail));
}

absl::Status MarkOutcomeUnknown(absl::Status status) {
  status.SetPayload(kOutcomeUnknownType, absl::Cord("1"));
  return status;
}

absl::Status MarkQuotaExceeded(absl::Status status) {
  status.SetPayload(kQuotaExceededType, absl::Cord("1"));
  return status;
}

bool HasOutcomeUnknownMark(const absl::Status& status) {
  return status.GetPayload(kOutcomeUnknownType).has_value();
}

bool HasQuotaExceededMark(const absl::Status& status) {
  return status.GetPayload(kQuotaExceededType).has_value();
}

}  // namespace qualtrics_internal
}  // namespace vault_qualtrics
