// Package hosttest has helpers for Go tests that drive the plugin binary through vaulthost.
package hosttest

import (
	"bytes"
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/vault-plugin-secrets-qualtrics/tests/host/vaulthost"
)

// PluginBinaryEnv names the environment variable that holds the path of the built plugin.
const PluginBinaryEnv = "PLUGIN_BINARY"

// PluginName is the catalog name tests register the plugin under.
const PluginName = "qualtrics"

// PluginBinary returns the plugin path from PLUGIN_BINARY and fails the test when it is unset or
// does not name an executable file. Tests never build the plugin themselves.
func PluginBinary(t testing.TB) string {
	t.Helper()
	path := os.Getenv(PluginBinaryEnv)
	if path == "" {
		t.Fatalf("%s is not set: build the plugin (bazel build //plugin:vault-plugin-secrets-qualtrics) "+
			"and set %s to bazel-bin/plugin/vault-plugin-secrets-qualtrics", PluginBinaryEnv, PluginBinaryEnv)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("%s=%q: %v", PluginBinaryEnv, path, err)
	}
	if info.IsDir() || info.Mode()&0o111 == 0 {
		t.Fatalf("%s=%q is not an executable file (mode %v)", PluginBinaryEnv, path, info.Mode())
	}
	return path
}

// LogBuffer collects host and plugin log lines in memory; it is safe for concurrent use.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything logged so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// NewLogger returns a debug-level logger writing to a new LogBuffer, whose content is printed
// when the test fails.
func NewLogger(t testing.TB) (hclog.Logger, *LogBuffer) {
	t.Helper()
	logs := &LogBuffer{}
	logger := hclog.New(&hclog.LoggerOptions{Name: "vault-host", Level: hclog.Debug, Output: logs})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("host and plugin log:\n%s", logs.String())
		}
	})
	return logger, logs
}

// NewCatalog registers the plugin from PLUGIN_BINARY in a new catalog that logs to logs.
func NewCatalog(t testing.TB) (*vaulthost.Catalog, *LogBuffer) {
	t.Helper()
	logger, logs := NewLogger(t)
	catalog, err := vaulthost.NewCatalog(vaulthost.CatalogOptions{
		Name:    PluginName,
		Command: PluginBinary(t),
		Logger:  logger,
	})
	if err != nil {
		t.Fatalf("NewCatalog: %v", err)
	}
	return catalog, logs
}

// Enable mounts the plugin and disables the mount when the test ends.
func Enable(t testing.TB, catalog *vaulthost.Catalog, opts vaulthost.MountOptions) *vaulthost.Mount {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	mount, err := catalog.Enable(ctx, opts)
	if err != nil {
		t.Fatalf("enable plugin at %q: %v", opts.Path, err)
	}
	t.Cleanup(func() {
		if p := mount.Process(); p != nil && p.Exited() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		mount.Disable(ctx)
	})
	return mount
}

// Context returns a context that ends after d or when the test ends.
func Context(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
