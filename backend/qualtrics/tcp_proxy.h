// A TCP relay on 127.0.0.1 for tests of connection reuse. It forwards each accepted connection to
// a new connection to an upstream port on 127.0.0.1 and counts the connections it accepts. It can
// also close all open connections, as a server does with idle keep-alive connections. TLS passes
// through unchanged, so the client still verifies the upstream server's certificate. Test-only.
#ifndef BACKEND_QUALTRICS_TCP_PROXY_H_
#define BACKEND_QUALTRICS_TCP_PROXY_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace vault_qualtrics {

class TcpProxy {
 public:
  // Listens on 127.0.0.1 with a free port and relays to 127.0.0.1:`upstream_port`.
  static absl::StatusOr<std::unique_ptr<TcpProxy>> Start(int upstream_port);

  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;
  // Stops accepting, closes every connection and joins all threads.
  ~TcpProxy();

  int port() const { return port_; }
  // Connections accepted since Start.
  int accepted() const { return accepted_.load(); }
  // Connections currently relayed.
  int open() const;

  // Closes every relayed connection on both sides and waits until no relay is open, at most
  // 5 s. Returns false when a relay is still open after that.
  bool CloseAll();

 private:
  TcpProxy() = default;
  void AcceptLoop();
  void Relay(int client_fd, int upstream_fd);

  int listen_fd_ = -1;
  int port_ = 0;
  int upstream_port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::thread accept_thread_;

  mutable std::mutex mutex_;
  // Guarded by mutex_: the sockets of open relays, shut down by CloseAll; a relay removes its
  // sockets here before closing them.
  std::set<int> open_fds_;
  // Guarded by mutex_.
  std::vector<std::thread> relay_threads_;
};

// Returns `url` with its port replaced by `port`; the URL must have an explicit port.
std::string ReplaceUrlPort(const std::string& url, int port);
// Returns the explicit port of `url`, or 0.
int UrlPort(const std::string& url);

}  // namespace vault_qualtrics

#endif  // BACKEND_QUALTRICS_TCP_PROXY_H_
