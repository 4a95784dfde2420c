package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestControlRequiresToken(t *testing.T) {
	ts := startSim(t, nil)
	for _, token := range []string{"", ts.ready.APIToken, "wrong"} {
		status, raw := ts.controlRaw(http.MethodGet, "/state", nil, token)
		if status != http.StatusUnauthorized || !strings.Contains(string(raw), "X-Sim-Control-Token") {
			t.Errorf("token %q: status %d body %s", token, status, raw)
		}
	}
	status, _ := ts.control(http.MethodGet, "/nothing", nil)
	if status != http.StatusNotFound {
		t.Errorf("unknown control call: status %d", status)
	}
	if got := ts.state().Requests; got["other"].Total != 0 {
		t.Errorf("control calls were counted as API requests: %+v", got)
	}
}

func TestControlReset(t *testing.T) {
	ts := startSim(t, nil)
	ts.mustCreate()
	ts.mustControl(http.MethodPost, "/settings", map[string]any{"mtls": true, "max_active": 3})
	ts.mustControl(http.MethodPost, "/clock", map[string]any{"advance": "10h"})
	ts.addFault(map[string]any{"match": "list", "kind": "drop"})
	ts.addFault(map[string]any{"match": "create", "kind": "hold"})
	ts.mustControl(http.MethodPost, "/settings", map[string]any{"mtls": false})
	done := ts.createInBackground(10 * time.Second)
	ts.waitHeld(1)

	ts.mustControl(http.MethodPost, "/reset", nil)
	if status := <-done; status != -1 {
		t.Errorf("held request after reset: status %d, expected a dropped connection", status)
	}
	state := ts.state()
	if state.Organizations["simorg"].SlotsUsed != 0 || len(state.Organizations["simorg"].Certificates) != 0 {
		t.Errorf("certificates survived reset: %+v", state.Organizations["simorg"])
	}
	if state.ClockOffset != "0s" || state.FaultsPending != 0 || state.Held != 0 || state.Requests["create"].Total != 0 {
		t.Errorf("state after reset: %+v", state)
	}
	if state.Settings != ts.server.config.Settings {
		t.Errorf("settings after reset %+v, expected the configured %+v", state.Settings, ts.server.config.Settings)
	}
}

func TestControlSettingsValidation(t *testing.T) {
	ts := startSim(t, nil)
	for _, body := range []map[string]any{
		{"cert_validity": "soon"},
		{"cert_validity": "-1h"},
		{"max_active": 0},
		{"list_page_size": -1},
		{"mtlss": true},
	} {
		if status, _ := ts.control(http.MethodPost, "/settings", body); status != http.StatusBadRequest {
			t.Errorf("settings %v: status %d, expected 400", body, status)
		}
	}
	settings := ts.mustControl(http.MethodGet, "/settings", nil)
	if settings["cert_validity"] != "8760h0m0s" || settings["max_active"] != float64(10) || settings["mtls"] != false {
		t.Errorf("settings changed by rejected updates: %v", settings)
	}
}

func TestControlInsertCertificate(t *testing.T) {
	ts := startSim(t, nil)
	key := newECKey(t)
	inserted := ts.mustControl(http.MethodPost, "/certificates", map[string]any{
		"organization_id": "simorg", "certificate_request": newCSR(t, key), "validity": "1h",
	})
	if _, present := inserted["private_key"]; present {
		t.Error("private_key returned for a certificate made from a given CSR")
	}
	cert := parseCertificatePEM(t, inserted["certificate"].(string))
	if !key.PublicKey.Equal(cert.PublicKey) {
		t.Error("inserted certificate does not carry the CSR's key")
	}
	if until := time.Until(cert.NotAfter); until > time.Hour || until < 59*time.Minute {
		t.Errorf("validity %s, expected 1h", until)
	}
	for _, body := range []map[string]any{
		{"organization_id": "nope"},
		{"organization_id": "simorg", "validity": "0s"},
		{"organization_id": "simorg", "certificate_request": "garbage"},
	} {
		if status, _ := ts.control(http.MethodPost, "/certificates", body); status == http.StatusOK {
			t.Errorf("insert %v succeeded", body)
		}
	}
}

func TestConfigRejectsNonLoopbackListen(t *testing.T) {
	for _, address := range []string{"0.0.0.0:0", "10.1.2.3:8443", ":0", "localhost:0", "example.com:443", "127.0.0.1"} {
		config := DefaultConfig()
		config.Listen = address
		if err := config.Validate(); err == nil {
			t.Errorf("listen address %q was accepted", address)
		}
	}
	for _, address := range []string{"127.0.0.1:0", "[::1]:0", "127.0.0.2:0"} {
		config := DefaultConfig()
		config.Listen = address
		if err := config.Validate(); err != nil {
			t.Errorf("listen address %q was rejected: %v", address, err)
		}
	}
}

