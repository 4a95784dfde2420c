package protocol

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/helper/consts"
	"github.com/hashicorp/vault/sdk/helper/pluginutil"
	"github.com/hashicorp/vault/sdk/logical"
	bplugin "github.com/hashicorp/vault/sdk/plugin"
	"github.com/hashicorp/vault/sdk/plugin/pb"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vault-plugin-secrets-qualtrics/tests/host/vaulthost"
	"github.com/vault-plugin-secrets-qualtrics/tests/host/vaulthost/hosttest"
)

const (
	testOrgID    = "ORG_1234"
	testBaseURL  = "https://127.0.0.1:8443/API/v3"
	testAPIToken = "token-that-must-not-be-read-back"
)

// configData returns the fields of a config write. verify_connection=false keeps the plugin from
// calling the (absent) Qualtrics endpoint, so these tests need no simulator.
func configData(orgID, baseURL string) map[string]interface{} {
	return map[string]interface{}{
		"organization_id":   orgID,
		"base_url":          baseURL,
		"api_token":         testAPIToken,
		"verify_connection": "false",
	}
}

func writeConfig(t *testing.T, mount *vaulthost.Mount, orgID string) *vaulthost.Result {
	t.Helper()
	return mount.Do(hosttest.Context(t, 30*time.Second), logical.UpdateOperation, mount.Path+"config",
		configData(orgID, testBaseURL))
}

func readConfig(t *testing.T, mount *vaulthost.Mount) map[string]interface{} {
	t.Helper()
	res := mount.Do(hosttest.Context(t, 30*time.Second), logical.ReadOperation, mount.Path+"config", nil)
	if res.Err != nil {
		t.Fatalf("read config: status %d: %v", res.Status, res.Err)
	}
	if res.Response == nil {
		t.Fatalf("read config: status %d with no response", res.Status)
	}
	return res.Response.Data
}

func storageKeys(t *testing.T, storage logical.Storage) []string {
	t.Helper()
	keys, err := logical.CollectKeys(context.Background(), storage)
	if err != nil {
		t.Fatalf("list storage: %v", err)
	}
	return keys
}

// storageContains reports whether any stored value contains needle.
func storageContains(t *testing.T, storage logical.Storage, needle string) bool {
	t.Helper()
	for _, key := range storageKeys(t, storage) {
		entry, err := storage.Get(context.Background(), key)
		if err != nil {
			t.Fatalf("get storage key %q: %v", key, err)
		}
		if entry != nil && strings.Contains(string(entry.Value), needle) {
			return true
		}
	}
	return false
}

