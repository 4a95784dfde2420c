package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"time"
)

// maxHeldWait bounds how long GET /_sim/held waits.
const maxHeldWait = 30 * time.Second

// serveControl handles the control API under /_sim. It is for tests only and needs the
// X-Sim-Control-Token header, so the API tokens of the simulated service cannot reach it.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	token := r.Header.Get("X-Sim-Control-Token")
	if subtle.ConstantTimeCompare([]byte(token), []byte(s.config.ControlToken)) != 1 {
		s.writeControlError(w, http.StatusUnauthorized, "missing or invalid X-Sim-Control-Token header")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil || len(body) > maxBodyBytes {
		s.writeControlError(w, http.StatusBadRequest, "failed to read the request body or it is over 64 KiB")
		return
	}

	key := r.Method + " " + r.URL.Path
	switch key {
	case "GET /_sim/state":
		writeControlJSON(w, http.StatusOK, s.stateSnapshot())
	case "POST /_sim/reset":
		s.mu.Lock()
		s.releaseAllLocked(releaseDrop)
		s.resetStateLocked()
		s.mu.Unlock()
		s.logger.Printf("state reset")
		writeControlJSON(w, http.StatusOK, map[string]any{"reset": true})
	case "GET /_sim/settings":
		writeControlJSON(w, http.StatusOK, s.currentSettings())
	case "POST /_sim/settings":
		s.updateSettings(w, body)
	case "POST /_sim/clock":
		s.moveClock(w, body)
	case "POST /_sim/tokens/expire":
		s.mu.Lock()
		expired := 0
		for _, token := range s.tokens {
			if token.expiresAt.After(s.nowLocked()) {
				token.expiresAt = s.nowLocked()
				expired++
			}
		}
		s.mu.Unlock()
		writeControlJSON(w, http.StatusOK, map[string]any{"expired": expired})
	case "POST /_sim/certificates":
		s.insertCertificate(w, body)
	case "POST /_sim/faults":
		s.addFaults(w, body)
	case "GET /_sim/faults":
		s.mu.Lock()
		rules := make([]faultRule, 0, len(s.faults))
		for _, rule := range s.faults {
			rules = append(rules, *rule)
		}
		s.mu.Unlock()
		writeControlJSON(w, http.StatusOK, map[string]any{"rules": rules})
	case "DELETE /_sim/faults":
		s.mu.Lock()
		cleared := len(s.faults)
		s.faults = nil
		s.mu.Unlock()
		writeControlJSON(w, http.StatusOK, map[string]any{"cleared": cleared})
	case "GET /_sim/held":
		s.listHeld(w, r)
	case "POST /_sim/release":
		s.release(w, body)
	default:
		s.writeControlError(w, http.StatusNotFound, fmt.Sprintf("no control call %s", key))
	}
}

func writeControlJSON(w http.ResponseWriter, status int, value any) {
	body, err := json.Marshal(value)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"failed to encode the response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// writeControlError logs a failed control call and returns the message to the test.
func (s *Server) writeControlError(w http.ResponseWriter, status int, message string) {
	s.logger.Printf("control call failed with status %d: %s", status, message)
	writeControlJSON(w, status, map[string]string{"error": message})
}

// certificateState is one certificate in GET /_sim/state.
type certificateState struct {
	ID          string     `json:"id"`
	Serial      string     `json:"serial"`
	Fingerprint string     `json:"fingerprint"`
	Subject     string     `json:"subject"`
	CreatedAt   time.Time  `json:"created_at"`
	NotBefore   time.Time  `json:"not_before"`
	ExpiresAt   time.Time  `json:"expires_at"`
	DeletedAt   *time.Time `json:"deleted_at"`
	State       string     `json:"state"`
}

type organizationState struct {
	SlotsUsed    int                `json:"slots_used"`
	Certificates []certificateState `json:"certificates"`
}

type stateSnapshot struct {
	Now           time.Time                    `json:"now"`
	ClockOffset   string                       `json:"clock_offset"`
	Settings      Settings                     `json:"settings"`
	Organizations map[string]organizationState `json:"organizations"`
	Requests      map[string]endpointCounter   `json:"requests"`
	TokensIssued  int                          `json:"tokens_issued"`
	Held          int                          `json:"held"`
	FaultsPending int                          `json:"faults_pending"`
}

func (s *Server) stateSnapshot() stateSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	snapshot := stateSnapshot{
		Now:           now,
		ClockOffset:   s.clockOffset.String(),
		Settings:      s.settings,
		Organizations: map[string]organizationState{},
		Requests:      map[string]endpointCounter{},
		TokensIssued:  s.tokensIssued,
		Held:          len(s.held),
		FaultsPending: len(s.faults),
	}
	for _, org := range s.config.Organizations {
		state := organizationState{SlotsUsed: s.slotsUsedLocked(org), Certificates: []certificateState{}}
		for _, record := range s.certsByOrg[org] {
			status := "active"
			switch {
			case record.deletedAt != nil:
				status = "deleted"
			case now.After(record.cert.NotAfter):
				status = "expired"
			}
			state.Certificates = append(state.Certificates, certificateState{
				ID:          record.id,
				Serial:      record.cert.SerialNumber.Text(16),
				Fingerprint: record.fingerprint,
				Subject:     record.cert.Subject.String(),
				CreatedAt:   record.createdAt,
				NotBefore:   record.cert.NotBefore.UTC(),
				ExpiresAt:   record.cert.NotAfter.UTC(),
				DeletedAt:   record.deletedAt,
				State:       status,
			})
		}
		snapshot.Organizations[org] = state
	}
	for name, counter := range s.counters {
		copied := endpointCounter{Total: counter.Total, ByStatus: map[string]int{}}
		for outcome, n := range counter.ByStatus {
			copied.ByStatus[outcome] = n
		}
		snapshot.Requests[name] = copied
	}
	return snapshot
}

