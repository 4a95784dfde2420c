#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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

}  // namespace
}  // namespace vault_qualtrics
