#include "backend/qualtrics/http_transport.h"

#include <curl/curl.h>
#include <openssl/crypto.h>

#include <cstring>
#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace vault_qualtrics {
namespace qualtrics_internal {
namespace {

void InitializeCurlOnce() {
  // curl_global_init is not thread-safe; every transport goes through this once.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct EasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;

struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
using UrlHandle = std::unique_ptr<CURLU, UrlDeleter>;

// A curl_slist of header lines that overwrites every line before freeing it, because one line
// carries a credential.
class HeaderList {
 public:
  HeaderList() = default;
  HeaderList(const HeaderList&) = delete;
  HeaderList& operator=(const HeaderList&) = delete;
  ~HeaderList() {
    for (curl_slist* item = list_; item != nullptr; item = item->next) {
      OPENSSL_cleanse(item->data, std::strlen(item->data));
    }
    curl_slist_free_all(list_);
  }

  bool Append(const char* line) {
    curl_slist* appended = curl_slist_append(list_, line);
    if (appended == nullptr) return false;
    list_ = appended;
    return true;
  }
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

struct BodySink {
  std::string* body;
  size_t limit;
  bool exceeded = false;
};

size_t WriteBody(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  size_t bytes = size * count;
  if (sink->body->size() + bytes > sink->limit) {
    sink->exceeded = true;
    return 0;  // Makes libcurl abort the transfer with CURLE_WRITE_ERROR.
  }
  sink->body->append(data, bytes);
  return bytes;
}

long Milliseconds(absl::Duration duration) {
  return static_cast<long>(absl::ToInt64Milliseconds(duration));
}

// Decides whether the request may have reached the server. libcurl records the pre-transfer
// time only when the connection (TLS included) is ready and the request is about to be sent.
// So a zero value proves that nothing was sent, and any other value counts as "may be sent".
bool RequestMayHaveBeenSent(CURL* handle) {
  curl_off_t pretransfer = 0;
  if (curl_easy_getinfo(handle, CURLINFO_PRETRANSFER_TIME_T, &pretransfer) != CURLE_OK) {
    return true;
  }
  return pretransfer > 0;
}

TransportFailure Classify(CURLcode code, CURL* handle, bool body_exceeded) {
  switch (code) {
    case CURLE_OK:
      return TransportFailure::kNone;
    case CURLE_WRITE_ERROR:
      return body_exceeded ? TransportFailure::kResponseTooLarge : TransportFailure::kOther;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return TransportFailure::kBadUrl;
    case CURLE_PEER_FAILED_VERIFICATION:
      return TransportFailure::kTlsVerification;
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
      return TransportFailure::kLocalTlsSetup;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return TransportFailure::kNotSent;
    case CURLE_OPERATION_TIMEDOUT:
      return RequestMayHaveBeenSent(handle) ? TransportFailure::kTimedOut
                                            : TransportFailure::kNotSent;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return RequestMayHaveBeenSent(handle) ? TransportFailure::kNoResponse
                                            : TransportFailure::kNotSent;
    default:
      return RequestMayHaveBeenSent(handle) ? TransportFailure::kNoResponse
                                            : TransportFailure::kOther;
  }
}

}  // namespace

absl::StatusOr<ConnectTarget> ApplyServerName(std::string_view url,
                                              std::string_view server_name) {
  UrlHandle parsed(curl_url());
  if (parsed == nullptr) return absl::InternalError("allocating a URL parser failed");
  if (curl_url_set(parsed.get(), CURLUPART_URL, std::string(url).c_str(), 0) != CURLUE_OK) {
    return absl::InvalidArgumentError(absl::StrCat("invalid URL \"", std::string(url), "\""));
  }
  char* host = nullptr;
  char* port = nullptr;
  if (curl_url_get(parsed.get(), CURLUPART_HOST, &host, 0) != CURLUE_OK ||
      curl_url_get(parsed.get(), CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
    curl_free(host);
    return absl::InvalidArgumentError(
        absl::StrCat("the URL \"", std::string(url), "\" has no host or port"));
  }
  std::string original_host(host);
  std::string original_port(port);
  curl_free(host);
  curl_free(port);

  if (curl_url_set(parsed.get(), CURLUPART_HOST, std::string(server_name).c_str(), 0) !=
      CURLUE_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid tls_server_name \"", std::string(server_name), "\""));
  }
  char* rewritten = nullptr;
  if (curl_url_get(parsed.get(), CURLUPART_URL, &rewritten, 0) != CURLUE_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid tls_server_name \"", std::string(server_name), "\""));
  }
  ConnectTarget target;
  target.url = rewritten;
  curl_free(rewritten);
  // CONNECT_TO format: HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT; IPv6 hosts keep brackets.
  target.connect_to =
      absl::StrCat(std::string(server_name), ":", original_port, ":", original_host, ":",
                   original_port);
  return target;
}

