package realserver

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

const (
	// Upper bound for a server to answer sys/health after start, unseal or join.
	serverReadyTimeout = 60 * time.Second
	// Upper bound for a server process to exit after SIGTERM before it is killed. An active
	// Raft node steps down and seals first, which can take many seconds on a loaded machine.
	serverStopTimeout = 45 * time.Second
	// Timeout of every HTTP call the tests make to a server.
	clientTimeout = 90 * time.Second
)

// storageKind selects the server's storage backend.
type storageKind int

const (
	fileStorage storageKind = iota
	raftStorage
)

// vaultServer is one real Vault server process on loopback, with its own data directory,
// plugin directory and log file. It survives Stop and Start, so data can be checked across
// restarts.
type vaultServer struct {
	t          *testing.T
	binary     string
	name       string
	dir        string
	pluginDir  string
	port       int
	cluster    int
	storage    storageKind
	cmd        *exec.Cmd
	exited     chan struct{}
	logPath    string
	rootToken  string
	unsealKey  string
	stopOnce   sync.Once
	configPath string
	// caFile is the PEM CA that signed the API listener's certificate; empty when the listener
	// has TLS off.
	caFile string
}

// freePort returns a TCP port on 127.0.0.1 that was free when checked. Another process may take
// it before the server binds it. The server then fails to start and the test reports its log.
func freePort(t *testing.T) int {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free loopback port: %v", err)
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port
}

// newVaultServer writes the configuration of a server named name under dir and copies the
// plugin binary into its plugin directory. It does not start the server.
func newVaultServer(t *testing.T, bins binaries, dir, name string, storage storageKind) *vaultServer {
	t.Helper()
	s := &vaultServer{
		t:         t,
		binary:    bins.vault,
		name:      name,
		dir:       dir,
		pluginDir: filepath.Join(dir, "plugins"),
		port:      freePort(t),
		cluster:   freePort(t),
		storage:   storage,
		logPath:   filepath.Join(dir, "server.log"),
	}
	for _, sub := range []string{s.pluginDir, filepath.Join(dir, "data"), filepath.Join(dir, "audit")} {
		if err := os.MkdirAll(sub, 0o700); err != nil {
			t.Fatalf("creating %s: %v", sub, err)
		}
	}
	copyFile(t, bins.plugin, filepath.Join(s.pluginDir, pluginName), 0o755)
	s.configPath = filepath.Join(dir, "server.hcl")
	if err := os.WriteFile(s.configPath, []byte(s.config()), 0o600); err != nil {
		t.Fatalf("writing %s: %v", s.configPath, err)
	}
	t.Cleanup(s.Stop)
	return s
}

// config returns the server's HCL configuration. TLS is off on the API listener because every
// client is in this process on loopback; the cluster port always uses Vault's own TLS.
func (s *vaultServer) config() string {
	var storage string
	switch s.storage {
	case raftStorage:
		storage = fmt.Sprintf("storage \"raft\" {\n  path    = %q\n  node_id = %q\n}\n",
			filepath.Join(s.dir, "data"), s.name)
	default:
		storage = fmt.Sprintf("storage \"file\" {\n  path = %q\n}\n", filepath.Join(s.dir, "data"))
	}
	return storage + fmt.Sprintf(`listener "tcp" {
  address         = "127.0.0.1:%d"
  cluster_address = "127.0.0.1:%d"
  tls_disable     = true
}
plugin_directory = %q
api_addr         = "http://127.0.0.1:%d"
cluster_addr     = "https://127.0.0.1:%d"
disable_mlock    = true
log_level        = "debug"
`, s.port, s.cluster, s.pluginDir, s.port, s.cluster)
}

func (s *vaultServer) address() string {
	if s.caFile != "" {
		return fmt.Sprintf("https://127.0.0.1:%d", s.port)
	}
	return fmt.Sprintf("http://127.0.0.1:%d", s.port)
}

// useConfig replaces the generated configuration with text, whose API listener uses TLS with a
// certificate signed by the CA in caFile.
func (s *vaultServer) useConfig(text, caFile string) {
	s.t.Helper()
	s.caFile = caFile
	if err := os.WriteFile(s.configPath, []byte(text), 0o600); err != nil {
		s.t.Fatalf("writing %s: %v", s.configPath, err)
	}
}

// Start runs the server process and waits until its HTTP listener answers sys/health.
func (s *vaultServer) Start() {
	s.t.Helper()
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatalf("opening %s: %v", s.logPath, err)
	}
	cmd := exec.Command(s.binary, "server", "-config="+s.configPath)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// The server must not pick up an operator's VAULT_* settings from the test's environment.
	cmd.Env = filteredEnv("VAULT_")
	if err := cmd.Start(); err != nil {
		logFile.Close()
		s.t.Fatalf("starting %s: %v", s.binary, err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	s.stopOnce = sync.Once{}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(s.exited)
	}()
	s.waitHealth(func(h *healthStatus) bool { return true }, "the HTTP listener to answer")
}

