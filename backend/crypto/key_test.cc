#include "backend/crypto/key.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "backend/crypto/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vault_qualtrics {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using testing_util::RunCommand;
using testing_util::TempPath;
using testing_util::WriteFile;

struct SpecCase {
  const char* type;
  int bits;
  const char* label;
  const char* openssl_name;  // Key type name in `openssl pkey -text` output.
};

const std::vector<SpecCase>& AllSpecs() {
  static const std::vector<SpecCase> specs = {
      {"rsa", 2048, "rsa-2048", "Private-Key: (2048 bit"},
      {"rsa", 3072, "rsa-3072", "Private-Key: (3072 bit"},
      {"rsa", 4096, "rsa-4096", "Private-Key: (4096 bit"},
      {"ec", 256, "ec-p256", "NIST CURVE: P-256"},
      {"ec", 384, "ec-p384", "NIST CURVE: P-384"},
      {"ed25519", 0, "ed25519", "ED25519 Private-Key"},
  };
  return specs;
}

class KeyTypeTest : public ::testing::TestWithParam<SpecCase> {};

TEST_P(KeyTypeTest, GeneratesAndRoundTripsPkcs8) {
  const SpecCase& c = GetParam();
  absl::StatusOr<KeySpec> spec = ParseKeySpec(c.type, c.bits);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(KeySpecLabel(*spec), c.label);

  absl::StatusOr<PrivateKey> key = GenerateKey(*spec);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->spec(), *spec);

  absl::StatusOr<SecretBytes> pem = key->ToPkcs8Pem();
  ASSERT_TRUE(pem.ok()) << pem.status();
  EXPECT_TRUE(absl::StartsWith(std::string(pem->view()), "-----BEGIN PRIVATE KEY-----"));

  absl::StatusOr<PrivateKey> decoded = PrivateKeyFromPem(pem->view());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->spec(), *spec);

  absl::StatusOr<std::string> fingerprint = key->PublicKeyFingerprintSha256();
  absl::StatusOr<std::string> decoded_fingerprint = decoded->PublicKeyFingerprintSha256();
  ASSERT_TRUE(fingerprint.ok()) << fingerprint.status();
  ASSERT_TRUE(decoded_fingerprint.ok()) << decoded_fingerprint.status();
  EXPECT_THAT(*fingerprint, MatchesRegex("[0-9a-f]{64}"));
  EXPECT_EQ(*fingerprint, *decoded_fingerprint);
}

TEST_P(KeyTypeTest, OpensslCommandReadsKey) {
  const SpecCase& c = GetParam();
  absl::StatusOr<PrivateKey> key = GenerateKey(*ParseKeySpec(c.type, c.bits));
  ASSERT_TRUE(key.ok()) << key.status();
  absl::StatusOr<SecretBytes> pem = key->ToPkcs8Pem();
  ASSERT_TRUE(pem.ok());
  // A test key in the test's private temporary directory; production code never writes keys.
  std::string path = TempPath(std::string("key-") + c.label + ".pem");
  WriteFile(path, std::string(pem->view()));
  testing_util::CommandResult result = RunCommand("openssl pkey -noout -text -in " + path);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr(c.openssl_name));
}

TEST_P(KeyTypeTest, FingerprintMatchesOpensslDigest) {
  const SpecCase& c = GetParam();
  absl::StatusOr<PrivateKey> key = GenerateKey(*ParseKeySpec(c.type, c.bits));
  ASSERT_TRUE(key.ok());
  absl::StatusOr<std::string> public_pem = key->PublicKeyPem();
  ASSERT_TRUE(public_pem.ok());
  std::string path = TempPath(std::string("public-") + c.label + ".pem");
  WriteFile(path, *public_pem);
  testing_util::CommandResult result = RunCommand(
      "openssl pkey -pubin -in " + path + " -outform DER | openssl dgst -sha256 -r");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output.substr(0, 64), *key->PublicKeyFingerprintSha256());
  EXPECT_EQ(*PublicKeyFingerprintFromPem(*public_pem), *key->PublicKeyFingerprintSha256());
}

INSTANTIATE_TEST_SUITE_P(AllKeyTypes, KeyTypeTest, ::testing::ValuesIn(AllSpecs()),
                         [](const ::testing::TestParamInfo<SpecCase>& info) {
                           std::string name = info.param.label;
                           for (char& ch : name) {
                             if (ch == '-') ch = '_';
                           }
                           return name;
                         });