func waitExited(t *testing.T, proc *vaulthost.Process, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !proc.Exited() {
		if time.Now().After(deadline) {
			t.Fatalf("plugin process %d still running %v after it was told to stop", proc.PID, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStartedByHandExitsWithMessage(t *testing.T) {
	binary := hosttest.PluginBinary(t)
	ctx := hosttest.Context(t, 20*time.Second)
	cmd := exec.CommandContext(ctx, binary)
	// A shell's environment: no magic cookie and no go-plugin variables.
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + os.TempDir()}
	var stdout, stderr strings.Builder
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()

	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		t.Fatalf("run %s by hand: expected exit status 1, got %v", binary, err)
	}
	if code := exitErr.ExitCode(); code != 1 {
		t.Errorf("exit status = %d, want 1", code)
	}
	if !strings.Contains(strings.ToLower(stderr.String()), "plugin") {
		t.Errorf("stderr does not say the binary is a plugin: %q", stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout is not empty, so a host could mistake it for a handshake: %q", stdout.String())
	}
}

func TestMountHandshakeSetupTypeSpecialPaths(t *testing.T) {
	catalog, _ := hosttest.NewCatalog(t)
	mount := hosttest.Enable(t, catalog, vaulthost.MountOptions{Path: "qualtrics/"})

	proc := mount.Process()
	if proc == nil {
		t.Fatal("mount has no process")
	}
	if v := proc.NegotiatedVersion(); v != 5 {
		t.Errorf("negotiated protocol version = %d, want 5", v)
	}
	if proc.Network != "unix" {
		t.Errorf("plugin listens on %s %s, want a unix socket", proc.Network, proc.Address)
	}
	if _, err := os.Stat(proc.Address); err != nil {
		t.Errorf("plugin socket %s: %v", proc.Address, err)
	}
	if got := mount.Backend.Type(); got != logical.TypeLogical {
		t.Errorf("Type() = %v, want %v", got, logical.TypeLogical)
	}
	// The SDK's SpecialPaths hides RPC errors behind a nil result, which also means "no special
	// paths", so call the RPC through the SDK's generated client to see its error.
	reply, err := pb.NewBackendClient(mount.Client.Conn()).SpecialPaths(hosttest.Context(t, 20*time.Second), &pb.Empty{})
	if err != nil {
		t.Errorf("SpecialPaths RPC: %v", err)
	} else {
		t.Logf("special paths: %v", reply.GetPaths())
	}
	mount.Backend.SpecialPaths()
	// go-plugin's Ping is the gRPC health check of the service "plugin".
	if err := mount.Client.Ping(); err != nil {
		t.Errorf("health check: %v", err)
	}
	// Vault reads the version through logical.PluginVersion/Version and accepts Unimplemented.
	version, err := logical.NewPluginVersionClient(mount.Client.Conn()).Version(hosttest.Context(t, 20*time.Second), &logical.Empty{})
	if err != nil && status.Code(err) != codes.Unimplemented {
		t.Errorf("PluginVersion RPC: %v", err)
	} else {
		t.Logf("plugin version: %q", version.GetPluginVersion())
	}
	if err := mount.Backend.Initialize(hosttest.Context(t, 20*time.Second), &logical.InitializationRequest{Storage: mount.Storage}); err != nil {
		t.Errorf("Initialize: %v", err)
	}
}

func TestConfigWriteThenReadThroughBrokerStorage(t *testing.T) {
	catalog, _ := hosttest.NewCatalog(t)
	mount := hosttest.Enable(t, catalog, vaulthost.MountOptions{Path: "qualtrics/"})

	res := writeConfig(t, mount, testOrgID)
	if res.Err != nil {
		t.Fatalf("write config: status %d: %v", res.Status, res.Err)
	}
	if res.Status != 200 && res.Status != 204 {
		t.Errorf("write config status = %d, want 200 or 204", res.Status)
	}
	if res.Request.Operation != logical.CreateOperation && res.Request.Operation != logical.UpdateOperation {
		t.Errorf("write ran as %q, want create or update", res.Request.Operation)
	}
	if len(storageKeys(t, mount.Storage)) == 0 {
		t.Fatal("storage is empty after writing config: the plugin did not write through the broker")
	}
	if !storageContains(t, mount.Storage, testOrgID) {
		t.Error("no storage entry contains the organization id that was written")
	}

	data := readConfig(t, mount)
	if got := data["organization_id"]; got != testOrgID {
		t.Errorf("organization_id = %v, want %q", got, testOrgID)
	}
	if got := data["base_url"]; got != testBaseURL {
		t.Errorf("base_url = %v, want %q", got, testBaseURL)
	}
	if raw, _ := json.Marshal(data); strings.Contains(string(raw), testAPIToken) {
		t.Errorf("config read returns the write-only API token: %s", raw)
	}

	// A second write finds the entry, so the existence check turns it into an update.
	res = writeConfig(t, mount, testOrgID+"_2")
	if res.Err != nil {
		t.Fatalf("second write config: status %d: %v", res.Status, res.Err)
	}
	if got := readConfig(t, mount)["organization_id"]; got != testOrgID+"_2" {
		t.Errorf("organization_id after update = %v, want %q", got, testOrgID+"_2")
	}
}

func TestConfigHelpAndOpenAPI(t *testing.T) {
	catalog, _ := hosttest.NewCatalog(t)
	mount := hosttest.Enable(t, catalog, vaulthost.MountOptions{Path: "qualtrics/"})

	res := mount.Do(hosttest.Context(t, 30*time.Second), logical.HelpOperation, mount.Path+"config", nil)
	if res.Err != nil {
		t.Fatalf("help config: status %d: %v", res.Status, res.Err)
	}
	if res.Response == nil {
		t.Fatal("help config returned no response")
	}
	help, ok := res.Response.Data["help"].(string)
	if !ok || help == "" {
		t.Fatalf("help response has no help text: %v", res.Response.Data)
	}
	for _, field := range []string{"organization_id", "base_url"} {
		if !strings.Contains(help, field) {
			t.Errorf("help text does not describe %s:\n%s", field, help)
		}
	}

	openapi, ok := res.Response.Data["openapi"]
	if !ok || openapi == nil {
		t.Fatalf("help response has no openapi document: keys %v", keysOf(res.Response.Data))
	}
	doc, ok := openapi.(map[string]interface{})
	if !ok {
		t.Fatalf("openapi is %T, want a JSON object", openapi)
	}
	if _, ok := doc["openapi"].(string); !ok {
		t.Errorf("openapi document has no \"openapi\" version string: keys %v", keysOf(doc))
	}
	paths, ok := doc["paths"].(map[string]interface{})
	if !ok {
		t.Fatalf("openapi document has no paths object: keys %v", keysOf(doc))
	}
	if _, ok := paths["/config"]; !ok {
		t.Errorf("openapi paths have no /config: keys %v", keysOf(paths))
	}
	// Request fields may sit in the path or in components/schemas that the path refers to.
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatalf("encode openapi: %v", err)
	}
	if !strings.Contains(string(raw), "organization_id") {
		t.Errorf("openapi document does not describe organization_id: %s", raw)
	}
}

func keysOf(m map[string]interface{}) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

func TestUnknownPathIsUnsupported(t *testing.T) {
	catalog, _ := hosttest.NewCatalog(t)
	mount := hosttest.Enable(t, catalog, vaulthost.MountOptions{Path: "qualtrics/"})

	for _, op := range []logical.Operation{logical.ReadOperation, logical.UpdateOperation} {
		res := mount.Do(hosttest.Context(t, 30*time.Second), op, mount.Path+"no/such/path", map[string]interface{}{})
		if !errors.Is(res.Err, logical.ErrUnsupportedPath) {
			t.Errorf("%s on an unknown path: error = %v, want logical.ErrUnsupportedPath", op, res.Err)
		}
		if res.Status != 404 {
			t.Errorf("%s on an unknown path: status = %d, want 404", op, res.Status)
		}
	}
}

func TestMalformedFieldIsBadRequestNamingField(t *testing.T) {
	catalog, _ := hosttest.NewCatalog(t)
	mount := hosttest.Enable(t, catalog, vaulthost.MountOptions{Path: "qualtrics/"})

	res := mount.Do(hosttest.Context(t, 30*time.Second), logical.UpdateOperation, mount.Path+"config",
		configData(testOrgID, "not a url"))
	if res.Err == nil {
		t.Fatalf("write config with a malformed base_url succeeded with status %d", res.Status)
	}
	if res.Status < 400 || res.Status > 499 {
		t.Errorf("status = %d, want a 4xx code", res.Status)
	}
	if !strings.Contains(res.Err.Error(), "base_url") {
		t.Errorf("error does not name the field base_url: %v", res.Err)
	}
	if storageContains(t, mount.Storage, "not a url") {
		t.Error("the rejected value was stored")
	}
}

func TestOldProtocolVersionsRejected(t *testing.T) {
	catalog, logs := hosttest.NewCatalog(t)
	ctx := hosttest.Context(t, 30*time.Second)

	// Vault's fallback path for plugins built before protocol 5: it offers versions 3 and 4
	// only (PLUGIN_PROTOCOL_VERSIONS=3,4 or 4,3).
	started := time.Now()
	backend, err := bplugin.NewPluginClient(ctx, catalog, catalog.Runner(), catalog.Logger(), true)
	if err == nil {
		// The SDK's v4 client waits in Cleanup until Setup ran, so run both before stopping.
		go func() {
			_ = backend.Setup(ctx, &logical.BackendConfig{})
			backend.Cleanup(ctx)
		}()
		t.Fatal("plugin accepted a host that offers only protocol versions 3 and 4")
	}
	if elapsed := time.Since(started); elapsed > 20*time.Second {
		t.Errorf("rejection took %v; the plugin should exit at once", elapsed)
	}
	// go-plugin copies the plugin's stderr into the log from a goroutine of its own, which may
	// still run after the start failed.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "version") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "version") {
		t.Errorf("plugin logged no message about protocol versions; host error: %v", err)
	}
}

func TestTwoMountsShareOneMultiplexedProcess(t *testing.T) {
	catalog, _ := hosttest.NewCatalog(t)
	first := hosttest.Enable(t, catalog, vaulthost.MountOptions{Path: "qualtrics-a/"})
	second := hosttest.Enable(t, catalog, vaulthost.MountOptions{Path: "qualtrics-b/"})

	if !first.Process().Multiplexed {
		t.Fatal("plugin returned false from MultiplexingSupport")
	}
	if first.Process() != second.Process() || first.Process().PID != second.Process().PID {
		t.Fatalf("mounts run in different processes (pids %d and %d)", first.Process().PID, second.Process().PID)
	}
	if first.Client.MultiplexID() == second.Client.MultiplexID() {
		t.Fatal("both mounts use the same multiplex_id")
	}

	const orgA, orgB = "ORG_AAAA", "ORG_BBBB"
	if res := writeConfig(t, first, orgA); res.Err != nil {
		t.Fatalf("write config on %s: %v", first.Path, res.Err)
	}
	if res := writeConfig(t, second, orgB); res.Err != nil {
		t.Fatalf("write config on %s: %v", second.Path, res.Err)
	}
	if got := readConfig(t, first)["organization_id"]; got != orgA {
		t.Errorf("%s organization_id = %v, want %q", first.Path, got, orgA)
	}
	if got := readConfig(t, second)["organization_id"]; got != orgB {
		t.Errorf("%s organization_id = %v, want %q", second.Path, got, orgB)
	}
	if !storageContains(t, first.Storage, orgA) || storageContains(t, first.Storage, orgB) {
		t.Errorf("storage of %s does not hold exactly its own config", first.Path)
	}
	if !storageContains(t, second.Storage, orgB) || storageContains(t, second.Storage, orgA) {
		t.Errorf("storage of %s does not hold exactly its own config", second.Path)
	}

	// Disabling one mount leaves the process serving the other.
	first.Disable(hosttest.Context(t, 30*time.Second))
	if second.Process().Exited() {
		t.Fatal("process exited when only one of its two mounts was disabled")
	}
	if got := readConfig(t, second)["organization_id"]; got != orgB {
		t.Errorf("%s organization_id after disabling %s = %v, want %q", second.Path, first.Path, got, orgB)
	}
	second.Disable(hosttest.Context(t, 30*time.Second))
	waitExited(t, second.Process(), 10*time.Second)
}

func TestTypeDetectionWithEmptyConfig(t *testing.T) {
	catalog, _ := hosttest.NewCatalog(t)
	ctx := hosttest.Context(t, 30*time.Second)

	// The steps Vault's plugin catalog takes at registration to find a plugin's type: a v5
	// client, Setup with an empty BackendConfig (no storage, no system view), Type, Cleanup.
	pc, err := catalog.NewPluginClient(ctx, pluginutil.PluginClientConfig{
		Name:            hosttest.PluginName,
		PluginSets:      bplugin.PluginSet,
		PluginType:      consts.PluginTypeUnknown,
		HandshakeConfig: bplugin.HandshakeConfig,
		Logger:          catalog.Logger(),
		AutoMTLS:        true,
	})
	if err != nil {
		t.Fatalf("start plugin: %v", err)
	}
	proc := pc.(*vaulthost.MountClient).Process()
	backend, err := bplugin.Dispense(pc, pc)
	if err != nil {
		pc.Close()
		t.Fatalf("dispense backend: %v", err)
	}
	if err := backend.Setup(ctx, &logical.BackendConfig{}); err != nil {
		backend.Cleanup(ctx)
		t.Fatalf("Setup with an empty config: %v", err)
	}
	if got := backend.Type(); got != logical.TypeLogical {
		t.Errorf("Type() = %v, want %v", got, logical.TypeLogical)
	}
	backend.Cleanup(ctx)
	waitExited(t, proc, 10*time.Second)
}

func TestShutdownStopsProcessAndRemovesSocket(t *testing.T) {
	catalog, logs := hosttest.NewCatalog(t)
	mount := hosttest.Enable(t, catalog, vaulthost.MountOptions{Path: "qualtrics/"})
	proc := mount.Process()
	socket := proc.Address

	// Disable runs Cleanup, then go-plugin's Kill calls the controller's Shutdown and waits.
	mount.Disable(hosttest.Context(t, 30*time.Second))
	waitExited(t, proc, 10*time.Second)

	if strings.Contains(logs.String(), "plugin failed to exit gracefully") {
		t.Error("go-plugin had to kill the process: it did not exit after the controller's Shutdown")
	}
	if err := syscall.Kill(proc.PID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process %d still exists after shutdown (kill -0: %v)", proc.PID, err)
	}
	if _, err := os.Stat(socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket %s left behind after shutdown (stat: %v)", socket, err)
	}
}

// blockingStorage, once armed, holds every Get and Put until release is closed and signals
// entered on the first, so a test can act while the plugin waits inside a request.
type blockingStorage struct {
	logical.Storage
	armed       atomic.Bool
	entered     chan struct{}
	enteredOnce sync.Once
	release     chan struct{}
}

func (s *blockingStorage) wait(ctx context.Context) error {
	if !s.armed.Load() {
		return nil
	}
	s.enteredOnce.Do(func() { close(s.entered) })
	select {
	case <-s.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *blockingStorage) Get(ctx context.Context, key string) (*logical.StorageEntry, error) {
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	return s.Storage.Get(ctx, key)
}

func (s *blockingStorage) Put(ctx context.Context, entry *logical.StorageEntry) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.Storage.Put(ctx, entry)
}

func TestPluginKilledMidRequestReturnsError(t *testing.T) {
	catalog, _ := hosttest.NewCatalog(t)
	storage := &blockingStorage{
		Storage: new(logical.InmemStorage),
		entered: make(chan struct{}),
		release: make(chan struct{}),
	}
	defer close(storage.release)
	mount := hosttest.Enable(t, catalog, vaulthost.MountOptions{Path: "qualtrics/", Storage: storage})
	proc := mount.Process()
	storage.armed.Store(true)

	const requestTimeout = 30 * time.Second
	done := make(chan *vaulthost.Result, 1)
	started := time.Now()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
		defer cancel()
		done <- mount.Do(ctx, logical.UpdateOperation, mount.Path+"config", configData(testOrgID, testBaseURL))
	}()

	select {
	case <-storage.entered:
	case res := <-done:
		t.Fatalf("request finished without touching storage: status %d, err %v", res.Status, res.Err)
	case <-time.After(requestTimeout):
		t.Fatal("the plugin never called storage while handling the config write")
	}
	if err := syscall.Kill(proc.PID, syscall.SIGKILL); err != nil {
		t.Fatalf("kill plugin %d: %v", proc.PID, err)
	}

	select {
	case res := <-done:
		if res.Err == nil {
			t.Errorf("request to a killed plugin succeeded with status %d", res.Status)
		}
		if elapsed := time.Since(started); elapsed >= requestTimeout {
			t.Errorf("request returned only at its deadline (%v), not when the plugin died", elapsed)
		}
	case <-time.After(requestTimeout + 10*time.Second):
		t.Fatal("request to a killed plugin did not return: the caller hangs")
	}
	waitExited(t, proc, 10*time.Second)

	// Later requests on the dead mount fail at once instead of hanging.
	ctx := hosttest.Context(t, 10*time.Second)
	if res := mount.Do(ctx, logical.ReadOperation, mount.Path+"config", nil); res.Err == nil {
		t.Errorf("read on a mount whose plugin died succeeded with status %d", res.Status)
	}
}