std::string UrlOrigin(std::string_view url) {
  UrlHandle parsed(curl_url());
  if (parsed == nullptr) return "";
  if (curl_url_set(parsed.get(), CURLUPART_URL, std::string(url).c_str(), 0) != CURLUE_OK) {
    return "";
  }
  char* scheme = nullptr;
  char* host = nullptr;
  char* port = nullptr;
  std::string origin;
  if (curl_url_get(parsed.get(), CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      curl_url_get(parsed.get(), CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(parsed.get(), CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
    origin = absl::StrCat(scheme, "://", host, ":", port);
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  return origin;
}

HttpTransport::HttpTransport(TransportOptions options) : options_(std::move(options)) {
  InitializeCurlOnce();
}

HttpResult HttpTransport::Perform(HttpRequest& request) const {
  HttpResult result;
  EasyHandle handle(curl_easy_init());
  if (handle == nullptr) {
    result.failure = TransportFailure::kOther;
    result.failure_detail = "allocating a libcurl handle failed";
    return result;
  }
  CURL* curl = handle.get();

  std::string url = request.url;
  curl_slist* connect_to = nullptr;
  if (!options_.server_name.empty()) {
    absl::StatusOr<ConnectTarget> target = ApplyServerName(url, options_.server_name);
    if (!target.ok()) {
      result.failure = TransportFailure::kBadUrl;
      result.failure_detail = std::string(target.status().message());
      return result;
    }
    url = target->url;
    connect_to = curl_slist_append(nullptr, target->connect_to.c_str());
  }
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> connect_to_owner(
      connect_to, &curl_slist_free_all);

  HeaderList headers;
  bool headers_ok = true;
  for (const std::string& line : request.headers) headers_ok &= headers.Append(line.c_str());
  if (!request.credential_header.empty()) {
    // curl_slist_append needs a NUL-terminated line; build it in a buffer that zeroes itself.
    SecretBytes line = SecretBytes::OfSize(request.credential_header.size() + 1);
    std::memcpy(line.mutable_data(), request.credential_header.data(),
                request.credential_header.size());
    headers_ok &= headers.Append(line.data());
  }
  // An empty Expect header stops libcurl from waiting for "100 Continue" on larger bodies.
  headers_ok &= headers.Append("Expect:");
  if (!headers_ok) {
    result.failure = TransportFailure::kOther;
    result.failure_detail = "allocating request headers failed";
    return result;
  }

  char error_buffer[CURL_ERROR_SIZE] = {0};
  BodySink sink{&result.body, options_.max_response_bytes};

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  if (connect_to != nullptr) curl_easy_setopt(curl, CURLOPT_CONNECT_TO, connect_to);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, Milliseconds(options_.connect_timeout));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, Milliseconds(options_.request_timeout));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);

  // Verification is never turned off; these are libcurl's defaults, set to be explicit.
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(curl, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));

  if (!options_.ca_bundle_pem.empty()) {
    curl_blob ca{const_cast<char*>(options_.ca_bundle_pem.data()),
                 options_.ca_bundle_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &ca);
    // Without these, libcurl would trust the system store in addition to the bundle.
    curl_easy_setopt(curl, CURLOPT_CAINFO, nullptr);
    curl_easy_setopt(curl, CURLOPT_CAPATH, nullptr);
  }
  if (!options_.client_certificate_pem.empty()) {
    curl_blob certificate{const_cast<char*>(options_.client_certificate_pem.data()),
                          options_.client_certificate_pem.size(), CURL_BLOB_COPY};
    // NOCOPY: libcurl reads the key from our zeroing buffer instead of keeping its own copy.
    curl_blob key{const_cast<char*>(options_.client_key_pem.data()),
                  options_.client_key_pem.size(), CURL_BLOB_NOCOPY};
    curl_easy_setopt(curl, CURLOPT_SSLCERT_BLOB, &certificate);
    curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(curl, CURLOPT_SSLKEY_BLOB, &key);
    curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM");
  }

  if (request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  } else if (request.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  CURLcode code = curl_easy_perform(curl);
  result.failure = Classify(code, curl, sink.exceeded);
  if (result.failure != TransportFailure::kNone) {
    result.failure_detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
    result.body.clear();
    return result;
  }

  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  curl_off_t retry_after_seconds = 0;
  if (curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &retry_after_seconds) == CURLE_OK &&
      retry_after_seconds > 0) {
    result.retry_after = absl::Seconds(retry_after_seconds);
  }
  curl_header* request_id = nullptr;
  if (curl_easy_header(curl, "X-Request-Id", 0, CURLH_HEADER, -1, &request_id) == CURLHE_OK &&
      request_id != nullptr && request_id->value != nullptr) {
    result.request_id = request_id->value;
  }
  return result;
}

}  // namespace qualtrics_internal
}  // namespace vault_qualtrics