TEST(KeyTest, FingerprintIsStableForOneKey) {
  absl::StatusOr<PrivateKey> key = GenerateKey(*ParseKeySpec("ec", 256));
  ASSERT_TRUE(key.ok());
  std::string first = *key->PublicKeyFingerprintSha256();
  EXPECT_EQ(*key->PublicKeyFingerprintSha256(), first);
  absl::StatusOr<PrivateKey> other = GenerateKey(*ParseKeySpec("ec", 256));
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*other->PublicKeyFingerprintSha256(), first);
}

TEST(KeyTest, FingerprintOfFixedKeyIsKnown) {
  // The Ed25519 test key of RFC 8410, section 10.3; its fingerprint was computed with
  // `openssl pkey -pubout -outform DER | openssl dgst -sha256`.
  const char kPem[] =
      "-----BEGIN PRIVATE KEY-----\n"
      "MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n"
      "-----END PRIVATE KEY-----\n";
  absl::StatusOr<PrivateKey> key = PrivateKeyFromPem(kPem);
  ASSERT_TRUE(key.ok()) << key.status();
  std::string path = TempPath("rfc8410.pem");
  WriteFile(path, kPem);
  testing_util::CommandResult result =
      RunCommand("openssl pkey -in " + path + " -pubout -outform DER | openssl dgst -sha256 -r");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(*key->PublicKeyFingerprintSha256(), result.output.substr(0, 64));
}

TEST(ParseKeySpecTest, DefaultsWhenBitsAreZero) {
  EXPECT_EQ(ParseKeySpec("rsa", 0)->bits, 2048);
  EXPECT_EQ(ParseKeySpec("ec", 0)->curve, EcCurve::kP256);
  EXPECT_EQ(ParseKeySpec("ed25519", 0)->type, KeyType::kEd25519);
  EXPECT_EQ(ParseKeySpec("ed25519", 256)->type, KeyType::kEd25519);
}

TEST(ParseKeySpecTest, RejectsUnknownType) {
  absl::StatusOr<KeySpec> spec = ParseKeySpec("dsa", 2048);
  ASSERT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(spec.status().message()),
              HasSubstr("invalid key_type \"dsa\": allowed values are rsa, ec, ed25519"));
}

TEST(ParseKeySpecTest, RejectsBadSizes) {
  const std::pair<const char*, int> bad[] = {{"rsa", 1024}, {"rsa", 2047}, {"rsa", 8192},
                                             {"rsa", -1},   {"ec", 521},   {"ec", 224},
                                             {"ed25519", 448}};
  for (const auto& [type, bits] : bad) {
    absl::StatusOr<KeySpec> spec = ParseKeySpec(type, bits);
    ASSERT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument) << type << " " << bits;
    EXPECT_THAT(std::string(spec.status().message()), HasSubstr("invalid key_bits"));
    EXPECT_THAT(std::string(spec.status().message()), HasSubstr("allowed values are"));
  }
}

TEST(PrivateKeyFromPemTest, RejectsGarbageWithoutQuotingIt) {
  absl::StatusOr<PrivateKey> key = PrivateKeyFromPem("not-a-key-SECRETMARKER");
  ASSERT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(key.status().message()), HasSubstr("not an unencrypted PEM private key"));
  EXPECT_THAT(std::string(key.status().message()), ::testing::Not(HasSubstr("SECRETMARKER")));
}

TEST(PrivateKeyFromPemTest, RejectsUnsupportedCurve) {
  std::string path = TempPath("secp256k1.pem");
  testing_util::CommandResult result =
      RunCommand("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 -out " + path);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  absl::StatusOr<PrivateKey> key = PrivateKeyFromPem(testing_util::ReadFile(path));
  ASSERT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(key.status().message()), HasSubstr("unsupported EC curve"));
}

TEST(PrivateKeyFromPemTest, RejectsEncryptedKey) {
  std::string path = TempPath("encrypted.pem");
  testing_util::CommandResult result = RunCommand(
      "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes-128-cbc -pass "
      "pass:test -out " +
      path);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  absl::StatusOr<PrivateKey> key = PrivateKeyFromPem(testing_util::ReadFile(path));
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Base64EncodeTest, EncodesWithPadding) {
  EXPECT_EQ(Base64Encode("").view(), "");
  EXPECT_EQ(Base64Encode("f").view(), "Zg==");
  EXPECT_EQ(Base64Encode("fo").view(), "Zm8=");
  EXPECT_EQ(Base64Encode("foo").view(), "Zm9v");
  EXPECT_EQ(Base64Encode("sim-client:sim-secret").view(), "c2ltLWNsaWVudDpzaW0tc2VjcmV0");
}

}  // namespace
}  // namespace vault_qualtrics
