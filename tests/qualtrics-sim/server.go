package main

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// ReadyInfo is the ready line printed on stdout once the simulator accepts connections.
type ReadyInfo struct {
	BaseURL           string   `json:"base_url"`
	TokenURL          string   `json:"token_url"`
	CAFile            string   `json:"ca_file"`
	ControlURL        string   `json:"control_url"`
	ControlToken      string   `json:"control_token"`
	OrganizationID    string   `json:"organization_id"`
	OrganizationIDs   []string `json:"organization_ids"`
	APIToken          string   `json:"api_token"`
	NonAdminToken     string   `json:"non_admin_token"`
	OAuthClientID     string   `json:"oauth_client_id"`
	OAuthClientSecret string   `json:"oauth_client_secret"`
	PID               int      `json:"pid"`
}

// certRecord is one certificate the simulator issued or had inserted.
type certRecord struct {
	id           string
	organization string
	cert         *x509.Certificate
	pem          string
	fingerprint  string
	createdAt    time.Time
	deletedAt    *time.Time
}

// bearerToken is an OAuth access token issued by the token endpoint.
type bearerToken struct {
	client    OAuthClient
	expiresAt time.Time
}

// endpointCounter counts requests to one endpoint.
type endpointCounter struct {
	Total    int            `json:"total"`
	ByStatus map[string]int `json:"by_status"`
}

// Endpoint names, used by counters and fault rules.
const (
	endpointCreate = "create"
	endpointList   = "list"
	endpointDelete = "delete"
	endpointToken  = "token"
	endpointOther  = "other"
)

var endpointNames = []string{endpointCreate, endpointList, endpointDelete, endpointToken, endpointOther}

// maxBodyBytes caps every request body the simulator reads.
const maxBodyBytes = 64 << 10

// Server is a running simulator. All mutable state is guarded by mu.
type Server struct {
	config    Config
	logger    *log.Logger
	authority *authority
	dir       string
	ownsDir   bool
	ready     ReadyInfo
	baseURL   string
	http      *http.Server
	failed    chan error
	closeOnce sync.Once
	closing   chan struct{}

	mu             sync.Mutex
	settings       Settings
	clockOffset    time.Duration
	certsByOrg     map[string][]*certRecord
	certsByID      map[string]*certRecord
	certsByDERHash map[string]*certRecord
	tokens         map[string]*bearerToken
	tokensIssued   int
	counters       map[string]*endpointCounter
	requestCounter int
	faults         []*faultRule
	nextFaultID    int
	held           map[int]*heldRequest
	nextHeldID     int
	heldChanged    chan struct{}
}

// NewServer creates the CA and server certificate, starts listening and serving, and returns
// the running server. Close stops it.
func NewServer(config Config) (*Server, error) {
	if err := config.Validate(); err != nil {
		return nil, err
	}
	if config.Logger == nil {
		config.Logger = log.New(io.Discard, "", 0)
	}
	if config.ControlToken == "" {
		token, err := randomHex(24)
		if err != nil {
			return nil, err
		}
		config.ControlToken = token
	}

	s := &Server{
		config:  config,
		logger:  config.Logger,
		failed:  make(chan error, 1),
		closing: make(chan struct{}),
	}
	s.resetStateLocked()

	var err error
	if s.authority, err = newAuthority(); err != nil {
		return nil, err
	}
	serverCert, err := s.authority.serverCertificate()
	if err != nil {
		return nil, err
	}
	if err := s.prepareDir(); err != nil {
		return nil, err
	}
	caFile := filepath.Join(s.dir, "ca.pem")
	if err := os.WriteFile(caFile, s.authority.certPEM, 0o644); err != nil {
		s.removeDir()
		return nil, fmt.Errorf("write %s: %w", caFile, err)
	}

	listener, err := net.Listen("tcp", config.Listen)
	if err != nil {
		s.removeDir()
		return nil, fmt.Errorf("listen on %s: %w", config.Listen, err)
	}
	tlsConfig := &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		// The handshake asks for a client certificate but never rejects one, so that mTLS
		// failures reach the handler and come back as Qualtrics JSON errors.
		ClientAuth: tls.RequestClientCert,
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
	}
	s.http = &http.Server{
		Handler:           s,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		// An empty map disables HTTP/2, because faults hijack and close HTTP/1.1 connections.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:     log.New(io.Discard, "", 0),
	}

	hostPort := listener.Addr().(*net.TCPAddr)
	origin := "https://" + net.JoinHostPort(hostPort.IP.String(), fmt.Sprint(hostPort.Port))
	s.baseURL = origin + "/API/v3"
	s.ready = ReadyInfo{
		BaseURL:         s.baseURL,
		TokenURL:        origin + "/oauth2/token",
		CAFile:          caFile,
		ControlURL:      origin + "/_sim",
		ControlToken:    config.ControlToken,
		OrganizationID:  config.Organizations[0],
		OrganizationIDs: config.Organizations,
		APIToken:        firstOrEmpty(config.APITokens),
		NonAdminToken:   firstOrEmpty(config.NonAdminTokens),
		PID:             os.Getpid(),
	}
	if len(config.OAuthClients) > 0 {
		s.ready.OAuthClientID = config.OAuthClients[0].ID
		s.ready.OAuthClientSecret = config.OAuthClients[0].Secret
	}
	if !s.ownsDir {
		line, _ := json.Marshal(s.ready)
		if err := os.WriteFile(filepath.Join(s.dir, "ready.json"), append(line, '\n'), 0o600); err != nil {
			listener.Close()
			return nil, fmt.Errorf("write ready.json: %w", err)
		}
	}

	go func() {
		err := s.http.Serve(tls.NewListener(listener, tlsConfig))
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.failed <- err
		}
	}()
	return s, nil
}

