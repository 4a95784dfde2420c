#include "plugin/broker.h"

#include <thread>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vault_qualtrics {
namespace {

using ::testing::HasSubstr;

plugin::ConnInfo Info(uint32_t id, const std::string& address) {
  plugin::ConnInfo info;
  info.set_service_id(id);
  info.set_network("unix");
  info.set_address(address);
  return info;
}

TEST(BrokerTest, TakesAnnouncedConnInfoOnce) {
  Broker broker(nullptr);
  broker.AddForTesting(Info(1, "/a.sock"));
  broker.AddForTesting(Info(2, "/b.sock"));

  absl::StatusOr<plugin::ConnInfo> second = broker.Take(2, absl::Seconds(1));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->address(), "/b.sock");
  absl::StatusOr<plugin::ConnInfo> first = broker.Take(1, absl::Seconds(1));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->address(), "/a.sock");

  absl::StatusOr<plugin::ConnInfo> again = broker.Take(1, absl::Milliseconds(10));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(BrokerTest, WaitsForLateAnnouncement) {
  Broker broker(nullptr);
  std::thread announcer([&broker] {
    absl::SleepFor(absl::Milliseconds(50));
    broker.AddForTesting(Info(5, "/late.sock"));
  });
  absl::StatusOr<plugin::ConnInfo> info = broker.Take(5, absl::Seconds(5));
  announcer.join();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->address(), "/late.sock");
}

TEST(BrokerTest, TimeoutNamesTheBrokerId) {
  Broker broker(nullptr);
  absl::Time start = absl::Now();
  absl::StatusOr<plugin::ConnInfo> info = broker.Take(9, absl::Milliseconds(100));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));
  EXPECT_EQ(info.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(info.status().message()), HasSubstr("broker id 9"));
}

TEST(BrokerTest, ShutdownWakesWaiters) {
  Broker broker(nullptr);
  std::thread stopper([&broker] {
    absl::SleepFor(absl::Milliseconds(50));
    broker.Shutdown();
  });
  absl::Time start = absl::Now();
  absl::StatusOr<plugin::ConnInfo> info = broker.Take(1, absl::Seconds(10));
  stopper.join();
  EXPECT_EQ(info.status().code(), absl::StatusCode::kCancelled);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(BrokerTest, DropsOldestBeyondPendingLimit) {
  Broker broker(nullptr);
  for (uint32_t id = 1; id <= kMaxPendingConnInfo + 1; ++id) {
    broker.AddForTesting(Info(id, "/s.sock"));
  }
  EXPECT_EQ(broker.Take(1, absl::Milliseconds(1)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(broker.Take(2, absl::Milliseconds(1)).ok());
  EXPECT_TRUE(broker.Take(kMaxPendingConnInfo + 1, absl::Milliseconds(1)).ok());
}

}  // namespace
}  // namespace vault_qualtrics
