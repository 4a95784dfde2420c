package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/hashicorp/go-plugin"
	bplugin "github.com/hashicorp/vault/sdk/plugin"
)

// execStarter times a plugin binary from exec to its handshake line with none of the host's own
// start-up work. go-plugin checks the binary's SHA-256 and generates a host key on every start,
// and the checksum takes longer for larger binaries. The starter sets the environment that
// go-plugin and the Vault SDK set for an AutoMTLS start, with a client certificate made once.
type execStarter struct {
	clientCertPEM string
}

func newExecStarter() (*execStarter, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		IsCA:         true,

		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return &execStarter{clientCertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}, nil
}

// startAlone starts binary, waits for its first stdout line, which must begin with firstLine,
// and kills it. It records in s the time from the start to that line (exec_handshake_ms) and the
// process's memory at that line (rss_handshake_mib, anon_handshake_mib).
func (e *execStarter) startAlone(binary, firstLine string, s sample) error {
	socketDir, err := os.MkdirTemp("", "bench-exec-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(socketDir)
	cmd := exec.Command(binary)
	cmd.Env = append(os.Environ(),
		bplugin.HandshakeConfig.MagicCookieKey+"="+bplugin.HandshakeConfig.MagicCookieValue,
		"PLUGIN_PROTOCOL_VERSIONS=5",
		"PLUGIN_MIN_PORT=10000",
		"PLUGIN_MAX_PORT=25000",
		"PLUGIN_CLIENT_CERT="+e.clientCertPEM,
		plugin.EnvUnixSocketDir+"="+socketDir,
		"VAULT_PLUGIN_AUTOMTLS_ENABLED=true",
		"VAULT_PLUGIN_METADATA_MODE=false",
		"VAULT_VERSION=1.21.0",
	)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}

	started := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
	}()

	select {
	case line := <-lines:
		elapsed := time.Since(started)
		if !strings.HasPrefix(line, firstLine) {
			return fmt.Errorf("%s printed %q, expected a line starting with %q", binary, line, firstLine)
		}
		s["exec_handshake_ms"] = ms(elapsed)
		return recordMemory(cmd.Process.Pid, "handshake", s)
	case <-time.After(time.Minute):
		return fmt.Errorf("%s printed no line within a minute", binary)
	}
}
