#include "backend/qualtrics/tcp_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace vault_qualtrics {
namespace {

// How often blocked loops check whether the proxy is stopping.
constexpr int kPollMilliseconds = 50;

sockaddr_in LoopbackAddress(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  return address;
}

// Writes all of `data`; false when the peer is gone.
bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t written = send(fd, data, size, MSG_NOSIGNAL);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    data += written;
    size -= static_cast<size_t>(written);
  }
  return true;
}

// Returns the index of the port's colon in "scheme://host:port/...", or npos.
size_t PortColon(const std::string& url) {
  size_t authority = url.find("://");
  if (authority == std::string::npos) return std::string::npos;
  authority += 3;
  size_t path = url.find('/', authority);
  if (path == std::string::npos) path = url.size();
  size_t colon = url.rfind(':', path);
  if (colon == std::string::npos || colon < authority) return std::string::npos;
  // The colon of an IPv6 address inside brackets is no port separator.
  size_t bracket = url.rfind(']', path);
  if (bracket != std::string::npos && bracket > colon) return std::string::npos;
  return colon;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TcpProxy>> TcpProxy::Start(int upstream_port) {
  std::unique_ptr<TcpProxy> proxy(new TcpProxy());
  proxy->upstream_port_ = upstream_port;
  proxy->listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (proxy->listen_fd_ < 0) return absl::InternalError("creating the proxy socket failed");
  sockaddr_in address = LoopbackAddress(0);
  if (bind(proxy->listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(proxy->listen_fd_, 16) != 0) {
    return absl::InternalError(absl::StrCat("binding the proxy on 127.0.0.1 failed: ",
                                            std::strerror(errno)));
  }
  socklen_t length = sizeof(address);
  getsockname(proxy->listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  proxy->port_ = ntohs(address.sin_port);
  proxy->accept_thread_ = std::thread(&TcpProxy::AcceptLoop, proxy.get());
  return proxy;
}

TcpProxy::~TcpProxy() {
  stopping_ = true;
  if (accept_thread_.joinable()) accept_thread_.join();
  if (listen_fd_ >= 0) close(listen_fd_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
  }
  // No new relay starts once the accept thread has ended.
  for (std::thread& relay : relay_threads_) relay.join();
}

int TcpProxy::open() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(open_fds_.size() / 2);
}

bool TcpProxy::CloseAll() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
  }
  for (int i = 0; i < 5000 / kPollMilliseconds; ++i) {
    if (open() == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMilliseconds));
  }
  return open() == 0;
}

void TcpProxy::AcceptLoop() {
  while (!stopping_) {
    pollfd listening{listen_fd_, POLLIN, 0};
    if (poll(&listening, 1, kPollMilliseconds) <= 0) continue;
    int client_fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client_fd < 0) continue;
    int upstream_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in upstream = LoopbackAddress(upstream_port_);
    if (upstream_fd < 0 ||
        connect(upstream_fd, reinterpret_cast<sockaddr*>(&upstream), sizeof(upstream)) != 0) {
      if (upstream_fd >= 0) close(upstream_fd);
      close(client_fd);
      continue;
    }
    ++accepted_;
    std::lock_guard<std::mutex> lock(mutex_);
    open_fds_.insert(client_fd);
    open_fds_.insert(upstream_fd);
    relay_threads_.emplace_back(&TcpProxy::Relay, this, client_fd, upstream_fd);
  }
}

void TcpProxy::Relay(int client_fd, int upstream_fd) {
  char buffer[16384];
  bool open_relay = true;
  while (open_relay && !stopping_) {
    pollfd fds[2] = {{client_fd, POLLIN, 0}, {upstream_fd, POLLIN, 0}};
    int ready = poll(fds, 2, kPollMilliseconds);
    if (ready < 0 && errno != EINTR) break;
    for (int i = 0; i < 2 && open_relay; ++i) {
      if (fds[i].revents == 0) continue;
      int from = fds[i].fd;
      int to = i == 0 ? upstream_fd : client_fd;
      ssize_t count = recv(from, buffer, sizeof(buffer), 0);
      // Either side closing ends the relay, and both sockets are closed below.
      if (count <= 0 || !WriteAll(to, buffer, static_cast<size_t>(count))) open_relay = false;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    open_fds_.erase(client_fd);
    open_fds_.erase(upstream_fd);
  }
  close(client_fd);
  close(upstream_fd);
}

std::string ReplaceUrlPort(const std::string& url, int port) {
  size_t colon = PortColon(url);
  if (colon == std::string::npos) return url;
  size_t end = url.find('/', colon);
  if (end == std::string::npos) end = url.size();
  return absl::StrCat(url.substr(0, colon + 1), port, url.substr(end));
}

int UrlPort(const std::string& url) {
  size_t colon = PortColon(url);
  if (colon == std::string::npos) return 0;
  size_t end = url.find('/', colon);
  if (end == std::string::npos) end = url.size();
  int port = 0;
  return absl::SimpleAtoi(url.substr(colon + 1, end - colon - 1), &port) ? port : 0;
}

}  // namespace vault_qualtrics
