#include "backend/qualtrics/http_transport.h"

#include <curl/curl.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"

namespace vault_qualtrics {
namespace qualtrics_internal {
namespace {

void InitializeCurlOnce() {
  // curl_global_init is not thread-safe; every transport goes through this once.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

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

// Counts the attempts libcurl makes to send one request. libcurl sends a request again on a new
// connection when a reused connection fails before any response byte arrives, because the server
// may have closed it while idle. But the server may also have received and acted on the first
// copy, so only a GET may be sent twice.
struct SendGuard {
  bool resend_allowed = false;
  int attempts = 0;
  bool resend_blocked = false;
};

int BeforeSend(void* user, char* /*primary_ip*/, char* /*local_ip*/, int /*primary_port*/,
               int /*local_port*/) {
  auto* guard = static_cast<SendGuard*>(user);
  ++guard->attempts;
  if (guard->attempts > 1 && !guard->resend_allowed) {
    guard->resend_blocked = true;
    return CURL_PREREQFUNC_ABORT;
  }
  return CURL_PREREQFUNC_OK;
}

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

TransportFailure Classify(CURLcode code, CURL* handle, bool body_exceeded,
                          bool resend_blocked) {
  // The first copy of the request went out on a connection that then failed.
  if (resend_blocked) return TransportFailure::kNoResponse;
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

// Idle libcurl easy handles of one HttpTransport. Each handle keeps at most one open connection
// in its own connection cache, and all handles share one TLS session cache, so a handle that has
// to connect again resumes a session instead of a full handshake. The newest idle handle is
// reused first, which lets the oldest ones expire.
class ConnectionPool {
 public:
  using Clock = std::chrono::steady_clock;

  ConnectionPool(int max_idle, absl::Duration max_idle_time)
      : max_idle_(max_idle > 0 ? static_cast<size_t>(max_idle) : 0),
        max_idle_time_(absl::ToChronoMilliseconds(max_idle_time)) {
    if (max_idle_ == 0) return;
    share_ = curl_share_init();
    if (share_ == nullptr) return;
    curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &ConnectionPool::LockShare);
    curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &ConnectionPool::UnlockShare);
    curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }

  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  ~ConnectionPool() {
    // Every handle must be gone before the share they use.
    for (const Idle& idle : idle_) curl_easy_cleanup(idle.handle);
    idle_.clear();
    if (share_ != nullptr) curl_share_cleanup(share_);
  }

  // Returns the newest idle handle, or a new handle when none is idle; nullptr when libcurl
  // cannot allocate one. Idle handles past max_idle_time are closed first.
  CURL* Acquire() {
    std::vector<CURL*> expired;
    CURL* handle = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // idle_ is ordered by the time each handle became idle, so the expired ones are a prefix.
      const Clock::time_point now = Clock::now();
      size_t fresh = 0;
      while (fresh < idle_.size() && now - idle_[fresh].since > max_idle_time_) {
        expired.push_back(idle_[fresh].handle);
        ++fresh;
      }
      idle_.erase(idle_.begin(), idle_.begin() + static_cast<std::ptrdiff_t>(fresh));
      if (!idle_.empty()) {
        handle = idle_.back().handle;
        idle_.pop_back();
      }
    }
    for (CURL* old : expired) curl_easy_cleanup(old);
    if (handle != nullptr) return handle;
    return curl_easy_init();
  }

  // Takes `handle` back after an exchange. It is reset first, so an idle handle keeps no
  // pointer to the finished exchange's buffers. A handle that is not `reusable` is closed with
  // its connection. When the pool is full, its oldest handle is closed to make room.
  void Release(CURL* handle, bool reusable) {
    curl_easy_reset(handle);
    if (!reusable || max_idle_ == 0) {
      curl_easy_cleanup(handle);
      return;
    }
    CURL* evicted = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (idle_.size() >= max_idle_) {
        evicted = idle_.front().handle;
        idle_.erase(idle_.begin());
      }
      idle_.push_back(Idle{handle, Clock::now()});
    }
    if (evicted != nullptr) curl_easy_cleanup(evicted);
  }

  // Applies the options that decide reuse to a handle that was just acquired or reset.
  void Configure(CURL* handle) const {
    if (max_idle_ == 0) {
      curl_easy_setopt(handle, CURLOPT_FORBID_REUSE, 1L);
      return;
    }
    if (share_ != nullptr) curl_easy_setopt(handle, CURLOPT_SHARE, share_);
    // One connection per handle, so the pool size bounds the number of idle connections.
    curl_easy_setopt(handle, CURLOPT_MAXCONNECTS, 1L);
    long max_age_seconds = static_cast<long>(
        std::chrono::duration_cast<std::chrono::seconds>(max_idle_time_).count());
    // libcurl's own limit, in whole seconds, for a connection that sits idle in its cache.
    curl_easy_setopt(handle, CURLOPT_MAXAGE_CONN, std::max(1L, max_age_seconds));
  }

  int IdleCount() {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int>(idle_.size());
  }

 private:
  struct Idle {
    CURL* handle;
    Clock::time_point since;
  };

  static void LockShare(CURL* /*handle*/, curl_lock_data data, curl_lock_access /*access*/,
                        void* user) {
    static_cast<ConnectionPool*>(user)->share_locks_[ShareLockIndex(data)].lock();
  }
  static void UnlockShare(CURL* /*handle*/, curl_lock_data data, void* user) {
    static_cast<ConnectionPool*>(user)->share_locks_[ShareLockIndex(data)].unlock();
  }
  static size_t ShareLockIndex(curl_lock_data data) {
    size_t index = static_cast<size_t>(data);
    return index < CURL_LOCK_DATA_LAST ? index : 0;
  }

  const size_t max_idle_;
  const std::chrono::milliseconds max_idle_time_;
  CURLSH* share_ = nullptr;
  // std::mutex rather than absl::Mutex, because ThreadSanitizer tracks only pthread locks in a
  // system Abseil that was not built with it.
  std::mutex share_locks_[CURL_LOCK_DATA_LAST];
  std::mutex mutex_;
  // Guarded by mutex_; oldest first.
  std::vector<Idle> idle_;
};

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
  pool_ = std::make_unique<ConnectionPool>(options_.max_idle_connections,
                                           options_.max_idle_time);
}

HttpTransport::~HttpTransport() = default;

int HttpTransport::IdleConnectionCount() const { return pool_->IdleCount(); }

HttpResult HttpTransport::Perform(HttpRequest& request) const {
  HttpResult result;
  CURL* curl = pool_->Acquire();
  if (curl == nullptr) {
    result.failure = TransportFailure::kOther;
    result.failure_detail = "allocating a libcurl handle failed";
    return result;
  }
  // Returns the handle to the pool on every path; only a handle whose exchange succeeded keeps
  // its connection for reuse.
  struct Returner {
    ConnectionPool* pool;
    CURL* handle;
    const HttpResult* result;
    ~Returner() { pool->Release(handle, result->failure == TransportFailure::kNone); }
  } returner{pool_.get(), curl, &result};

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
  SendGuard guard;
  guard.resend_allowed = request.method == "GET";

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
  curl_easy_setopt(curl, CURLOPT_PREREQFUNCTION, &BeforeSend);
  curl_easy_setopt(curl, CURLOPT_PREREQDATA, &guard);
  pool_->Configure(curl);

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
  curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &result.new_connections);
  result.failure = Classify(code, curl, sink.exceeded, guard.resend_blocked);
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