func (s *Server) prepareDir() error {
	if s.config.StateDir != "" {
		if err := os.MkdirAll(s.config.StateDir, 0o700); err != nil {
			return fmt.Errorf("create state directory: %w", err)
		}
		s.dir = s.config.StateDir
		return nil
	}
	dir, err := os.MkdirTemp("", "qualtrics-sim-")
	if err != nil {
		return fmt.Errorf("create temporary directory: %w", err)
	}
	s.dir = dir
	s.ownsDir = true
	return nil
}

func (s *Server) removeDir() {
	if s.ownsDir {
		os.RemoveAll(s.dir)
	}
}

// Ready returns the fields of the ready line.
func (s *Server) Ready() ReadyInfo { return s.ready }

// Dir returns the directory that holds ca.pem.
func (s *Server) Dir() string { return s.dir }

// CAPEM returns the CA certificate in PEM.
func (s *Server) CAPEM() []byte { return s.authority.certPEM }

// Failed delivers an error if the HTTP server stops on its own.
func (s *Server) Failed() <-chan error { return s.failed }

// Close drops held requests, closes the listener and every connection, and removes the
// temporary directory.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.mu.Lock()
		s.releaseAllLocked(releaseDrop)
		s.mu.Unlock()
		s.http.Close()
		s.removeDir()
	})
}

// resetStateLocked returns every piece of run-time state to its start value. Held requests
// must be released before.
func (s *Server) resetStateLocked() {
	s.settings = s.config.Settings
	s.clockOffset = 0
	s.certsByOrg = make(map[string][]*certRecord)
	s.certsByID = make(map[string]*certRecord)
	s.certsByDERHash = make(map[string]*certRecord)
	s.tokens = make(map[string]*bearerToken)
	s.tokensIssued = 0
	s.counters = make(map[string]*endpointCounter)
	for _, name := range endpointNames {
		s.counters[name] = &endpointCounter{ByStatus: map[string]int{}}
	}
	s.faults = nil
	if s.held == nil {
		s.held = make(map[int]*heldRequest)
	}
	if s.heldChanged == nil {
		s.heldChanged = make(chan struct{})
	}
}

// nowLocked returns the simulated time: the real time plus the clock offset.
func (s *Server) nowLocked() time.Time {
	return time.Now().Add(s.clockOffset).UTC()
}

func (s *Server) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Server) countRequest(endpoint string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counters[endpoint].Total++
}

func (s *Server) countOutcome(endpoint, outcome string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counters[endpoint].ByStatus[outcome]++
}

// newRequestID returns the next meta.requestId in the configured format.
func (s *Server) newRequestID() string {
	s.mu.Lock()
	s.requestCounter++
	n := s.requestCounter
	s.mu.Unlock()
	if s.config.RequestIDFormat == "counter" {
		return fmt.Sprintf("sim-%06d", n)
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Sprintf("sim-%06d", n)
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ServeHTTP routes control calls to the control API and everything else to the simulated API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_sim" || strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.serveControl(w, r)
		return
	}
	s.serveAPI(w, r)
}

func firstOrEmpty(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return values[0]
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	return hex.EncodeToString(b), nil
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newCertificateIDLocked returns an unused certificate id: "CC_" and 15 letters or digits.
func (s *Server) newCertificateIDLocked() (string, error) {
	for {
		b := make([]byte, 15)
		if _, err := rand.Read(b); err != nil {
			return "", fmt.Errorf("read random bytes: %w", err)
		}
		for i := range b {
			// 256 is not a multiple of 62, so the first letters are slightly more likely, which
			// does not matter for an identifier.
			b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
		}
		id := "CC_" + string(b)
		if _, taken := s.certsByID[id]; !taken {
			return id, nil
		}
	}
}