func (s *Server) updateSettings(w http.ResponseWriter, body []byte) {
	var input struct {
		MTLS         *bool   `json:"mtls"`
		CertValidity *string `json:"cert_validity"`
		MaxActive    *int    `json:"max_active"`
		NoticeWindow *string `json:"notice_window"`
		ListPageSize *int    `json:"list_page_size"`
	}
	if err := decodeStrict(body, &input); err != nil {
		s.writeControlError(w, http.StatusBadRequest, err.Error())
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	updated := s.settings
	if input.MTLS != nil {
		updated.MTLS = *input.MTLS
	}
	if input.MaxActive != nil {
		updated.MaxActive = *input.MaxActive
	}
	if input.ListPageSize != nil {
		updated.ListPageSize = *input.ListPageSize
	}
	for _, field := range []struct {
		name   string
		value  *string
		target *Duration
	}{{"cert_validity", input.CertValidity, &updated.CertValidity}, {"notice_window", input.NoticeWindow, &updated.NoticeWindow}} {
		if field.value == nil {
			continue
		}
		parsed, err := time.ParseDuration(*field.value)
		if err != nil {
			s.writeControlError(w, http.StatusBadRequest, fmt.Sprintf("%s %q is not a duration such as 24h: %v", field.name, *field.value, err))
			return
		}
		*field.target = Duration(parsed)
	}
	if err := updated.validate(); err != nil {
		s.writeControlError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.settings = updated
	s.logger.Printf("settings changed: mtls=%t cert_validity=%s max_active=%d", updated.MTLS, time.Duration(updated.CertValidity), updated.MaxActive)
	writeControlJSON(w, http.StatusOK, updated)
}

func (s *Server) moveClock(w http.ResponseWriter, body []byte) {
	var input struct {
		Advance *string `json:"advance"`
		Offset  *string `json:"offset"`
	}
	if err := decodeStrict(body, &input); err != nil {
		s.writeControlError(w, http.StatusBadRequest, err.Error())
		return
	}
	if (input.Advance == nil) == (input.Offset == nil) {
		s.writeControlError(w, http.StatusBadRequest, `give exactly one of "advance" and "offset"`)
		return
	}
	value := input.Advance
	if value == nil {
		value = input.Offset
	}
	duration, err := time.ParseDuration(*value)
	if err != nil || duration < 0 {
		s.writeControlError(w, http.StatusBadRequest, fmt.Sprintf("%q is not a non-negative duration such as 720h", *value))
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if input.Advance != nil {
		s.clockOffset += duration
	} else {
		s.clockOffset = duration
	}
	s.logger.Printf("clock offset set to %s", s.clockOffset)
	writeControlJSON(w, http.StatusOK, map[string]any{"now": s.nowLocked(), "offset": s.clockOffset.String()})
}

// insertCertificate stores a certificate without the API's checks or quota, for tests that need
// an expired certificate or a key to present in mTLS mode.
func (s *Server) insertCertificate(w http.ResponseWriter, body []byte) {
	var input struct {
		OrganizationID     string `json:"organization_id"`
		CertificateRequest string `json:"certificate_request"`
		Validity           string `json:"validity"`
		Expired            bool   `json:"expired"`
	}
	if err := decodeStrict(body, &input); err != nil {
		s.writeControlError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !s.knownOrganization(input.OrganizationID) {
		s.writeControlError(w, http.StatusNotFound, fmt.Sprintf("organization %q not found", input.OrganizationID))
		return
	}
	validity := time.Duration(s.currentSettings().CertValidity)
	if input.Validity != "" {
		parsed, err := time.ParseDuration(input.Validity)
		if err != nil || parsed <= 0 {
			s.writeControlError(w, http.StatusBadRequest, fmt.Sprintf("validity %q is not a positive duration such as 24h", input.Validity))
			return
		}
		validity = parsed
	}

	var publicKey any
	var rawSubject []byte
	var privateKeyPEM string
	if input.CertificateRequest != "" {
		csr, err := parseCertificateRequestPEM(input.CertificateRequest)
		if err != nil {
			s.writeControlError(w, http.StatusBadRequest, err.Error())
			return
		}
		publicKey, rawSubject = csr.PublicKey, csr.RawSubject
	} else {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			s.writeControlError(w, http.StatusInternalServerError, fmt.Sprintf("generate key: %v", err))
			return
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			s.writeControlError(w, http.StatusInternalServerError, fmt.Sprintf("encode key: %v", err))
			return
		}
		privateKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		subject := pkix.Name{CommonName: "qualtrics-sim inserted certificate", Organization: []string{input.OrganizationID}}
		if rawSubject, err = asn1Subject(subject); err != nil {
			s.writeControlError(w, http.StatusInternalServerError, err.Error())
			return
		}
		publicKey = &key.PublicKey
	}

	s.mu.Lock()
	now := s.nowLocked()
	notBefore, notAfter := time.Now().Add(-time.Minute), now.Add(validity)
	if input.Expired {
		notAfter = now.Add(-time.Hour)
		notBefore = notAfter.Add(-validity)
	}
	record, err := s.issueLocked(input.OrganizationID, publicKey, rawSubject, notBefore, notAfter)
	s.mu.Unlock()
	if err != nil {
		s.writeControlError(w, http.StatusInternalServerError, err.Error())
		return
	}
	response := map[string]any{
		"id":          record.id,
		"certificate": record.pem,
		"expires_at":  record.cert.NotAfter.UTC(),
	}
	if privateKeyPEM != "" {
		response["private_key"] = privateKeyPEM
	}
	writeControlJSON(w, http.StatusOK, response)
}

func asn1Subject(name pkix.Name) ([]byte, error) {
	der, err := asn1.Marshal(name.ToRDNSequence())
	if err != nil {
		return nil, fmt.Errorf("encode subject: %w", err)
	}
	return der, nil
}

func (s *Server) addFaults(w http.ResponseWriter, body []byte) {
	inputs, err := decodeFaultRules(body)
	if err != nil {
		s.writeControlError(w, http.StatusBadRequest, err.Error())
		return
	}
	rules := make([]*faultRule, 0, len(inputs))
	for i, input := range inputs {
		rule, err := input.toRule()
		if err != nil {
			s.writeControlError(w, http.StatusBadRequest, fmt.Sprintf("rule %d: %v", i, err))
			return
		}
		rules = append(rules, rule)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int, 0, len(rules))
	for _, rule := range rules {
		s.nextFaultID++
		rule.ID = s.nextFaultID
		s.faults = append(s.faults, rule)
		ids = append(ids, rule.ID)
	}
	writeControlJSON(w, http.StatusOK, map[string]any{"ids": ids})
}

// listHeld returns the held requests, first waiting up to wait_ms until at least min are held.
func (s *Server) listHeld(w http.ResponseWriter, r *http.Request) {
	minimum, wait := 0, time.Duration(0)
	query := r.URL.Query()
	if value := query.Get("min"); value != "" {
		parsed, err := strconv.Atoi(value)
		if err != nil || parsed < 0 {
			s.writeControlError(w, http.StatusBadRequest, fmt.Sprintf("min %q must be a non-negative integer", value))
			return
		}
		minimum = parsed
	}
	if value := query.Get("wait_ms"); value != "" {
		parsed, err := strconv.Atoi(value)
		if err != nil || parsed < 0 {
			s.writeControlError(w, http.StatusBadRequest, fmt.Sprintf("wait_ms %q must be a non-negative integer", value))
			return
		}
		wait = min(time.Duration(parsed)*time.Millisecond, maxHeldWait)
	}

	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if len(s.held) >= minimum {
			break
		}
		changed := s.heldChanged
		s.mu.Unlock()
		select {
		case <-changed:
			continue
		case <-deadline.C:
		case <-r.Context().Done():
		}
		s.mu.Lock()
		break
	}
	held := make([]heldRequest, 0, len(s.held))
	for _, request := range s.held {
		held = append(held, *request)
	}
	s.mu.Unlock()
	sort.Slice(held, func(i, j int) bool { return held[i].ID < held[j].ID })
	writeControlJSON(w, http.StatusOK, map[string]any{"held": held})
}

func (s *Server) release(w http.ResponseWriter, body []byte) {
	var input struct {
		ID     *int   `json:"id"`
		Action string `json:"action"`
	}
	if len(body) > 0 {
		if err := decodeStrict(body, &input); err != nil {
			s.writeControlError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	if input.Action == "" {
		input.Action = releaseProceed
	}
	if input.Action != releaseProceed && input.Action != releaseDrop {
		s.writeControlError(w, http.StatusBadRequest, fmt.Sprintf("action %q is invalid, expected proceed or drop", input.Action))
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if input.ID == nil {
		writeControlJSON(w, http.StatusOK, map[string]any{"released": s.releaseAllLocked(input.Action)})
		return
	}
	if !s.releaseLocked(*input.ID, input.Action) {
		s.writeControlError(w, http.StatusNotFound, fmt.Sprintf("no held request with id %d", *input.ID))
		return
	}
	writeControlJSON(w, http.StatusOK, map[string]any{"released": 1})
}