func TestParseFlags(t *testing.T) {
	options, err := parseFlags([]string{
		"-org", "a, b", "-api-token", "t1,t2", "-non-admin-token", "", "-oauth-client", "c1:s1,c2:s2:nonadmin",
		"-cert-validity", "24h", "-max-active", "3", "-mtls", "-request-id-format", "counter", "-max-lifetime", "1m",
	}, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	config := options.config
	if strings.Join(config.Organizations, "|") != "a|b" || len(config.APITokens) != 2 || len(config.NonAdminTokens) != 0 {
		t.Errorf("lists parsed as %+v", config)
	}
	if len(config.OAuthClients) != 2 || config.OAuthClients[0].NonAdmin || !config.OAuthClients[1].NonAdmin {
		t.Errorf("OAuth clients %+v", config.OAuthClients)
	}
	if !config.Settings.MTLS || config.Settings.MaxActive != 3 || config.Settings.CertValidity != Duration(24*time.Hour) {
		t.Errorf("settings %+v", config.Settings)
	}
	for _, args := range [][]string{
		{"-listen", "0.0.0.0:0"}, {"-oauth-client", "only-id"}, {"-oauth-client", "a:b:admin"},
		{"-request-id-format", "ulid"}, {"-max-active", "0"}, {"-org", ""}, {"extra"},
	} {
		if _, err := parseFlags(args, &strings.Builder{}); err == nil {
			t.Errorf("flags %v were accepted", args)
		}
	}
}

// The tests below run the command itself: the test binary re-executes itself as main().
const runMainVariable = "QUALTRICS_SIM_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainVariable) == "1" {
		os.Args = append([]string{"qualtrics-sim"}, strings.Fields(os.Getenv(runMainVariable+"_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type runningCommand struct {
	cmd   *exec.Cmd
	stdin interface{ Close() error }
	ready ReadyInfo
	exit  chan error
}

func startCommand(t *testing.T, args string) *runningCommand {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), runMainVariable+"=1", runMainVariable+"_ARGS="+args)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	running := &runningCommand{cmd: cmd, stdin: stdin, exit: make(chan error, 1)}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-running.exit
	})

	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
		running.exit <- cmd.Wait()
	}()
	select {
	case line := <-lines:
		if err := json.Unmarshal([]byte(line), &running.ready); err != nil {
			t.Fatalf("ready line %q is not JSON: %v", line, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no ready line within 10s")
	}
	return running
}

func (rc *runningCommand) waitExit(t *testing.T, what string) {
	t.Helper()
	select {
	case err := <-rc.exit:
		if err != nil {
			t.Errorf("%s: exit %v", what, err)
		}
		rc.exit <- err // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: still running after 5s", what)
	}
}

func TestCommandReadyLineAndStdinExit(t *testing.T) {
	rc := startCommand(t, "-exit-on-stdin-eof")
	ready := rc.ready
	if !strings.HasPrefix(ready.BaseURL, "https://127.0.0.1:") || !strings.HasSuffix(ready.BaseURL, "/API/v3") {
		t.Errorf("base_url %q", ready.BaseURL)
	}
	if ready.TokenURL != strings.TrimSuffix(ready.BaseURL, "/API/v3")+"/oauth2/token" || ready.ControlURL != strings.TrimSuffix(ready.BaseURL, "/API/v3")+"/_sim" {
		t.Errorf("token_url %q control_url %q", ready.TokenURL, ready.ControlURL)
	}
	if ready.OrganizationID != "simorg" || ready.APIToken == "" || ready.ControlToken == "" || ready.PID != rc.cmd.Process.Pid {
		t.Errorf("ready line %+v", ready)
	}
	if _, err := os.Stat(ready.CAFile); err != nil {
		t.Fatalf("ca_file: %v", err)
	}

	// A real call through the CA file, as a client of the command would make it.
	ts := &testSim{t: t, ready: ready}
	caPEM, _ := os.ReadFile(ready.CAFile)
	ts.roots = newPool(t, caPEM)
	if result, _ := ts.create(callOptions{}); result.status != http.StatusOK {
		t.Fatalf("create against the command: status %d", result.status)
	}

	rc.stdin.Close()
	rc.waitExit(t, "after stdin closed")
	if _, err := os.Stat(filepath.Dir(ready.CAFile)); !os.IsNotExist(err) {
		t.Errorf("temporary directory %s left behind: %v", filepath.Dir(ready.CAFile), err)
	}
}

func TestCommandExitsOnSIGTERM(t *testing.T) {
	stateDir := t.TempDir()
	rc := startCommand(t, "-state-dir "+stateDir)
	if rc.ready.CAFile != filepath.Join(stateDir, "ca.pem") {
		t.Errorf("ca_file %q is not in the state directory", rc.ready.CAFile)
	}
	if _, err := os.Stat(filepath.Join(stateDir, "ready.json")); err != nil {
		t.Errorf("ready.json: %v", err)
	}
	if err := rc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rc.waitExit(t, "after SIGTERM")
	if _, err := os.Stat(rc.ready.CAFile); err != nil {
		t.Errorf("ca.pem in the state directory was removed: %v", err)
	}
}

func TestCommandExitsAfterMaxLifetime(t *testing.T) {
	rc := startCommand(t, "-max-lifetime 300ms")
	rc.waitExit(t, "after max lifetime")
}
