package realserver

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// pluginName is the name the plugin is registered under in Vault's catalog, and the file name of
// its binary in the plugin directory.
const pluginName = "vault-plugin-secrets-qualtrics"

// Environment variables that override where the tests find their binaries. Relative defaults are
// resolved against this package's directory, where go test runs.
const (
	envVaultBinary  = "REALSERVER_VAULT_BIN"
	envPluginBinary = "REALSERVER_PLUGIN_BIN"
	envSimBinary    = "REALSERVER_SIM_BIN"

	defaultVaultBinary  = "bin/vault"
	defaultPluginBinary = "../../bazel-bin/plugin/vault-plugin-secrets-qualtrics"
	defaultSimBinary    = "../qualtrics-sim/bin/qualtrics-sim"
)

// Upper bound for the simulator to print its ready line.
const simReadyTimeout = 30 * time.Second

// binaries holds the absolute paths of the three programs every test runs.
type binaries struct {
	vault  string
	plugin string
	sim    string
}

// requireBinaries finds the Vault server, the plugin and the simulator, and fails the test with
// the command that builds whichever one is missing. Nothing is skipped: a missing binary is a
// failure, so a run that tested nothing cannot pass.
func requireBinaries(t *testing.T) binaries {
	t.Helper()
	bins := binaries{
		vault: requireExecutable(t, envVaultBinary, defaultVaultBinary,
			"build it with: tests/realserver/build-vault.sh"),
		plugin: requireExecutable(t, envPluginBinary, defaultPluginBinary,
			"build it with: bazel build //plugin:vault-plugin-secrets-qualtrics"),
		sim: requireExecutable(t, envSimBinary, defaultSimBinary,
			"build it with: go -C tests/qualtrics-sim build -o bin/qualtrics-sim ."),
	}
	requireAlignedSDK(t, bins.vault)
	return bins
}

// requireAlignedSDK fails unless the Vault binary was linked with the sdk copy that
// build-vault.sh prepares. A plain go build links the published sdk v0.9.2, and that server
// panics on its first sys/ request, which would show up as confusing failures far from the cause.
func requireAlignedSDK(t *testing.T, vaultBinary string) {
	t.Helper()
	info, err := buildinfo.ReadFile(vaultBinary)
	if err != nil {
		t.Fatalf("reading the Go build information of %s: %v", vaultBinary, err)
	}
	for _, dep := range info.Deps {
		if dep.Path == "github.com/hashicorp/vault/sdk" {
			if dep.Replace != nil && dep.Replace.Path == "./sdk" {
				return
			}
			break
		}
	}
	t.Fatalf("%s was not built by tests/realserver/build-vault.sh (its sdk is the published "+
		"module, with which Vault 1.14.2 panics on sys/ requests); run "+
		"tests/realserver/build-vault.sh instead of go build", vaultBinary)
}

func requireExecutable(t *testing.T, envName, fallback, howToBuild string) string {
	t.Helper()
	path := os.Getenv(envName)
	if path == "" {
		path = fallback
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatalf("resolving %s: %v", path, err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		t.Fatalf("required binary %s not found (%v); set %s or %s", abs, err, envName, howToBuild)
	}
	if info.IsDir() || info.Mode()&0o111 == 0 {
		t.Fatalf("required binary %s is not an executable file; set %s or %s", abs, envName,
			howToBuild)
	}
	return abs
}

// fileSHA256 returns the lowercase hex SHA-256 of the file at path, as Vault's catalog expects.
func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	defer f.Close()
	hash := sha256.New()
	if _, err := io.Copy(hash, f); err != nil {
		t.Fatalf("hashing %s: %v", path, err)
	}
	return hex.EncodeToString(hash.Sum(nil))
}

// simulator is a running qualtrics-sim process and the fields of its ready line.
type simulator struct {
	BaseURL        string `json:"base_url"`
	TokenURL       string `json:"token_url"`
	CAFile         string `json:"ca_file"`
	ControlURL     string `json:"control_url"`
	ControlToken   string `json:"control_token"`
	OrganizationID string `json:"organization_id"`
	APIToken       string `json:"api_token"`
	PID            int    `json:"pid"`
}

// startSimulator runs the simulator on a free loopback port and stops it when the test ends.
func startSimulator(t *testing.T, bins binaries) *simulator {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "qualtrics-sim.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("creating %s: %v", logPath, err)
	}
	cmd := exec.Command(bins.sim, "-listen", "127.0.0.1:0", "-exit-on-stdin-eof",
		"-max-lifetime", "20m")
	cmd.Stderr = logFile
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("simulator stdin: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("simulator stdout: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bins.sim, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(exited)
	}()
	t.Cleanup(func() {
		// Closing stdin asks the simulator to exit; SIGKILL is the bounded fallback.
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("last lines of the simulator log:\n%s", tailFile(logPath, 30))
		}
	})

	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
		// Keep draining so the simulator never blocks on a full pipe.
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(simReadyTimeout):
		t.Fatalf("simulator printed no ready line within %v; log:\n%s", simReadyTimeout,
			tailFile(logPath, 30))
	}
	sim := &simulator{}
	if err := json.Unmarshal([]byte(line), sim); err != nil {
		t.Fatalf("parsing the simulator ready line %q: %v; log:\n%s", line, err,
			tailFile(logPath, 30))
	}
	if sim.BaseURL == "" || sim.CAFile == "" || sim.APIToken == "" {
		t.Fatalf("simulator ready line lacks base_url, ca_file or api_token: %q", line)
	}
	return sim
}

// caBundle returns the simulator's CA certificate PEM.
func (s *simulator) caBundle(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatalf("reading the simulator CA %s: %v", s.CAFile, err)
	}
	return string(data)
}

// createCount returns how many create calls the simulator has answered with 200.
func (s *simulator) createCount(t *testing.T) int {
	t.Helper()
	var state struct {
		Requests map[string]struct {
			Total    int            `json:"total"`
			ByStatus map[string]int `json:"by_status"`
		} `json:"requests"`
	}
	s.control(t, "GET", "/state", nil, &state)
	return state.Requests["create"].ByStatus["200"]
}

// control calls the simulator's control API and decodes the JSON answer into out (if not nil).
func (s *simulator) control(t *testing.T, method, path string, body, out any) {
	t.Helper()
	if err := simControl(s, method, path, body, out); err != nil {
		t.Fatalf("simulator control %s %s: %v", method, path, err)
	}
}

func (s *simulator) String() string { return fmt.Sprintf("qualtrics-sim at %s", s.BaseURL) }

// simControl sends one control API call over TLS verified against the simulator's own CA.
func simControl(s *simulator, method, path string, body, out any) error {
	caPEM, err := os.ReadFile(s.CAFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("no certificate in %s", s.CAFile)
	}
	client := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:           nil,
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		},
	}
	var reader io.Reader
	if body != nil {
		encoded, err := json.Marshal(body)
		if err != nil {
			return err
		}
		reader = bytes.NewReader(encoded)
	}
	req, err := http.NewRequest(method, s.ControlURL+path, reader)
	if err != nil {
		return err
	}
	req.Header.Set("X-Sim-Control-Token", s.ControlToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %s", resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}
