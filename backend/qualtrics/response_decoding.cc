#include "backend/qualtrics/response_decoding.h"

#include <cstdint>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "backend/crypto/certificate.h"
#include "backend/qualtrics/api_errors.h"
#include "backend/qualtrics/http_transport.h"

namespace vault_qualtrics {
namespace qualtrics_internal {
namespace {

nlohmann::json ParseJson(std::string_view body) {
  // Without exceptions: a body that is not JSON becomes a discarded value, which is no object.
  return nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
}

const nlohmann::json* FindObjectField(const nlohmann::json& object, const char* name) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

std::string StringField(const nlohmann::json& object, const char* name) {
  const nlohmann::json* field = FindObjectField(object, name);
  return field != nullptr && field->is_string() ? field->get<std::string>() : "";
}

// Reads an expiry given as RFC 3339 text or as Unix seconds; 0 when neither.
int64_t ExpiryField(const nlohmann::json& object) {
  for (const char* name : {"expiresAt", "expirationDate", "expires_at"}) {
    const nlohmann::json* field = FindObjectField(object, name);
    if (field == nullptr) continue;
    if (field->is_number_integer()) return field->get<int64_t>();
    if (field->is_string()) {
      absl::Time time;
      std::string error;
      if (absl::ParseTime(absl::RFC3339_full, field->get<std::string>(), &time, &error)) {
        return absl::ToUnixSeconds(time);
      }
    }
  }
  return 0;
}

std::string RequestIdNote(std::string_view request_id) {
  return request_id.empty() ? ""
                            : absl::StrCat(" (request id ", SanitizeServerText(request_id), ")");
}

RemoteCertificate DecodeListElement(const nlohmann::json& element) {
  RemoteCertificate certificate;
  certificate.id = StringField(element, "id");
  if (certificate.id.empty()) return certificate;
  certificate.certificate_pem = StringField(element, "certificate");
  certificate.public_key_fingerprint = absl::AsciiStrToLower(StringField(element, "fingerprint"));
  certificate.expires_at = ExpiryField(element);
  if (!certificate.certificate_pem.empty()) {
    absl::StatusOr<CertificateInfo> info = ParseCertificatePem(certificate.certificate_pem);
    if (info.ok()) {
      certificate.public_key_fingerprint = info->public_key_fingerprint;
      certificate.expires_at = info->not_after;
      certificate.serial_number = info->serial_number;
    }
  }
  return certificate;
}

}  // namespace

bool HasControlCharacter(std::string_view text) {
  for (char c : text) {
    unsigned char byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return true;
  }
  return false;
}

absl::StatusOr<CreatedCertificate> DecodeCreateResponse(
    long http_status, std::string_view header_request_id, std::string_view body,
    std::string_view expected_public_key_fingerprint) {
  nlohmann::json parsed = ParseJson(body);
  const nlohmann::json* result = FindObjectField(parsed, "result");
  const nlohmann::json* meta = FindObjectField(parsed, "meta");
  CreatedCertificate created;
  if (result != nullptr) {
    created.id = StringField(*result, "id");
    created.certificate_pem = StringField(*result, "certificate");
  }
  if (meta != nullptr) {
    created.request_id = StringField(*meta, "requestId");
    created.notice = StringField(*meta, "notice");
  }
  if (created.request_id.empty()) created.request_id = std::string(header_request_id);
  const std::string request_id_note = RequestIdNote(created.request_id);

  if (created.id.empty() || created.certificate_pem.empty()) {
    return MarkOutcomeUnknown(absl::UnavailableError(absl::StrCat(
        "Qualtrics responded to the create request with HTTP ", http_status,
        " but without a certificate id and certificate, so the certificate may exist: list the "
        "certificates and match the public key before creating again",
        request_id_note)));
  }

  const std::string quoted_id = SanitizeServerText(created.id);
  absl::StatusOr<CertificateInfo> info = ParseCertificatePem(created.certificate_pem);
  if (!info.ok()) {
    return absl::InternalError(absl::StrCat(
        "Qualtrics returned certificate ", quoted_id,
        " that cannot be parsed, so it is not used: delete it at Qualtrics to free its slot (",
        std::string(info.status().message()), ")", request_id_note));
  }
  if (info->public_key_fingerprint != expected_public_key_fingerprint) {
    return absl::InternalError(absl::StrCat(
        "Qualtrics returned certificate ", quoted_id,
        " for a different public key than the CSR's, so it is not used: delete it at Qualtrics "
        "to free its slot",
        request_id_note));
  }
  created.info = *std::move(info);
  return created;
}

absl::StatusOr<ListPage> DecodeListResponse(std::string_view header_request_id,
                                            std::string_view body,
                                            std::string_view expected_origin) {
  nlohmann::json parsed = ParseJson(body);
  const nlohmann::json* result = FindObjectField(parsed, "result");
  const nlohmann::json* elements =
      result == nullptr ? nullptr : FindObjectField(*result, "elements");
  if (elements == nullptr || !elements->is_array()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the Qualtrics list response has no result.elements array: check the configured list "
        "path",
        RequestIdNote(header_request_id)));
  }

  ListPage page;
  for (const nlohmann::json& element : *elements) {
    RemoteCertificate certificate = DecodeListElement(element);
    if (certificate.id.empty()) continue;
    page.certificates.push_back(std::move(certificate));
  }

  const nlohmann::json* next = FindObjectField(*result, "nextPage");
  if (next == nullptr || !next->is_string() || next->get<std::string>().empty()) return page;
  page.next_page_url = next->get<std::string>();
  // The credential goes with every page, so a page on another origin is refused.
  if (UrlOrigin(page.next_page_url) != expected_origin) {
    return absl::FailedPreconditionError(
        "the Qualtrics list response points its next page to another host than base_url; "
        "refusing to send credentials there");
  }
  return page;
}

absl::StatusOr<AccessToken> DecodeTokenResponse(std::string_view body,
                                                absl::Duration default_lifetime) {
  nlohmann::json parsed = ParseJson(body);
  std::string token;
  if (parsed.is_object()) {
    auto token_field = parsed.find("access_token");
    if (token_field != parsed.end() && token_field->is_string()) {
      // Zero the parsed copy in place, so only the SecretBytes copy below survives.
      std::string& parsed_token = token_field->get_ref<std::string&>();
      token = parsed_token;
      ZeroString(parsed_token);
    }
  }
  if (token.empty()) {
    return absl::FailedPreconditionError(
        "the OAuth token endpoint returned no access_token: check config token_url");
  }
  if (HasControlCharacter(token)) {
    ZeroString(token);
    return absl::FailedPreconditionError(
        "the OAuth token endpoint returned an access_token with a control character");
  }

  AccessToken decoded;
  decoded.lifetime = default_lifetime;
  const nlohmann::json* expires_in = FindObjectField(parsed, "expires_in");
  if (expires_in != nullptr && expires_in->is_number() && expires_in->get<double>() > 0) {
    decoded.lifetime = absl::Seconds(expires_in->get<double>());
  }
  decoded.token = SecretBytes::TakeString(std::move(token));
  return decoded;
}

}  // namespace qualtrics_internal
}  // namespace vault_qualtrics
