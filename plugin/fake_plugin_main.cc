// The plugin process around the test engine of fake_backend.h, for process-level tests that
// must not depend on the Qualtrics engine.
#include <memory>

#include "plugin/fake_backend.h"
#include "plugin/serve.h"

int main(int argc, char** argv) {
  return vault_qualtrics::ServePlugin(
      argc, argv,
      vault_qualtrics::FakeBackendFactory(std::make_shared<vault_qualtrics::FakeBackendCalls>()),
      "v0.0.0-test");
}
