#include "plugin/handshake.h"

#include <string>

#include "gtest/gtest.h"

namespace vault_qualtrics {
namespace {

TEST(Base64RawStdEncodeTest, MatchesRfc4648VectorsWithoutPadding) {
  EXPECT_EQ(Base64RawStdEncode(""), "");
  EXPECT_EQ(Base64RawStdEncode("f"), "Zg");
  EXPECT_EQ(Base64RawStdEncode("fo"), "Zm8");
  EXPECT_EQ(Base64RawStdEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64RawStdEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64RawStdEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64RawStdEncode("foobar"), "Zm9vYmFy");
}

TEST(Base64RawStdEncodeTest, UsesStandardAlphabetForHighBytes) {
  EXPECT_EQ(Base64RawStdEncode(std::string("\xfb\xff\xbf", 3)), "+/+/");
  EXPECT_EQ(Base64RawStdEncode(std::string("\x00\x00", 2)), "AAA");
}

TEST(FormatHandshakeLineTest, FormatsAllFields) {
  EXPECT_EQ(FormatHandshakeLine(5, "unix", "/tmp/d/plugin.sock", "foobar"),
            "1|5|unix|/tmp/d/plugin.sock|grpc|Zm9vYmFy\n");
}

TEST(FormatHandshakeLineTest, EmptyCertificateEndsWithGrpc) {
  EXPECT_EQ(FormatHandshakeLine(5, "tcp", "127.0.0.1:1234", ""), "1|5|tcp|127.0.0.1:1234|grpc|\n");
}

}  // namespace
}  // namespace vault_qualtrics
