#include "plugin/status_mapping.h"

#include "backend/logical/errors.h"
#include "gtest/gtest.h"

namespace vault_qualtrics {
namespace {

struct Case {
  absl::StatusCode code;
  VaultErrorType type;
  int http_status;
  int64_t err_code;
  bool error_response;
};

TEST(ToVaultErrorTest, MapsEachStatusCode) {
  const Case cases[] = {
      {absl::StatusCode::kInvalidArgument, VaultErrorType::kStatusBadRequest, 400, 0, true},
      {absl::StatusCode::kFailedPrecondition, VaultErrorType::kStatusBadRequest, 400, 0, true},
      {absl::StatusCode::kNotFound, VaultErrorType::kStatusBadRequest, 400, 0, true},
      {absl::StatusCode::kAlreadyExists, VaultErrorType::kStatusBadRequest, 400, 0, true},
      {absl::StatusCode::kOutOfRange, VaultErrorType::kStatusBadRequest, 400, 0, true},
      {absl::StatusCode::kUnauthenticated, VaultErrorType::kStatusBadRequest, 400, 0, true},
      {absl::StatusCode::kPermissionDenied, VaultErrorType::kCodedError, 403, 403, false},
      {absl::StatusCode::kResourceExhausted, VaultErrorType::kCodedError, 429, 429, false},
      {absl::StatusCode::kUnavailable, VaultErrorType::kCodedError, 503, 503, false},
      {absl::StatusCode::kDeadlineExceeded, VaultErrorType::kCodedError, 504, 504, false},
      {absl::StatusCode::kUnimplemented, VaultErrorType::kUnsupportedOperation, 405, 0, false},
      {absl::StatusCode::kInternal, VaultErrorType::kInternalError, 500, 0, false},
      {absl::StatusCode::kUnknown, VaultErrorType::kInternalError, 500, 0, false},
      {absl::StatusCode::kCancelled, VaultErrorType::kInternalError, 500, 0, false},
      {absl::StatusCode::kAborted, VaultErrorType::kInternalError, 500, 0, false},
      {absl::StatusCode::kDataLoss, VaultErrorType::kInternalError, 500, 0, false},
  };
  for (const Case& c : cases) {
    VaultError error = ToVaultError(absl::Status(c.code, "the message"));
    SCOPED_TRACE(absl::StatusCodeToString(c.code));
    EXPECT_EQ(error.type, c.type);
    EXPECT_EQ(error.http_status, c.http_status);
    EXPECT_EQ(error.code, c.err_code);
    EXPECT_EQ(error.error_response, c.error_response);
    EXPECT_EQ(error.message, "the message");
  }
}

TEST(ToVaultErrorTest, UnsupportedPathMarkerWins) {
  VaultError error = ToVaultError(UnsupportedPathError("nope"));
  EXPECT_EQ(error.type, VaultErrorType::kUnsupportedPath);
  EXPECT_EQ(static_cast<uint32_t>(error.type), 6u);
  EXPECT_EQ(error.http_status, 404);
  EXPECT_FALSE(error.error_response);
}

TEST(ToVaultErrorTest, UnsupportedOperationMarkerWins) {
  VaultError error = ToVaultError(UnsupportedOperationError("patch", "config"));
  EXPECT_EQ(error.type, VaultErrorType::kUnsupportedOperation);
  EXPECT_EQ(static_cast<uint32_t>(error.type), 5u);
  EXPECT_EQ(error.http_status, 405);
}

TEST(ToVaultErrorTest, ReadOnlyIsPlainErrorWithVaultsText) {
  VaultError error = ToVaultError(ReadOnlyError());
  EXPECT_EQ(error.type, VaultErrorType::kPlain);
  EXPECT_EQ(static_cast<uint32_t>(error.type), 0u);
  EXPECT_EQ(error.message, "cannot write to readonly storage");
  EXPECT_FALSE(error.error_response);
}

TEST(ToVaultErrorTest, WireValuesMatchVaultSdk) {
  EXPECT_EQ(static_cast<uint32_t>(VaultErrorType::kInternalError), 2u);
  EXPECT_EQ(static_cast<uint32_t>(VaultErrorType::kCodedError), 3u);
  EXPECT_EQ(static_cast<uint32_t>(VaultErrorType::kStatusBadRequest), 4u);
}

}  // namespace
}  // namespace vault_qualtrics
