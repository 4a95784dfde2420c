package realserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The tests below start servers from the shipped files in deploy/, changing only file paths and
// ports, so an operator's configuration is the one being checked.

// shippedDefaults matches the paths and ports of deploy/ configurations that a test must
// replace. Any left after rendering would make the server touch the host's real directories or
// ports.
var shippedDefaults = regexp.MustCompile(`/etc/vault\.d|/var/lib/vault|127\.0\.0\.1:82[0-2][01]\b`)

// renderDeployConfig reads a deploy/ configuration and applies the replacements (old -> new).
func renderDeployConfig(t *testing.T, path string, replacements map[string]string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	var pairs []string
	for old, replacement := range replacements {
		pairs = append(pairs, old, replacement)
	}
	text := strings.NewReplacer(pairs...).Replace(string(data))
	if left := shippedDefaults.FindAllString(text, -1); len(left) > 0 {
		t.Fatalf("%s: no replacement for %v; the test's replacements are out of date", path, left)
	}
	return text
}

// testTLS is a CA and a server certificate for 127.0.0.1 and localhost, as PEM files.
type testTLS struct {
	ca, cert, key string
}

// writeTestTLS creates a CA and a server certificate signed by it under dir.
func writeTestTLS(t *testing.T, dir string) testTLS {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generating the CA key: %v", err)
	}
	now := time.Now()
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "realserver test CA"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("creating the CA certificate: %v", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatalf("parsing the CA certificate: %v", err)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generating the server key: %v", err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatalf("creating the server certificate: %v", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("encoding the server key: %v", err)
	}

	files := testTLS{
		ca:   filepath.Join(dir, "ca.crt"),
		cert: filepath.Join(dir, "vault.crt"),
		key:  filepath.Join(dir, "vault.key"),
	}
	writePEM(t, files.ca, "CERTIFICATE", caDER)
	writePEM(t, files.cert, "CERTIFICATE", der)
	writePEM(t, files.key, "PRIVATE KEY", keyDER)
	return files
}

func writePEM(t *testing.T, path, blockType string, der []byte) {
	t.Helper()
	data := pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("writing %s: %v", path, err)
	}
}

func TestDeploySingleNodeConfig(t *testing.T) {
	bins := requireBinaries(t)
	sim := startSimulator(t, bins)
	dir := t.TempDir()
	server := newVaultServer(t, bins, dir, "vault-1", raftStorage)
	tls := writeTestTLS(t, dir)
	server.useConfig(renderDeployConfig(t, "../../deploy/single-node/vault.hcl", map[string]string{
		"/var/lib/vault/data":        filepath.Join(dir, "data"),
		"/etc/vault.d/tls/vault.crt": tls.cert,
		"/etc/vault.d/tls/vault.key": tls.key,
		"/etc/vault.d/plugins":       server.pluginDir,
		"127.0.0.1:8200":             fmt.Sprintf("127.0.0.1:%d", server.port),
		"127.0.0.1:8201":             fmt.Sprintf("127.0.0.1:%d", server.cluster),
	}), tls.ca)
	server.Start()
	server.Initialize()
	server.WaitActive()
	root := server.root()

	auditLog := filepath.Join(dir, "audit", "audit.log")
	if _, err := root.Logical().Write("sys/audit/file", map[string]any{
		"type":    "file",
		"options": map[string]any{"file_path": auditLog},
	}); err != nil {
		t.Fatalf("enabling the file audit device: %v", err)
	}
	e := &engine{bins: bins, server: server, sim: sim}
	e.register(t, root)
	runRegisterScript(t, e, bins.plugin, mountPath)
	e.configure(t, root)
	loadPolicies(t, root)

	reader := server.client(tokenWithPolicy(t, root, "qualtrics-reader"))
	issued := readCert(t, reader, roleName)
	raw, err := os.ReadFile(auditLog)
	if err != nil {
		t.Fatalf("reading the audit log: %v", err)
	}
	pemLines := strings.Split(strings.TrimSpace(issued.certificate), "\n")
	if body := pemLines[len(pemLines)/2]; strings.Contains(string(raw), body) {
		t.Errorf("audit log contains the issued certificate in clear (line %q)", body)
	}
	if !strings.Contains(string(raw), mountPath+"/cert/"+roleName) {
		t.Errorf("audit log has no entry for %s/cert/%s", mountPath, roleName)
	}
}

