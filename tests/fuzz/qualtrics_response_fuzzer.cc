// libFuzzer target for parsing Qualtrics API responses. The client decodes bodies inside its
// HTTP calls, so this file includes client.cc to reach the helpers those calls use
// (FindObjectField, StringField, ExpiryField). It repeats the decoding steps of
// CreateCertificate and ListCertificates on the fuzzed body. The same body then goes to the
// error-body parser and the error mapping.
// NOTE: the decoding steps are copies of the ones in client.cc; keep them in line with it.
//
// Input layout: the first byte picks the HTTP status used for the error mapping; the rest is the
// response body.
#include "backend/qualtrics/client.cc"  // NOLINT: deliberate, see above.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace vault_qualtrics {
namespace {

constexpr long kStatuses[] = {200, 400, 401, 403, 404, 409, 413, 429, 500, 502, 503, 504};

void DecodeCreate(const nlohmann::json& parsed) {
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
  if (!created.certificate_pem.empty()) (void)ParseCertificatePem(created.certificate_pem);
}

void DecodeList(const nlohmann::json& parsed) {
  const nlohmann::json* result = FindObjectField(parsed, "result");
  const nlohmann::json* elements =
      result == nullptr ? nullptr : FindObjectField(*result, "elements");
  if (elements == nullptr || !elements->is_array()) return;
  for (const nlohmann::json& element : *elements) {
    RemoteCertificate certificate;
    certificate.id = StringField(element, "id");
    if (certificate.id.empty()) continue;
    certificate.certificate_pem = StringField(element, "certificate");
    certificate.public_key_fingerprint = absl::AsciiStrToLower(StringField(element, "fingerprint"));
    certificate.expires_at = ExpiryField(element);
    if (!certificate.certificate_pem.empty()) (void)ParseCertificatePem(certificate.certificate_pem);
  }
  const nlohmann::json* next = result == nullptr ? nullptr : FindObjectField(*result, "nextPage");
  if (next != nullptr && next->is_string()) {
    (void)qualtrics_internal::UrlOrigin(next->get<std::string>());
  }
}

}  // namespace
}  // namespace vault_qualtrics

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vault_qualtrics;
  if (size == 0) return 0;
  long status = kStatuses[data[0] % (sizeof(kStatuses) / sizeof(kStatuses[0]))];
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);

  nlohmann::json parsed = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  DecodeCreate(parsed);
  DecodeList(parsed);

  qualtrics_internal::ErrorBody error = qualtrics_internal::ParseErrorBody(body, "hdr-request-id");
  // Parsed error text goes into messages and logs, so it must stay short and free of control
  // characters whatever the body holds.
  for (const std::string* text : {&error.error_code, &error.error_message, &error.request_id}) {
    for (char c : *text) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) std::abort();
    }
  }
  (void)qualtrics_internal::IsQuotaErrorBody(status, error);
  for (qualtrics_internal::Endpoint endpoint :
       {qualtrics_internal::Endpoint::kCreate, qualtrics_internal::Endpoint::kList,
        qualtrics_internal::Endpoint::kDelete, qualtrics_internal::Endpoint::kToken}) {
    (void)qualtrics_internal::MapHttpError(endpoint, qualtrics_internal::AuthMode::kApiToken,
                                           status, error, "simorg");
    (void)qualtrics_internal::MapRetriesExhausted(endpoint, status, error, 4, absl::Seconds(3));
  }
  return 0;
}
