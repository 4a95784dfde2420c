package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/vault-plugin-secrets-qualtrics/tests/host/vaulthost"
	"github.com/vault-plugin-secrets-qualtrics/tests/host/vaulthost/hosttest"
)

const mountPath = "qualtrics/"

// errInjected is the error faultStorage returns for each write it is set to fail.
var errInjected = errors.New("injected storage failure")

// faultStorage wraps the mount's storage and fails writes (Put) to keys with a chosen prefix,
// as a Vault storage backend that rejects writes would.
type faultStorage struct {
	inner *logical.InmemStorage

	mu         sync.Mutex
	failPrefix string
	failed     int
}

func (s *faultStorage) List(ctx context.Context, prefix string) ([]string, error) {
	return s.inner.List(ctx, prefix)
}

func (s *faultStorage) Get(ctx context.Context, key string) (*logical.StorageEntry, error) {
	return s.inner.Get(ctx, key)
}

func (s *faultStorage) Put(ctx context.Context, entry *logical.StorageEntry) error {
	s.mu.Lock()
	fail := s.failPrefix != "" && strings.HasPrefix(entry.Key, s.failPrefix)
	if fail {
		s.failed++
	}
	s.mu.Unlock()
	if fail {
		return fmt.Errorf("%w: put %s", errInjected, entry.Key)
	}
	return s.inner.Put(ctx, entry)
}

func (s *faultStorage) Delete(ctx context.Context, key string) error {
	return s.inner.Delete(ctx, key)
}

// failPuts makes every later write to a key starting with prefix fail; "" stops it.
func (s *faultStorage) failPuts(prefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failPrefix = prefix
}

// env is one simulator and one mount of the plugin whose storage outlives plugin restarts.
type env struct {
	t       *testing.T
	sim     *sim
	storage *faultStorage
	logs    *hosttest.LogBuffer
	mount   *vaulthost.Mount
	// external holds ids of certificates created at the simulator outside the mount.
	external map[string]bool
}

// newEnv starts a simulator and the plugin, writes a config for the simulator and a role "app".
func newEnv(t *testing.T, simFlags ...string) *env {
	t.Helper()
	e := &env{
		t:        t,
		sim:      startSim(t, simFlags...),
		storage:  &faultStorage{inner: new(logical.InmemStorage)},
		external: map[string]bool{},
	}
	_, e.logs = hosttest.NewLogger(t)
	e.start()
	e.mustDo(logical.UpdateOperation, "config", map[string]interface{}{
		"base_url":          e.sim.BaseURL,
		"organization_id":   e.sim.OrganizationID,
		"api_token":         e.sim.APIToken,
		"ca_bundle":         e.sim.CAPEM,
		"verify_connection": false,
		"request_timeout":   "20s",
		"max_retries":       3,
	})
	e.mustDo(logical.UpdateOperation, "roles/app", map[string]interface{}{
		"key_type":     "ec",
		"key_bits":     256,
		"common_name":  "app.example.com",
		"revoke_grace": "0s",
	})
	return e
}

// start starts a plugin process on the env's storage, the way Vault mounts it after a restart.
func (e *env) start() {
	e.t.Helper()
	logger := hostLogger(e.logs)
	catalog, err := vaulthost.NewCatalog(vaulthost.CatalogOptions{
		Name:    hosttest.PluginName,
		Command: hosttest.PluginBinary(e.t),
		Env:     []string{"VAULT_QUALTRICS_LOG_LEVEL=debug"},
		Logger:  logger,
	})
	if err != nil {
		e.t.Fatalf("NewCatalog: %v", err)
	}
	e.mount = hosttest.Enable(e.t, catalog, vaulthost.MountOptions{Path: mountPath, Storage: e.storage})
}

