#include "backend/crypto/secret_bytes.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vault_qualtrics {
namespace {

// Records, for every buffer passed to the observer, its size and whether all bytes were zero.
std::vector<std::pair<size_t, bool>>* observed = nullptr;

void RecordCleanse(const char* data, size_t size) {
  bool all_zero = true;
  for (size_t i = 0; i < size; ++i) all_zero = all_zero && data[i] == 0;
  observed->push_back({size, all_zero});
}

class SecretBytesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    observed = &records_;
    SecretBytes::SetCleanseObserverForTesting(&RecordCleanse);
  }
  void TearDown() override {
    SecretBytes::SetCleanseObserverForTesting(nullptr);
    observed = nullptr;
  }
  std::vector<std::pair<size_t, bool>> records_;
};

TEST_F(SecretBytesTest, DestructorZeroesBuffer) {
  { SecretBytes secret("s3cr3t-token"); }
  ASSERT_EQ(records_.size(), 1u);
  EXPECT_EQ(records_[0].first, 12u);
  EXPECT_TRUE(records_[0].second);
}

TEST_F(SecretBytesTest, MoveTransfersWithoutCopy) {
  SecretBytes first("abc");
  const char* buffer = first.data();
  SecretBytes second(std::move(first));
  EXPECT_EQ(second.data(), buffer);
  EXPECT_TRUE(first.empty());  // NOLINT(bugprone-use-after-move): documented state.
  EXPECT_EQ(second.view(), "abc");
  EXPECT_TRUE(records_.empty());
}

TEST_F(SecretBytesTest, MoveAssignmentZeroesOldContents) {
  SecretBytes target("old-secret");
  SecretBytes source("new");
  target = std::move(source);
  ASSERT_EQ(records_.size(), 1u);
  EXPECT_EQ(records_[0].first, 10u);
  EXPECT_TRUE(records_[0].second);
  EXPECT_EQ(target.view(), "new");
}

TEST_F(SecretBytesTest, ClearZeroesAndEmpties) {
  SecretBytes secret("value");
  secret.Clear();
  EXPECT_TRUE(secret.empty());
  EXPECT_EQ(secret.size(), 0u);
  ASSERT_EQ(records_.size(), 1u);
  EXPECT_TRUE(records_[0].second);
}

TEST_F(SecretBytesTest, CopyIsIndependent) {
  SecretBytes original("value");
  SecretBytes copy = original.Copy();
  EXPECT_NE(copy.data(), original.data());
  EXPECT_EQ(copy.view(), "value");
  original.Clear();
  EXPECT_EQ(copy.view(), "value");
}

TEST_F(SecretBytesTest, TakeStringZeroesSource) {
  std::string raw = "token-value";
  char* raw_data = raw.data();
  SecretBytes secret = SecretBytes::TakeString(std::move(raw));
  EXPECT_EQ(secret.view(), "token-value");
  EXPECT_TRUE(raw.empty());  // NOLINT(bugprone-use-after-move): TakeString empties it.
  // The string kept its buffer (capacity) after clear(), and the bytes in it are zero.
  for (size_t i = 0; i < 11; ++i) EXPECT_EQ(raw_data[i], 0) << "byte " << i;
}

TEST_F(SecretBytesTest, ZeroStringClearsBytes) {
  std::string text(40, 'x');
  char* data = text.data();
  ZeroString(text);
  EXPECT_TRUE(text.empty());
  for (size_t i = 0; i < 40; ++i) EXPECT_EQ(data[i], 0) << "byte " << i;
}

TEST_F(SecretBytesTest, EqualsComparesContent) {
  SecretBytes secret("abc");
  EXPECT_TRUE(secret.Equals("abc"));
  EXPECT_FALSE(secret.Equals("abd"));
  EXPECT_FALSE(secret.Equals("ab"));
  EXPECT_TRUE(SecretBytes().Equals(""));
}

TEST_F(SecretBytesTest, OfSizeStartsZeroed) {
  SecretBytes secret = SecretBytes::OfSize(8);
  ASSERT_EQ(secret.size(), 8u);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(secret.data()[i], 0);
  EXPECT_TRUE(SecretBytes::OfSize(0).empty());
}

}  // namespace
}  // namespace vault_qualtrics
