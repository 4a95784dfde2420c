#include "plugin/socket_dir.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vault_qualtrics {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// A short parent under /tmp: Bazel's TEST_TMPDIR is too long for a socket address.
std::string TestTempDir() {
  static const std::string* dir = [] {
    char path[] = "/tmp/socket-dir-test-XXXXXX";
    if (mkdtemp(path) == nullptr) return new std::string("/tmp");
    atexit([] { rmdir(TestTempDir().c_str()); });
    return new std::string(path);
  }();
  return *dir;
}

bool Exists(const std::string& path) {
  struct stat info;
  return lstat(path.c_str(), &info) == 0;
}

TEST(SocketDirectoryTest, CreatesPrivateDirectoryAndRemovesIt) {
  std::string directory;
  {
    absl::StatusOr<std::unique_ptr<SocketDirectory>> dir =
        SocketDirectory::Create(TestTempDir(), "");
    ASSERT_TRUE(dir.ok()) << dir.status();
    directory = (*dir)->directory();
    EXPECT_THAT(directory, StartsWith(TestTempDir() + "/vault-plugin-"));
    EXPECT_EQ((*dir)->socket_path(), directory + "/plugin.sock");

    struct stat info;
    ASSERT_EQ(stat(directory.c_str(), &info), 0);
    EXPECT_TRUE(S_ISDIR(info.st_mode));
    EXPECT_EQ(info.st_mode & 0777, 0700u);

    // Stands in for the socket the server creates.
    std::ofstream((*dir)->socket_path()) << "x";
    ASSERT_TRUE((*dir)->RestrictSocket().ok());
    ASSERT_EQ(stat((*dir)->socket_path().c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u);
  }
  EXPECT_FALSE(Exists(directory + "/plugin.sock"));
  EXPECT_FALSE(Exists(directory));
}

TEST(SocketDirectoryTest, EachCallGetsItsOwnDirectory) {
  auto first = SocketDirectory::Create(TestTempDir(), "");
  auto second = SocketDirectory::Create(TestTempDir(), "");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_NE((*first)->directory(), (*second)->directory());
}

TEST(SocketDirectoryTest, TrailingSlashOfParentIsIgnored) {
  auto dir = SocketDirectory::Create(TestTempDir() + "/", "");
  ASSERT_TRUE(dir.ok());
  EXPECT_THAT((*dir)->directory(), StartsWith(TestTempDir() + "/vault-plugin-"));
}

TEST(SocketDirectoryTest, GroupGetsReadAccess) {
  gid_t gid = getegid();
  std::string directory;
  auto dir = SocketDirectory::Create(TestTempDir(), std::to_string(gid));
  ASSERT_TRUE(dir.ok()) << dir.status();
  struct stat info;
  ASSERT_EQ(stat((*dir)->directory().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0750u);
  EXPECT_EQ(info.st_gid, gid);

  std::ofstream((*dir)->socket_path()) << "x";
  ASSERT_TRUE((*dir)->RestrictSocket().ok());
  ASSERT_EQ(stat((*dir)->socket_path().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0660u);
  EXPECT_EQ(info.st_gid, gid);
}

TEST(SocketDirectoryTest, UnknownGroupIsRejected) {
  auto dir = SocketDirectory::Create(TestTempDir(), "no-such-group-for-this-test");
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(dir.status().message()), HasSubstr("no-such-group-for-this-test"));
}

TEST(SocketDirectoryTest, MissingParentIsRejected) {
  auto dir = SocketDirectory::Create(TestTempDir() + "/does/not/exist", "");
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(dir.status().message()), HasSubstr("PLUGIN_UNIX_SOCKET_DIR"));
}

TEST(SocketDirectoryTest, UnwritableParentIsRejected) {
  if (geteuid() == 0) GTEST_SKIP() << "root may write to any directory";
  std::string parent = TestTempDir() + "/read-only-parent";
  ASSERT_EQ(mkdir(parent.c_str(), 0500), 0);
  auto dir = SocketDirectory::Create(parent, "");
  EXPECT_EQ(dir.status().code(), absl::StatusCode::kFailedPrecondition);
  rmdir(parent.c_str());
}

TEST(SocketDirectoryTest, ParentThatIsAFileIsRejected) {
  std::string parent = TestTempDir() + "/regular-file";
  std::ofstream(parent) << "x";
  auto dir = SocketDirectory::Create(parent, "");
  EXPECT_EQ(dir.status().code(), absl::StatusCode::kFailedPrecondition);
  unlink(parent.c_str());
}

TEST(SocketDirectoryTest, ParentTooLongForSocketAddressIsRejected) {
  auto dir = SocketDirectory::Create("/" + std::string(120, 'a'), "");
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vault_qualtrics
