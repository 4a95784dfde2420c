#include "backend/qualtrics/http_transport.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vault_qualtrics {
namespace qualtrics_internal {
namespace {

TEST(ApplyServerNameTest, RewritesHostAndKeepsConnection) {
  absl::StatusOr<ConnectTarget> target =
      ApplyServerName("https://127.0.0.1:8443/API/v3/organizations/o", "fra1.qualtrics.com");
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(target->url, "https://fra1.qualtrics.com:8443/API/v3/organizations/o");
  EXPECT_EQ(target->connect_to, "fra1.qualtrics.com:8443:127.0.0.1:8443");
}

TEST(ApplyServerNameTest, UsesDefaultPort) {
  absl::StatusOr<ConnectTarget> target =
      ApplyServerName("https://[::1]/API/v3", "localhost");
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(target->url, "https://localhost/API/v3");
  EXPECT_EQ(target->connect_to, "localhost:443:[::1]:443");
}

TEST(ApplyServerNameTest, RejectsBadInput) {
  EXPECT_EQ(ApplyServerName("not a url", "x").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyServerName("https://127.0.0.1/", "bad host/name").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(UrlOriginTest, NormalizesPorts) {
  EXPECT_EQ(UrlOrigin("https://fra1.qualtrics.com/API/v3"), "https://fra1.qualtrics.com:443");
  EXPECT_EQ(UrlOrigin("https://127.0.0.1:4000/x?offset=2"), "https://127.0.0.1:4000");
  EXPECT_EQ(UrlOrigin("::"), "");
}

TEST(HttpTransportTest, RejectsPlainHttp) {
  HttpTransport transport(TransportOptions{});
  HttpRequest request;
  request.method = "GET";
  request.url = "http://127.0.0.1:1/";
  HttpResult result = transport.Perform(request);
  EXPECT_EQ(result.failure, TransportFailure::kBadUrl);
}

TEST(HttpTransportTest, ConnectionRefusedIsNotSent) {
  HttpTransport transport(TransportOptions{});
  HttpRequest request;
  request.method = "POST";
  request.url = "https://127.0.0.1:1/";
  request.body = "{}";
  HttpResult result = transport.Perform(request);
  EXPECT_EQ(result.failure, TransportFailure::kNotSent);
}

}  // namespace
}  // namespace qualtrics_internal
}  // namespace vault_qualtrics