func TestDeployHAConfigSurvivesFailover(t *testing.T) {
	bins := requireBinaries(t)
	sim := startSimulator(t, bins)
	shared := t.TempDir()
	tls := writeTestTLS(t, shared)

	nodes := make([]*vaultServer, 3)
	for i := range nodes {
		nodes[i] = newVaultServer(t, bins, t.TempDir(), fmt.Sprintf("vault-%d", i+1), raftStorage)
	}
	for i, node := range nodes {
		replacements := map[string]string{
			fmt.Sprintf("/var/lib/vault/vault-%d", i+1): filepath.Join(node.dir, "data"),
			"/etc/vault.d/tls/vault.crt":                tls.cert,
			"/etc/vault.d/tls/vault.key":                tls.key,
			"/etc/vault.d/tls/ca.crt":                   tls.ca,
			"/etc/vault.d/plugins":                      node.pluginDir,
		}
		// The shipped files use API ports 8200, 8210, 8220 and the next port for the cluster.
		for j, peer := range nodes {
			replacements[fmt.Sprintf("127.0.0.1:%d", 8200+10*j)] = fmt.Sprintf("127.0.0.1:%d", peer.port)
			replacements[fmt.Sprintf("127.0.0.1:%d", 8201+10*j)] = fmt.Sprintf("127.0.0.1:%d", peer.cluster)
		}
		path := fmt.Sprintf("../../deploy/ha/vault-%d.hcl", i+1)
		node.useConfig(renderDeployConfig(t, path, replacements), tls.ca)
	}
	for _, node := range nodes {
		node.Start()
	}
	leader := nodes[0]
	leader.Initialize()
	leader.WaitActive()
	for _, node := range nodes[1:] {
		node.rootToken = leader.rootToken
		unsealJoiningNode(t, node, leader.unsealKey)
	}

	waitForVoters(t, leader, 3)

	e := &engine{bins: bins, server: leader, sim: sim}
	e.register(t, leader.root())
	e.mount(t, leader.root())
	e.configure(t, leader.root())
	loadPolicies(t, leader.root())
	reader := nodes[2].client(tokenWithPolicy(t, leader.root(), "qualtrics-reader"))
	issued := readCertEventually(t, reader, roleName)
	if fromLeader := readCert(t, leader.root(), roleName); fromLeader.serial != issued.serial {
		t.Errorf("leader serial %s differs from the one read through vault-3 %s",
			fromLeader.serial, issued.serial)
	}

	// Failover: the node that takes over runs the plugin from its own plugin directory and
	// serves the stored certificate without issuing a new one.
	creates := sim.createCount(t)
	leader.Stop()
	successor := waitForNewActive(t, nodes[1:])
	afterFailover := readCertEventually(t, successor.root(), roleName)
	if afterFailover.serial != issued.serial {
		t.Errorf("after failover %s serves serial %s, want the stored %s", successor.name,
			afterFailover.serial, issued.serial)
	}
	if got := sim.createCount(t); got != creates {
		t.Errorf("simulator create calls = %d after failover, want %d", got, creates)
	}
	if err := rotate(successor.root(), roleName); err != nil {
		t.Fatalf("rotate on the new active node %s: %v", successor.name, err)
	}
}

// waitForVoters waits until the Raft configuration on leader lists count servers, all voters.
// Vault's autopilot adds a joining node as a non-voter and promotes it only after it has been
// healthy for the server stabilization time (10 s by default). Until then, losing the leader
// leaves no quorum.
func waitForVoters(t *testing.T, leader *vaultServer, count int) {
	t.Helper()
	deadline := time.Now().Add(serverReadyTimeout)
	var servers []any
	for time.Now().Before(deadline) {
		raftConfig, err := leader.root().Logical().Read("sys/storage/raft/configuration")
		if err != nil || raftConfig == nil {
			t.Fatalf("reading the Raft configuration: %v", err)
		}
		config, _ := raftConfig.Data["config"].(map[string]any)
		servers, _ = config["servers"].([]any)
		voters := 0
		for _, raw := range servers {
			server, _ := raw.(map[string]any)
			if voter, _ := server["voter"].(bool); voter {
				voters++
			}
		}
		if len(servers) == count && voters == count {
			return
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("Raft configuration after %v: %v, want %d servers, all voters", serverReadyTimeout,
		servers, count)
}

// waitForNewActive returns the first of nodes that reports itself the unsealed active node,
// failing after serverReadyTimeout.
func waitForNewActive(t *testing.T, nodes []*vaultServer) *vaultServer {
	t.Helper()
	deadline := time.Now().Add(serverReadyTimeout)
	for time.Now().Before(deadline) {
		for _, node := range nodes {
			health, err := node.client("").Sys().Health()
			if err == nil && !health.Sealed && !health.Standby {
				node.WaitActive()
				return node
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("no node became active within %v after the leader stopped", serverReadyTimeout)
	return nil
}

// unsealJoiningNode submits the unseal key to a node that joins through retry_join until it
// reports itself unsealed. The node rejects the key until its join attempt has started.
func unsealJoiningNode(t *testing.T, node *vaultServer, key string) {
	t.Helper()
	deadline := time.Now().Add(serverReadyTimeout)
	var lastErr error
	for time.Now().Before(deadline) {
		status, err := node.client("").Sys().Unseal(key)
		if err == nil && !status.Sealed {
			node.waitHealth(func(h *healthStatus) bool { return !h.Sealed }, "unseal")
			return
		}
		if err == nil {
			health, healthErr := node.client("").Sys().Health()
			if healthErr == nil && !health.Sealed {
				return
			}
		}
		lastErr = err
		time.Sleep(time.Second)
	}
	t.Fatalf("node %s still sealed after %v of unseal attempts (last error %v); log:\n%s",
		node.name, serverReadyTimeout, lastErr, tailFile(node.logPath, 60))
}
