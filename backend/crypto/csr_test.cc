#include "backend/crypto/csr.h"

#include <string>

#include "absl/strings/match.h"
#include "backend/crypto/key.h"
#include "backend/crypto/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vault_qualtrics {
namespace {

using ::testing::HasSubstr;
using testing_util::RunCommand;
using testing_util::TempPath;
using testing_util::WriteFile;

Subject FullSubject() {
  Subject subject;
  subject.common_name = "fra1.qualtrics.com";
  subject.organization = "Example Corp";
  subject.organizational_unit = "Platform";
  subject.locality = "Berlin";
  subject.province = "Berlin";
  subject.country = "DE";
  return subject;
}

struct CsrCase {
  const char* type;
  int bits;
  SignatureDigest digest;
  const char* name;
  const char* signature_algorithm;  // As `openssl req -text` prints it.
};

class CsrKeyTypeTest : public ::testing::TestWithParam<CsrCase> {};

TEST_P(CsrKeyTypeTest, CsrVerifiesHereAndWithOpenssl) {
  const CsrCase& c = GetParam();
  absl::StatusOr<PrivateKey> key = GenerateKey(*ParseKeySpec(c.type, c.bits));
  ASSERT_TRUE(key.ok()) << key.status();
  absl::StatusOr<std::string> csr = CreateCsrPem(*key, FullSubject(), c.digest);
  ASSERT_TRUE(csr.ok()) << csr.status();
  EXPECT_TRUE(absl::StartsWith(*csr, "-----BEGIN CERTIFICATE REQUEST-----\n"));

  EXPECT_TRUE(VerifyCsrPem(*csr).ok());
  EXPECT_EQ(*CsrPublicKeyFingerprint(*csr), *key->PublicKeyFingerprintSha256());

  std::string path = TempPath(std::string("csr-") + c.name + ".pem");
  WriteFile(path, *csr);
  testing_util::CommandResult verify = RunCommand("openssl req -verify -noout -in " + path);
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_THAT(verify.output, HasSubstr("verify OK"));

  testing_util::CommandResult text =
      RunCommand("openssl req -noout -text -nameopt RFC2253 -in " + path);
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_THAT(text.output,
              HasSubstr("CN=fra1.qualtrics.com,OU=Platform,O=Example Corp,L=Berlin,ST=Berlin,C=DE"));
  EXPECT_THAT(text.output, HasSubstr(c.signature_algorithm));
}

INSTANTIATE_TEST_SUITE_P(
    AllKeyTypes, CsrKeyTypeTest,
    ::testing::Values(
        CsrCase{"rsa", 2048, SignatureDigest::kSha256, "rsa2048", "sha256WithRSAEncryption"},
        CsrCase{"rsa", 3072, SignatureDigest::kSha384, "rsa3072", "sha384WithRSAEncryption"},
        CsrCase{"rsa", 4096, SignatureDigest::kSha256, "rsa4096", "sha256WithRSAEncryption"},
        CsrCase{"ec", 256, SignatureDigest::kSha256, "p256", "ecdsa-with-SHA256"},
        CsrCase{"ec", 384, SignatureDigest::kSha384, "p384", "ecdsa-with-SHA384"},
        CsrCase{"ed25519", 0, SignatureDigest::kSha384, "ed25519", "ED25519"}),
    [](const ::testing::TestParamInfo<CsrCase>& info) { return std::string(info.param.name); });

TEST(CsrTest, OptionalSubjectFieldsAreLeftOut) {
  absl::StatusOr<PrivateKey> key = GenerateKey(*ParseKeySpec("ec", 256));
  ASSERT_TRUE(key.ok());
  Subject subject;
  subject.common_name = "iad1.qualtrics.com";
  absl::StatusOr<std::string> csr = CreateCsrPem(*key, subject);
  ASSERT_TRUE(csr.ok()) << csr.status();
  std::string path = TempPath("csr-cn-only.pem");
  WriteFile(path, *csr);
  testing_util::CommandResult text =
      RunCommand("openssl req -noout -subject -nameopt RFC2253 -in " + path);
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_EQ(text.output, "subject=CN=iad1.qualtrics.com\n");
}

TEST(CsrTest, RejectsMissingCommonName) {
  absl::StatusOr<PrivateKey> key = GenerateKey(*ParseKeySpec("ec", 256));
  ASSERT_TRUE(key.ok());
  Subject subject = FullSubject();
  subject.common_name.clear();
  absl::StatusOr<std::string> csr = CreateCsrPem(*key, subject);
  ASSERT_EQ(csr.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(csr.status().message()), HasSubstr("common_name is missing"));
}

TEST(CsrTest, RejectsBadCountry) {
  absl::StatusOr<PrivateKey> key = GenerateKey(*ParseKeySpec("ec", 256));
  ASSERT_TRUE(key.ok());
  for (const char* country : {"D", "DEU", "de", "1A"}) {
    Subject subject = FullSubject();
    subject.country = country;
    absl::StatusOr<std::string> csr = CreateCsrPem(*key, subject);
    ASSERT_EQ(csr.status().code(), absl::StatusCode::kInvalidArgument) << country;
    EXPECT_THAT(std::string(csr.status().message()), HasSubstr("two-letter"));
  }
}

TEST(CsrTest, RejectsOverlongField) {
  absl::StatusOr<PrivateKey> key = GenerateKey(*ParseKeySpec("ec", 256));
  ASSERT_TRUE(key.ok());
  Subject subject = FullSubject();
  subject.organization = std::string(64, 'o');
  EXPECT_TRUE(CreateCsrPem(*key, subject).ok());
  subject.organization = std::string(65, 'o');
  absl::StatusOr<std::string> csr = CreateCsrPem(*key, subject);
  ASSERT_EQ(csr.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(csr.status().message()),
              HasSubstr("organization is 65 characters long: at most 64"));
}

TEST(CsrTest, VerifyRejectsTamperedSignature) {
  absl::StatusOr<PrivateKey> key = GenerateKey(*ParseKeySpec("ec", 256));
  ASSERT_TRUE(key.ok());
  absl::StatusOr<std::string> csr = CreateCsrPem(*key, FullSubject());
  ASSERT_TRUE(csr.ok());
  // Re-sign the request body with another key but keep the first key's public key inside.
  absl::StatusOr<PrivateKey> other = GenerateKey(*ParseKeySpec("ec", 256));
  ASSERT_TRUE(other.ok());
  std::string csr_path = TempPath("tamper.csr");
  std::string key_path = TempPath("tamper-other.pem");
  WriteFile(csr_path, *csr);
  WriteFile(key_path, std::string(other->ToPkcs8Pem()->view()));
  // `openssl x509 -req` would need a CA; instead, flip one byte of the signature in DER.
  testing_util::CommandResult der =
      RunCommand("openssl req -in " + csr_path + " -outform DER -out " + csr_path + ".der");
  ASSERT_EQ(der.exit_code, 0) << der.output;
  std::string bytes = testing_util::ReadFile(csr_path + ".der");
  ASSERT_GT(bytes.size(), 10u);
  bytes[bytes.size() - 5] ^= 0x01;
  WriteFile(csr_path + ".der", bytes);
  testing_util::CommandResult pem = RunCommand("openssl req -inform DER -in " + csr_path +
                                               ".der -out " + csr_path + ".pem");
  ASSERT_EQ(pem.exit_code, 0) << pem.output;
  absl::Status verified = VerifyCsrPem(testing_util::ReadFile(csr_path + ".pem"));
  ASSERT_EQ(verified.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(verified.message()), HasSubstr("signature does not verify"));
}

TEST(CsrTest, VerifyRejectsNonPem) {
  absl::Status verified = VerifyCsrPem("hello");
  ASSERT_EQ(verified.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(verified.message()), HasSubstr("not a PEM certificate request"));
}

TEST(ParseSignatureDigestTest, AcceptsKnownNames) {
  EXPECT_EQ(*ParseSignatureDigest(""), SignatureDigest::kSha256);
  EXPECT_EQ(*ParseSignatureDigest("sha256"), SignatureDigest::kSha256);
  EXPECT_EQ(*ParseSignatureDigest("sha384"), SignatureDigest::kSha384);
  absl::StatusOr<SignatureDigest> bad = ParseSignatureDigest("md5");
  ASSERT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("invalid signature_digest \"md5\": allowed values are sha256, sha384"));
}

}  // namespace
}  // namespace vault_qualtrics
