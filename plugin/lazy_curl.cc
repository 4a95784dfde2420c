// Defines the libcurl functions that the plugin calls and loads libcurl with dlopen() on the
// first call. libcurl brings some 25 shared libraries of its own (GnuTLS, Kerberos, LDAP, SSH,
// IDN and more). With gRPC and Abseil linked statically, loading them at exec was about 90% of
// the dynamic loader's start-up work (LD_DEBUG=statistics). The plugin needs them only once it
// calls the Qualtrics API, which happens after the handshake.
//
// The shipped binary links this file in place of -lcurl: these definitions resolve the
// references from //backend/qualtrics, so the linker (with --as-needed) records no DT_NEEDED
// entry for libcurl. The file is compiled with -fvisibility=hidden, so the definitions stay out
// of the dynamic symbol table and libcurl's own calls to its exported functions never bind to
// them. A function that the backend starts to call and that is missing here makes libcurl a
// DT_NEEDED library again, which :linked_libraries_test reports.
//
// libcurl is loaded from its soname with the dynamic loader's usual search, as a DT_NEEDED entry
// would be. When loading fails, every function returns libcurl's own error value for an
// uninitialized library, and the failure is logged once.

// The type-checking macros of curl/typecheck-gcc.h would replace the definitions below.
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <dlfcn.h>

#include <cstdarg>
#include <string>
#include <type_traits>

#include "backend/logical/log.h"

namespace vault_qualtrics {
namespace {

constexpr char kLibcurlSoname[] = "libcurl.so.4";

// The real libcurl functions, resolved from the loaded library.
struct CurlFunctions {
  decltype(&::curl_global_init) global_init;
  decltype(&::curl_free) free;
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_perform) easy_perform;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_reset) easy_reset;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_easy_header) easy_header;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;
  decltype(&::curl_url) url;
  decltype(&::curl_url_set) url_set;
  decltype(&::curl_url_get) url_get;
  decltype(&::curl_url_cleanup) url_cleanup;
  decltype(&::curl_share_init) share_init;
  decltype(&::curl_share_setopt) share_setopt;
  decltype(&::curl_share_cleanup) share_cleanup;
};

// Loads libcurl and resolves every function, or returns nullptr after logging why it failed.
// The library stays loaded for the life of the process.
const CurlFunctions* LoadLibcurl() {
  void* library = dlopen(kLibcurlSoname, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* error = dlerror();
    Log(LogLevel::kError, "loading libcurl failed, so calls to the Qualtrics API will fail",
        {{"library", kLibcurlSoname}, {"error", error != nullptr ? error : ""}});
    return nullptr;
  }

  static CurlFunctions functions;
  std::string missing;
  auto resolve = [&](auto& slot, const char* name) {
    slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(dlsym(library, name));
    if (slot == nullptr) missing = name;
  };

  resolve(functions.global_init, "curl_global_init");
  resolve(functions.free, "curl_free");
  resolve(functions.easy_init, "curl_easy_init");
  resolve(functions.easy_setopt, "curl_easy_setopt");
  resolve(functions.easy_perform, "curl_easy_perform");
  resolve(functions.easy_getinfo, "curl_easy_getinfo");
  resolve(functions.easy_reset, "curl_easy_reset");
  resolve(functions.easy_cleanup, "curl_easy_cleanup");
  resolve(functions.easy_strerror, "curl_easy_strerror");
  resolve(functions.easy_header, "curl_easy_header");
  resolve(functions.slist_append, "curl_slist_append");
  resolve(functions.slist_free_all, "curl_slist_free_all");
  resolve(functions.url, "curl_url");
  resolve(functions.url_set, "curl_url_set");
  resolve(functions.url_get, "curl_url_get");
  resolve(functions.url_cleanup, "curl_url_cleanup");
  resolve(functions.share_init, "curl_share_init");
  resolve(functions.share_setopt, "curl_share_setopt");
  resolve(functions.share_cleanup, "curl_share_cleanup");

  if (!missing.empty()) {
    Log(LogLevel::kError,
        "a function is missing from the loaded libcurl, so calls to the Qualtrics API will fail",
        {{"library", kLibcurlSoname}, {"function", missing}});
    return nullptr;
  }
  return &functions;
}

// Returns the loaded functions, loading libcurl on the first call from any thread.
const CurlFunctions* Libcurl() {
  static const CurlFunctions* const functions = LoadLibcurl();
  return functions;
}

}  // namespace
}  // namespace vault_qualtrics

using vault_qualtrics::Libcurl;

CURLcode curl_global_init(long flags) {
  const auto* curl = Libcurl();
  return curl != nullptr ? curl->global_init(flags) : CURLE_FAILED_INIT;
}

void curl_free(void* pointer) {
  // Only libcurl hands out memory to free, so a null table means a null pointer here.
  const auto* curl = Libcurl();
  if (curl != nullptr) curl->free(pointer);
}

CURL* curl_easy_init() {
  const auto* curl = Libcurl();
  return curl != nullptr ? curl->easy_init() : nullptr;
}