// Stop sends SIGTERM and waits for the process to exit, killing it after serverStopTimeout.
func (s *vaultServer) Stop() {
	if s.cmd == nil {
		return
	}
	s.stopOnce.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(serverStopTimeout):
			_ = s.cmd.Process.Kill()
			<-s.exited
			s.t.Errorf("server %s did not exit within %v of SIGTERM and was killed", s.name,
				serverStopTimeout)
		}
		if s.t.Failed() {
			s.t.Logf("last lines of the %s server log:\n%s", s.name, tailFile(s.logPath, 60))
		}
	})
}

// healthStatus is the part of sys/health the tests look at.
type healthStatus struct {
	Initialized bool `json:"initialized"`
	Sealed      bool `json:"sealed"`
	Standby     bool `json:"standby"`
}

// waitHealth polls sys/health until ready returns true, failing after serverReadyTimeout.
func (s *vaultServer) waitHealth(ready func(*healthStatus) bool, what string) {
	s.t.Helper()
	client := s.client("")
	deadline := time.Now().Add(serverReadyTimeout)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			s.t.Fatalf("server %s exited while waiting for %s; log:\n%s", s.name, what,
				tailFile(s.logPath, 60))
		default:
		}
		resp, err := client.Sys().HealthWithContext(context.Background())
		if err == nil {
			status := &healthStatus{Initialized: resp.Initialized, Sealed: resp.Sealed, Standby: resp.Standby}
			if ready(status) {
				return
			}
			lastErr = fmt.Errorf("health is %+v", *status)
		} else {
			lastErr = err
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.t.Fatalf("server %s: timed out after %v waiting for %s (last: %v); log:\n%s", s.name,
		serverReadyTimeout, what, lastErr, tailFile(s.logPath, 60))
}

// client returns an API client for this server; token may be empty.
func (s *vaultServer) client(token string) *vaultapi.Client {
	s.t.Helper()
	config := vaultapi.DefaultConfig()
	config.Address = s.address()
	config.Timeout = clientTimeout
	config.MaxRetries = 0
	// A standby that could not forward would answer with a redirect to the active node. The
	// tests must see that as a failure, not follow it.
	config.DisableRedirects = true
	config.HttpClient.Transport.(*http.Transport).Proxy = nil
	if s.caFile != "" {
		if err := config.ConfigureTLS(&vaultapi.TLSConfig{CACert: s.caFile}); err != nil {
			s.t.Fatalf("trusting %s: %v", s.caFile, err)
		}
	}
	client, err := vaultapi.NewClient(config)
	if err != nil {
		s.t.Fatalf("creating an API client: %v", err)
	}
	client.SetToken(token)
	return client
}

// root returns an API client with the root token.
func (s *vaultServer) root() *vaultapi.Client { return s.client(s.rootToken) }

// Initialize runs operator init with one Shamir key share and unseals the server.
func (s *vaultServer) Initialize() {
	s.t.Helper()
	resp, err := s.client("").Sys().Init(&vaultapi.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		s.t.Fatalf("operator init on %s: %v", s.name, err)
	}
	s.rootToken = resp.RootToken
	s.unsealKey = resp.Keys[0]
	s.Unseal(s.unsealKey)
}

// Unseal submits the key share and waits until the server reports itself unsealed.
func (s *vaultServer) Unseal(key string) {
	s.t.Helper()
	// A node that has just joined a Raft cluster reports itself sealed until it has answered
	// the leader's challenge and caught up, so only the wait below decides success.
	if _, err := s.client("").Sys().Unseal(key); err != nil {
		s.t.Fatalf("unsealing %s: %v", s.name, err)
	}
	s.waitHealth(func(h *healthStatus) bool { return !h.Sealed }, "unseal")
}

// WaitActive waits until this server is the unsealed active node and answers token lookups.
func (s *vaultServer) WaitActive() {
	s.t.Helper()
	s.waitHealth(func(h *healthStatus) bool { return !h.Sealed && !h.Standby }, "active state")
	deadline := time.Now().Add(serverReadyTimeout)
	for {
		_, err := s.root().Auth().Token().LookupSelf()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("server %s: root token lookup still failing after %v: %v", s.name,
				serverReadyTimeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Seal seals the server with the root token.
func (s *vaultServer) Seal() {
	s.t.Helper()
	if err := s.root().Sys().Seal(); err != nil {
		s.t.Fatalf("sealing %s: %v", s.name, err)
	}
	s.waitHealth(func(h *healthStatus) bool { return h.Sealed }, "seal")
}

// filteredEnv returns the process environment without variables that start with prefix.
func filteredEnv(prefix string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) {
			env = append(env, kv)
		}
	}
	return env
}

// tailFile returns the last n lines of the file at path, or a note saying why it cannot. Lines
// that report a panic are prepended when they fall outside the tail, because the stack trace
// after them can push them out.
func tailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	var panics [][]byte
	if len(lines) > n {
		for _, line := range lines[:len(lines)-n] {
			if bytes.Contains(line, []byte("panic")) {
				panics = append(panics, line)
			}
		}
		lines = lines[len(lines)-n:]
	}
	if len(panics) > 0 {
		lines = append(append(panics, []byte("...")), lines...)
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// copyFile copies src to dst with the given mode.
func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatalf("reading %s: %v", src, err)
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		t.Fatalf("writing %s: %v", dst, err)
	}
}
