// A small engine for the plugin's own tests: it stores request data under "kv/<key>", returns
// chosen errors from "fail/<code name>", and records which calls it received.
#ifndef PLUGIN_FAKE_BACKEND_H_
#define PLUGIN_FAKE_BACKEND_H_

#include <atomic>
#include <memory>

#include "backend/logical/logical.h"

namespace vault_qualtrics {

// Counters shared by every instance a factory creates.
struct FakeBackendCalls {
  std::atomic<int> created{0};
  std::atomic<int> initialized{0};
  std::atomic<int> cleaned_up{0};
  // Requests to sleep/<ms> that have started sleeping.
  std::atomic<int> sleeps_started{0};
};

// Paths:
//   kv/<key>   read: {"value": stored}, or no response when absent; create/update: stores
//              data["value"] (a string, else kInvalidArgument naming "value"); delete; list
//              (path "kv/") lists the keys
//   sleep/<ms> any operation sleeps that long, then returns {"slept_ms": ms}
//   fail/<code> any operation fails with that code ("invalid_argument", "permission_denied",
//              "unavailable", "internal", "read_only", "unimplemented")
//   anything else: UnsupportedPathError
// Special paths: root ["root/*"], unauthenticated ["public"].
BackendFactory FakeBackendFactory(std::shared_ptr<FakeBackendCalls> calls);

}  // namespace vault_qualtrics

#endif  // PLUGIN_FAKE_BACKEND_H_
