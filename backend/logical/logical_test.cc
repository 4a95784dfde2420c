#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "backend/logical/errors.h"
#include "backend/logical/log.h"
#include "backend/logical/logical.h"

namespace vault_qualtrics {
namespace {

TEST(OperationTest, RoundTripsEveryName) {
  for (std::string_view name : {"create", "read", "update", "patch", "delete", "list", "help",
                                "alias-lookahead", "resolve-role", "header", "revoke", "renew",
                                "rollback", "scan"}) {
    Operation op = ParseOperation(name);
    EXPECT_NE(op, Operation::kUnknown) << name;
    EXPECT_EQ(OperationName(op), name);
  }
  EXPECT_EQ(ParseOperation("frobnicate"), Operation::kUnknown);
}

TEST(ErrorsTest, MarkersAreDistinct) {
  EXPECT_TRUE(IsUnsupportedPath(UnsupportedPathError("x")));
  EXPECT_FALSE(IsReadOnly(UnsupportedPathError("x")));
  EXPECT_TRUE(IsReadOnly(ReadOnlyError()));
  EXPECT_EQ(std::string(ReadOnlyError().message()), kReadOnlyMessage);
  EXPECT_TRUE(IsUnsupportedOperation(UnsupportedOperationError("delete", "cert/web")));
  EXPECT_FALSE(IsUnsupportedPath(absl::NotFoundError("role not found")));
}

TEST(ErrorsTest, ClientErrorsAreThe4xxCodes) {
  EXPECT_TRUE(IsClientError(absl::InvalidArgumentError("x")));
  EXPECT_TRUE(IsClientError(absl::ResourceExhaustedError("x")));
  EXPECT_TRUE(IsClientError(absl::PermissionDeniedError("x")));
  EXPECT_TRUE(IsClientError(UnsupportedPathError("p")));
  EXPECT_FALSE(IsClientError(absl::InternalError("x")));
  EXPECT_FALSE(IsClientError(absl::UnavailableError("x")));
  EXPECT_FALSE(IsClientError(ReadOnlyError()));
}

TEST(ErrorsTest, HttpStatusPutsSentinelsFirst) {
  EXPECT_EQ(HttpStatusOf(absl::OkStatus()), 200);
  EXPECT_EQ(HttpStatusOf(absl::NotFoundError("role not found")), 400);
  EXPECT_EQ(HttpStatusOf(UnsupportedPathError("p")), 404);
  EXPECT_EQ(HttpStatusOf(absl::FailedPreconditionError("x")), 400);
  EXPECT_EQ(HttpStatusOf(ReadOnlyError()), 500);
  EXPECT_EQ(HttpStatusOf(UnsupportedOperationError("patch", "config")), 405);
  EXPECT_EQ(HttpStatusOf(absl::UnimplementedError("x")), 405);
  EXPECT_EQ(HttpStatusOf(absl::DeadlineExceededError("x")), 504);
  EXPECT_EQ(HttpStatusOf(absl::DataLossError("x")), 500);
}

TEST(LogTest, FormatsHclogJsonLine) {
  std::string line = FormatLogLine(LogLevel::kWarn, "retrying create",
                                   {{"attempt", "2"}, {"@level", "spoofed"}},
                                   "2026-01-02T03:04:05.000006Z");
  auto parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["@level"], "warn");
  EXPECT_EQ(parsed["@message"], "retrying create");
  EXPECT_EQ(parsed["@timestamp"], "2026-01-02T03:04:05.000006Z");
  EXPECT_EQ(parsed["attempt"], "2");
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(LogTest, DropsLinesBelowLevel) {
  std::string sink;
  SetLogSinkForTesting(&sink);
  SetLogLevel(LogLevel::kWarn);
  Log(LogLevel::kInfo, "hidden");
  Log(LogLevel::kError, "shown");
  SetLogLevel(LogLevel::kInfo);
  SetLogSinkForTesting(nullptr);
  EXPECT_EQ(sink.find("hidden"), std::string::npos);
  EXPECT_NE(sink.find("shown"), std::string::npos);
}

// Records every buffer ZeroJsonStrings zeroed, with whether it held only zero bytes.
struct ZeroedBuffers {
  static std::vector<std::pair<size_t, bool>>& Seen() {
    static std::vector<std::pair<size_t, bool>> seen;
    return seen;
  }
  static void Observe(const char* data, size_t size) {
    bool all_zero = std::all_of(data, data + size, [](char c) { return c == 0; });
    Seen().emplace_back(size, all_zero);
  }
  ZeroedBuffers() {
    Seen().clear();
    SetZeroedStringObserverForTesting(&Observe);
  }
  ~ZeroedBuffers() { SetZeroedStringObserverForTesting(nullptr); }
};

TEST(ZeroJsonStringsTest, ZeroesNestedStringValues) {
  ZeroedBuffers zeroed;
  nlohmann::json value = {{"key", std::string(100, 'k')},
                          {"list", {"short", std::string(40, 'x')}},
                          {"number", 5}};
  ZeroJsonStrings(value);
  ASSERT_EQ(ZeroedBuffers::Seen().size(), 3u);
  for (const auto& [size, all_zero] : ZeroedBuffers::Seen()) EXPECT_TRUE(all_zero) << size;
  EXPECT_EQ(value["key"].get<std::string>(), std::string(100, '\0'));
  EXPECT_EQ(value["list"][0].get<std::string>(), std::string(5, '\0'));
  EXPECT_EQ(value["number"], 5);
  EXPECT_TRUE(value.contains("key"));
}

TEST(ResponseTest, SecretResponseZeroesDataWhenDestroyed) {
  ZeroedBuffers zeroed;
  {
    Response response;
    response.contains_secrets = true;
    response.data["private_key"] = std::string(1200, 'p');
  }
  ASSERT_EQ(ZeroedBuffers::Seen().size(), 1u);
  EXPECT_EQ(ZeroedBuffers::Seen()[0].first, 1200u);
  EXPECT_TRUE(ZeroedBuffers::Seen()[0].second);
}

TEST(ResponseTest, PlainResponseIsNotZeroed) {
  ZeroedBuffers zeroed;
  {
    Response response;
    response.data["certificate"] = std::string(1200, 'c');
  }
  EXPECT_TRUE(ZeroedBuffers::Seen().empty());
}

TEST(ResponseTest, MoveKeepsOneZeroingOwner) {
  ZeroedBuffers zeroed;
  {
    Response source;
    source.contains_secrets = true;
    source.data["private_key"] = std::string(1200, 'p');
    Response moved(std::move(source));
    EXPECT_TRUE(moved.contains_secrets);
    EXPECT_EQ(moved.data["private_key"].get<std::string>().size(), 1200u);
    // Assigning over a secret response zeroes the data it replaces.
    Response other;
    other.contains_secrets = true;
    other.data["private_key"] = std::string(900, 'q');
    moved = std::move(other);
    ASSERT_EQ(ZeroedBuffers::Seen().size(), 1u);
    EXPECT_EQ(ZeroedBuffers::Seen()[0].first, 1200u);
  }
  ASSERT_EQ(ZeroedBuffers::Seen().size(), 2u);
  EXPECT_EQ(ZeroedBuffers::Seen()[1].first, 900u);
  EXPECT_TRUE(ZeroedBuffers::Seen()[1].second);
}

TEST(ResponseTest, CopyOfSecretResponseIsZeroedToo) {
  ZeroedBuffers zeroed;
  {
    Response original;
    original.contains_secrets = true;
    original.data["private_key"] = std::string(1200, 'p');
    Response copy = original;
    EXPECT_TRUE(copy.contains_secrets);
  }
  EXPECT_EQ(ZeroedBuffers::Seen().size(), 2u);
}

TEST(DumpJsonInPlaceTest, MatchesDumpAndReservesExactSize) {
  nlohmann::json value = {{"private_key", "-----BEGIN PRIVATE KEY-----\nabc\\\"\n" +
                                              std::string(3000, 'k') + "\n"},
                          {"bad", std::string("\xff\xfe")},
                          {"control", std::string("\x01\t")},
                          {"nested", {{"n", 1}, {"list", {true, nullptr, 2.5}}}}};
  std::string expected =
      value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  DumpJsonInPlace(value, &out);
  EXPECT_EQ(out, expected);
  // The reserve made room for everything, so the buffer never grew.
  EXPECT_EQ(out.capacity(), expected.size());
}

TEST(DumpJsonInPlaceTest, AppendsAfterExistingText) {
  std::string out = "prefix:";
  DumpJsonInPlace(nlohmann::json{{"a", "b"}}, &out);
  EXPECT_EQ(out, R"(prefix:{"a":"b"})");
}

}  // namespace
}  // namespace vault_qualtrics