// kill sends SIGKILL to the plugin process and waits up to 10 s for it to be gone.
func (e *env) kill() {
	e.t.Helper()
	proc := e.mount.Process()
	if proc == nil || proc.PID == 0 {
		e.t.Fatal("plugin process id unknown")
	}
	if err := syscall.Kill(proc.PID, syscall.SIGKILL); err != nil {
		e.t.Fatalf("kill plugin %d: %v", proc.PID, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !proc.Exited() {
		if time.Now().After(deadline) {
			e.t.Fatalf("plugin %d still running 10s after SIGKILL", proc.PID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// do sends one request to the mount with a 60 s limit.
func (e *env) do(op logical.Operation, path string, data map[string]interface{}) *vaulthost.Result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return e.mount.Do(ctx, op, mountPath+path, data)
}

func (e *env) mustDo(op logical.Operation, path string, data map[string]interface{}) *vaulthost.Result {
	e.t.Helper()
	res := e.do(op, path, data)
	if res.Err != nil || res.Status >= 400 {
		e.t.Fatalf("%s %s: status %d: %v", op, path, res.Status, res.Err)
	}
	return res
}

// rollback sends Vault's periodic rollback operation to the mount.
func (e *env) rollback() {
	e.t.Helper()
	res := e.do(logical.RollbackOperation, "", nil)
	if res.Err != nil {
		e.t.Logf("rollback returned %v", res.Err)
	}
}

// heldIDs returns the ids the mount lists under certs/.
func (e *env) heldIDs() []string {
	e.t.Helper()
	res := e.do(logical.ListOperation, "certs", nil)
	if res.Status == 404 || res.Response == nil {
		return nil
	}
	if res.Err != nil {
		e.t.Fatalf("list certs: %v", res.Err)
	}
	var keys []string
	switch v := res.Response.Data["keys"].(type) {
	case []string:
		keys = v
	case []interface{}:
		for _, k := range v {
			keys = append(keys, fmt.Sprint(k))
		}
	}
	return keys
}

// walCount returns the number of write-ahead entries in storage.
func (e *env) walCount() int {
	keys, err := e.storage.inner.List(context.Background(), "wal/")
	if err != nil {
		e.t.Fatal(err)
	}
	return len(keys)
}

// ageWAL moves the creation time of every write-ahead entry back by d. A restarted engine
// rolls back another instance's entries only once they are old enough (2 minutes by default),
// because that instance may still be waiting for its create. Aging the entries replaces that wait.
func (e *env) ageWAL(d time.Duration) {
	e.t.Helper()
	ctx := context.Background()
	keys, err := e.storage.inner.List(ctx, "wal/")
	if err != nil {
		e.t.Fatal(err)
	}
	for _, key := range keys {
		entry, err := e.storage.inner.Get(ctx, "wal/"+key)
		if err != nil || entry == nil {
			continue
		}
		var record map[string]interface{}
		if err := json.Unmarshal(entry.Value, &record); err != nil {
			e.t.Fatalf("write-ahead entry %s is not JSON: %v", key, err)
		}
		created, _ := record["created_at"].(float64)
		record["created_at"] = int64(created) - int64(d.Seconds())
		value, _ := json.Marshal(record)
		if err := e.storage.inner.Put(ctx, &logical.StorageEntry{Key: "wal/" + key, Value: value}); err != nil {
			e.t.Fatal(err)
		}
	}
}

// converged compares the organization's certificates at the simulator (without the external
// ones) with the mount's records and returns "" when they are equal, else what differs.
func (e *env) converged() string {
	e.t.Helper()
	var active []string
	for _, id := range e.sim.activeIDs(e.t) {
		if !e.external[id] {
			active = append(active, id)
		}
	}
	held := e.heldIDs()
	sort.Strings(active)
	sort.Strings(held)
	if strings.Join(active, ",") == strings.Join(held, ",") {
		return ""
	}
	return fmt.Sprintf("simulator holds %v, mount lists %v", active, held)
}

// counts returns "N at Qualtrics, M records, W write-ahead" for the matrix.
func (e *env) counts() string {
	e.t.Helper()
	n := 0
	for _, id := range e.sim.activeIDs(e.t) {
		if !e.external[id] {
			n++
		}
	}
	return fmt.Sprintf("%d at Qualtrics, %d records, %d write-ahead", n, len(e.heldIDs()), e.walCount())
}

// doAsync starts a request in the background and returns a channel with its result.
func (e *env) doAsync(op logical.Operation, path string, data map[string]interface{}) <-chan *vaulthost.Result {
	out := make(chan *vaulthost.Result, 1)
	mount := e.mount
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out <- mount.Do(ctx, op, mountPath+path, data)
	}()
	return out
}

// waitResult waits up to 30 s for a background request.
func (e *env) waitResult(results <-chan *vaulthost.Result) *vaulthost.Result {
	e.t.Helper()
	select {
	case res := <-results:
		return res
	case <-time.After(30 * time.Second):
		e.t.Fatal("request did not return within 30s")
		return nil
	}
}

// hostLogger returns a debug-level logger that writes host and plugin lines to logs.
func hostLogger(logs *hosttest.LogBuffer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "vault-host", Level: hclog.Debug, Output: logs})
}

func describe(res *vaulthost.Result) string {
	if res.Err != nil {
		msg := res.Err.Error()
		if len(msg) > 90 {
			msg = msg[:90] + "..."
		}
		return fmt.Sprintf("%d (%s)", res.Status, msg)
	}
	return fmt.Sprintf("%d", res.Status)
}