CURLcode curl_easy_setopt(CURL* handle, CURLoption option, ...) {
  const auto* curl = Libcurl();
  if (curl == nullptr) return CURLE_FAILED_INIT;
  // libcurl reads the one argument with the type implied by the option number's range
  // (CURLOPTTYPE_* in curl/curl.h). Read it and pass it on with the same type.
  va_list args;
  va_start(args, option);
  CURLcode code;
  if (option < CURLOPTTYPE_OBJECTPOINT) {
    code = curl->easy_setopt(handle, option, va_arg(args, long));
  } else if (option < CURLOPTTYPE_FUNCTIONPOINT) {
    code = curl->easy_setopt(handle, option, va_arg(args, void*));
  } else if (option < CURLOPTTYPE_OFF_T) {
    code = curl->easy_setopt(handle, option, va_arg(args, void (*)()));
  } else if (option < CURLOPTTYPE_BLOB) {
    code = curl->easy_setopt(handle, option, va_arg(args, curl_off_t));
  } else {
    code = curl->easy_setopt(handle, option, va_arg(args, void*));
  }
  va_end(args);
  return code;
}

CURLcode curl_easy_perform(CURL* handle) {
  const auto* curl = Libcurl();
  return curl != nullptr ? curl->easy_perform(handle) : CURLE_FAILED_INIT;
}

CURLcode curl_easy_getinfo(CURL* handle, CURLINFO info, ...) {
  const auto* curl = Libcurl();
  if (curl == nullptr) return CURLE_FAILED_INIT;
  // Every CURLINFO_* item takes a pointer to the result.
  va_list args;
  va_start(args, info);
  CURLcode code = curl->easy_getinfo(handle, info, va_arg(args, void*));
  va_end(args);
  return code;
}

void curl_easy_reset(CURL* handle) {
  const auto* curl = Libcurl();
  if (curl != nullptr) curl->easy_reset(handle);
}

void curl_easy_cleanup(CURL* handle) {
  const auto* curl = Libcurl();
  if (curl != nullptr) curl->easy_cleanup(handle);
}

const char* curl_easy_strerror(CURLcode code) {
  const auto* curl = Libcurl();
  return curl != nullptr ? curl->easy_strerror(code) : "libcurl could not be loaded";
}

CURLHcode curl_easy_header(CURL* handle, const char* name, size_t index, unsigned int origin,
                           int request, curl_header** header) {
  const auto* curl = Libcurl();
  return curl != nullptr ? curl->easy_header(handle, name, index, origin, request, header)
                         : CURLHE_NOT_BUILT_IN;
}

curl_slist* curl_slist_append(curl_slist* list, const char* line) {
  const auto* curl = Libcurl();
  return curl != nullptr ? curl->slist_append(list, line) : nullptr;
}

void curl_slist_free_all(curl_slist* list) {
  const auto* curl = Libcurl();
  if (curl != nullptr) curl->slist_free_all(list);
}

CURLU* curl_url() {
  const auto* curl = Libcurl();
  return curl != nullptr ? curl->url() : nullptr;
}

CURLUcode curl_url_set(CURLU* url, CURLUPart part, const char* content, unsigned int flags) {
  const auto* curl = Libcurl();
  return curl != nullptr ? curl->url_set(url, part, content, flags) : CURLUE_BAD_HANDLE;
}

CURLUcode curl_url_get(CURLU* url, CURLUPart part, char** content, unsigned int flags) {
  const auto* curl = Libcurl();
  return curl != nullptr ? curl->url_get(url, part, content, flags) : CURLUE_BAD_HANDLE;
}

void curl_url_cleanup(CURLU* url) {
  const auto* curl = Libcurl();
  if (curl != nullptr) curl->url_cleanup(url);
}

CURLSH* curl_share_init() {
  const auto* curl = Libcurl();
  return curl != nullptr ? curl->share_init() : nullptr;
}

CURLSHcode curl_share_setopt(CURLSH* share, CURLSHoption option, ...) {
  const auto* curl = Libcurl();
  if (curl == nullptr) return CURLSHE_NOT_BUILT_IN;
  // libcurl reads an int for SHARE and UNSHARE, a function pointer for the lock callbacks and a
  // pointer for USERDATA; read and pass it on with the same type.
  va_list args;
  va_start(args, option);
  CURLSHcode code;
  switch (option) {
    case CURLSHOPT_SHARE:
    case CURLSHOPT_UNSHARE:
      code = curl->share_setopt(share, option, va_arg(args, int));
      break;
    case CURLSHOPT_LOCKFUNC:
      code = curl->share_setopt(share, option, va_arg(args, curl_lock_function));
      break;
    case CURLSHOPT_UNLOCKFUNC:
      code = curl->share_setopt(share, option, va_arg(args, curl_unlock_function));
      break;
    default:
      code = curl->share_setopt(share, option, va_arg(args, void*));
      break;
  }
  va_end(args);
  return code;
}

CURLSHcode curl_share_cleanup(CURLSH* share) {
  const auto* curl = Libcurl();
  return curl != nullptr ? curl->share_cleanup(share) : CURLSHE_NOT_BUILT_IN;
}
