// Links only :lazy_curl, not -lcurl, so every curl_* call below goes through the loader.
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "gtest/gtest.h"

namespace {

bool LibcurlIsLoaded() {
  void* library = dlopen("libcurl.so.4", RTLD_LAZY | RTLD_NOLOAD);
  if (library == nullptr) return false;
  dlclose(library);
  return true;
}

size_t AppendToString(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// Runs first (gtest keeps declaration order) because it checks the state before any call.
TEST(LazyCurlTest, LoadsOnFirstCall) {
  EXPECT_FALSE(LibcurlIsLoaded());
  ASSERT_EQ(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
  EXPECT_TRUE(LibcurlIsLoaded());
}

TEST(LazyCurlTest, StrerrorComesFromLibcurl) {
  EXPECT_STREQ(curl_easy_strerror(CURLE_OK), "No error");
  EXPECT_STREQ(curl_easy_strerror(CURLE_COULDNT_CONNECT), "Couldn't connect to server");
}

TEST(LazyCurlTest, UrlPartsRoundTrip) {
  CURLU* url = curl_url();
  ASSERT_NE(url, nullptr);
  ASSERT_EQ(curl_url_set(url, CURLUPART_URL, "https://example.test:8443/API/v3/whoami", 0),
            CURLUE_OK);

  char* host = nullptr;
  ASSERT_EQ(curl_url_get(url, CURLUPART_HOST, &host, 0), CURLUE_OK);
  EXPECT_STREQ(host, "example.test");
  curl_free(host);

  char* port = nullptr;
  ASSERT_EQ(curl_url_get(url, CURLUPART_PORT, &port, 0), CURLUE_OK);
  EXPECT_STREQ(port, "8443");
  curl_free(port);

  char* path = nullptr;
  ASSERT_EQ(curl_url_get(url, CURLUPART_PATH, &path, 0), CURLUE_OK);
  EXPECT_STREQ(path, "/API/v3/whoami");
  curl_free(path);
  curl_url_cleanup(url);
}

TEST(LazyCurlTest, SlistKeepsLines) {
  curl_slist* list = curl_slist_append(nullptr, "Accept: application/json");
  ASSERT_NE(list, nullptr);
  list = curl_slist_append(list, "X-Second: 2");
  ASSERT_NE(list, nullptr);
  EXPECT_STREQ(list->data, "Accept: application/json");
  ASSERT_NE(list->next, nullptr);
  EXPECT_STREQ(list->next->data, "X-Second: 2");
  curl_slist_free_all(list);
}

// A file:// transfer sets options of each argument type (long, object pointer, function
// pointer, curl_off_t) and reads back results through pointers, with no network.
TEST(LazyCurlTest, EasyTransferPassesEveryArgumentType) {
  char path[] = "/tmp/lazy_curl_test.XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string content = "lazy libcurl body\n";
  ASSERT_EQ(write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  close(fd);

  CURL* handle = curl_easy_init();
  ASSERT_NE(handle, nullptr);
  std::string url = std::string("file://") + path;
  std::string body;
  EXPECT_EQ(curl_easy_setopt(handle, CURLOPT_URL, url.c_str()), CURLE_OK);
  EXPECT_EQ(curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, 10000L), CURLE_OK);
  EXPECT_EQ(curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &AppendToString), CURLE_OK);
  EXPECT_EQ(curl_easy_setopt(handle, CURLOPT_WRITEDATA, &body), CURLE_OK);
  EXPECT_EQ(curl_easy_setopt(handle, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(4096)),
            CURLE_OK);
  EXPECT_EQ(curl_easy_perform(handle), CURLE_OK);
  EXPECT_EQ(body, content);

  curl_off_t downloaded = -1;
  EXPECT_EQ(curl_easy_getinfo(handle, CURLINFO_SIZE_DOWNLOAD_T, &downloaded), CURLE_OK);
  EXPECT_EQ(downloaded, static_cast<curl_off_t>(content.size()));
  char* effective_url = nullptr;
  EXPECT_EQ(curl_easy_getinfo(handle, CURLINFO_EFFECTIVE_URL, &effective_url), CURLE_OK);
  EXPECT_STREQ(effective_url, url.c_str());

  // A resume offset makes libcurl skip the file's first bytes, which shows that the curl_off_t
  // argument reached libcurl intact.
  curl_easy_reset(handle);
  body.clear();
  EXPECT_EQ(curl_easy_setopt(handle, CURLOPT_URL, url.c_str()), CURLE_OK);
  EXPECT_EQ(curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &AppendToString), CURLE_OK);
  EXPECT_EQ(curl_easy_setopt(handle, CURLOPT_WRITEDATA, &body), CURLE_OK);
  EXPECT_EQ(curl_easy_setopt(handle, CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(5)),
            CURLE_OK);
  EXPECT_EQ(curl_easy_perform(handle), CURLE_OK);
  EXPECT_EQ(body, content.substr(5));

  curl_easy_cleanup(handle);
  unlink(path);
}

int share_locks = 0;
int share_unlocks = 0;

void CountLock(CURL*, curl_lock_data, curl_lock_access, void* user) {
  ++*static_cast<int*>(user);
  ++share_locks;
}

void CountUnlock(CURL*, curl_lock_data, void*) { ++share_unlocks; }

// A share handle takes an int, two function pointers and a pointer, and libcurl calls the lock
// callbacks through it when a transfer uses the share.
TEST(LazyCurlTest, SharePassesEveryArgumentType) {
  CURLSH* share = curl_share_init();
  ASSERT_NE(share, nullptr);
  int user_locks = 0;
  EXPECT_EQ(curl_share_setopt(share, CURLSHOPT_LOCKFUNC, &CountLock), CURLSHE_OK);
  EXPECT_EQ(curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, &CountUnlock), CURLSHE_OK);
  EXPECT_EQ(curl_share_setopt(share, CURLSHOPT_USERDATA, &user_locks), CURLSHE_OK);
  EXPECT_EQ(curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION), CURLSHE_OK);
  EXPECT_EQ(curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS), CURLSHE_OK);
  EXPECT_EQ(curl_share_setopt(share, CURLSHOPT_SHARE, 9999), CURLSHE_BAD_OPTION);

  CURL* handle = curl_easy_init();
  ASSERT_NE(handle, nullptr);
  std::string body;
  EXPECT_EQ(curl_easy_setopt(handle, CURLOPT_SHARE, share), CURLE_OK);
  EXPECT_EQ(curl_easy_setopt(handle, CURLOPT_URL, "file:///dev/null"), CURLE_OK);
  EXPECT_EQ(curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &AppendToString), CURLE_OK);
  EXPECT_EQ(curl_easy_setopt(handle, CURLOPT_WRITEDATA, &body), CURLE_OK);
  EXPECT_EQ(curl_easy_perform(handle), CURLE_OK);
  curl_easy_cleanup(handle);

  EXPECT_GT(user_locks, 0);
  EXPECT_EQ(share_locks, user_locks);
  EXPECT_EQ(share_unlocks, share_locks);
  EXPECT_EQ(curl_share_cleanup(share), CURLSHE_OK);
}

}  // namespace
