package main

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault kinds.
const (
	faultLatency      = "latency"
	faultStatus       = "status"
	faultRetryAfter   = "retry_after"
	faultDrop         = "drop"
	faultLostResponse = "lost_response"
	faultHold         = "hold"
	faultSlowBody     = "slow_body"
)

// Hold phases.
const (
	phaseBeforeCommit = "before_commit"
	phaseAfterCommit  = "after_commit"
)

// Actions of a held request when it ends, and outcome names in the counters.
const (
	releaseProceed      = "proceed"
	releaseDrop         = "drop"
	outcomeDropped      = "dropped"
	outcomeClientClosed = "client_closed"
)

// maxFaultDelay is the largest delay_ms a rule may set, so that a mistyped rule cannot stall a
// test run for hours.
const maxFaultDelay = 10 * time.Minute

// faultRule is one queued fault, as given to POST /_sim/faults and shown by GET /_sim/faults.
type faultRule struct {
	ID             int    `json:"id"`
	Match          string `json:"match"`
	OrganizationID string `json:"organization_id,omitempty"`
	Kind           string `json:"kind"`
	Status         int    `json:"status,omitempty"`
	RetryAfter     string `json:"retry_after,omitempty"`
	DelayMS        int    `json:"delay_ms,omitempty"`
	ChunkBytes     int    `json:"chunk_bytes,omitempty"`
	Phase          string `json:"phase,omitempty"`
	Reset          bool   `json:"reset,omitempty"`
	Skip           int    `json:"skip"`
	Count          int    `json:"count"`
}

// faultRuleInput is the request form of a rule. Count is a pointer so that an absent count
// means 1.
type faultRuleInput struct {
	Match          string `json:"match"`
	OrganizationID string `json:"organization_id"`
	Kind           string `json:"kind"`
	Status         int    `json:"status"`
	RetryAfter     string `json:"retry_after"`
	DelayMS        int    `json:"delay_ms"`
	ChunkBytes     int    `json:"chunk_bytes"`
	Phase          string `json:"phase"`
	Reset          bool   `json:"reset"`
	Skip           int    `json:"skip"`
	Count          *int   `json:"count"`
}

// decodeFaultRules accepts either one rule object or {"rules": [...]}.
func decodeFaultRules(body []byte) ([]faultRuleInput, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, fmt.Errorf("body is not a JSON object: %v", err)
	}
	var inputs []faultRuleInput
	if raw, isList := probe["rules"]; isList {
		if len(probe) != 1 {
			return nil, errors.New(`a body with "rules" must have no other field`)
		}
		if err := decodeStrict(raw, &inputs); err != nil {
			return nil, err
		}
	} else {
		var input faultRuleInput
		if err := decodeStrict(body, &input); err != nil {
			return nil, err
		}
		inputs = append(inputs, input)
	}
	if len(inputs) == 0 {
		return nil, errors.New(`the body contains no fault rule: send one rule object or {"rules": [...]}`)
	}
	return inputs, nil
}

func decodeStrict(data []byte, target any) error {
	decoder := json.NewDecoder(strings.NewReader(string(data)))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(target); err != nil {
		return fmt.Errorf("invalid JSON: %v", err)
	}
	return nil
}

// toRule validates the input, fills in defaults and returns the rule without an id.
func (in faultRuleInput) toRule() (*faultRule, error) {
	switch in.Match {
	case endpointCreate, endpointList, endpointDelete, endpointToken, "any":
	default:
		return nil, fmt.Errorf("match %q is invalid, expected create, list, delete, token or any", in.Match)
	}
	rule := &faultRule{
		Match: in.Match, OrganizationID: in.OrganizationID, Kind: in.Kind, Status: in.Status,
		RetryAfter: in.RetryAfter, DelayMS: in.DelayMS, ChunkBytes: in.ChunkBytes, Phase: in.Phase,
		Reset: in.Reset, Skip: in.Skip, Count: 1,
	}
	if in.Count != nil {
		rule.Count = *in.Count
	}
	if rule.Count == 0 || rule.Count < -1 {
		return nil, fmt.Errorf("count %d is invalid, expected a positive number or -1", rule.Count)
	}
	if rule.Skip < 0 {
		return nil, fmt.Errorf("skip %d must not be negative", rule.Skip)
	}
	if rule.DelayMS < 0 || time.Duration(rule.DelayMS)*time.Millisecond > maxFaultDelay {
		return nil, fmt.Errorf("delay_ms %d must be between 0 and %d", rule.DelayMS, maxFaultDelay.Milliseconds())
	}
	if rule.Status != 0 && (rule.Status < 200 || rule.Status > 599) {
		return nil, fmt.Errorf("status %d must be between 200 and 599", rule.Status)
	}
	if rule.Phase != "" && rule.Kind != faultHold {
		return nil, errors.New("phase applies only to kind hold")
	}
	if rule.RetryAfter != "" {
		if _, err := retryAfterValue(rule.RetryAfter); err != nil {
			return nil, err
		}
	}

	switch rule.Kind {
	case faultLatency, faultDrop, faultLostResponse:
	case faultStatus:
		if rule.Status == 0 {
			rule.Status = http.StatusServiceUnavailable
		}
	case faultRetryAfter:
		if rule.Status == 0 {
			rule.Status = http.StatusTooManyRequests
		}
		if rule.RetryAfter == "" {
			rule.RetryAfter = "1"
		}
	case faultHold:
		if rule.Phase == "" {
			rule.Phase = phaseBeforeCommit
		}
		if rule.Phase != phaseBeforeCommit && rule.Phase != phaseAfterCommit {
			return nil, fmt.Errorf("phase %q is invalid, expected before_commit or after_commit", rule.Phase)
		}
	case faultSlowBody:
		if rule.DelayMS == 0 {
			rule.DelayMS = 100
		}
		if rule.ChunkBytes == 0 {
			rule.ChunkBytes = 16
		}
		if rule.ChunkBytes < 0 {
			return nil, fmt.Errorf("chunk_bytes %d must be positive", rule.ChunkBytes)
		}
	default:
		return nil, fmt.Errorf("kind %q is invalid, expected latency, status, retry_after, drop, lost_response, hold or slow_body", rule.Kind)
	}
	return rule, nil
}

// retryAfterValue turns the rule's retry_after into a header value. "+2s" becomes an HTTP date
// that long after the real now. Any other value is sent as given.
func retryAfterValue(value string) (string, error) {
	if offset, isRelative := strings.CutPrefix(value, "+"); isRelative {
		delay, err := time.ParseDuration(offset)
		if err != nil {
			return "", fmt.Errorf("retry_after %q is invalid: %v", value, err)
		}
		return time.Now().Add(delay).UTC().Format(http.TimeFormat), nil
	}
	return value, nil
}

// takeFault finds the first pending rule for the request, consumes one use of it and returns a
// copy, or returns nil.
func (s *Server) takeFault(endpoint, org string) *faultRule {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, rule := range s.faults {
		if rule.Match != "any" && rule.Match != endpoint {
			continue
		}
		if rule.OrganizationID != "" && rule.OrganizationID != org {
			continue
		}
		if rule.Skip > 0 {
			rule.Skip--
			continue
		}
		applied := *rule
		if rule.Count > 0 {
			rule.Count--
			if rule.Count == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
		}
		return &applied
	}
	return nil
}

func faultStatusResponse(rule *faultRule, requestID string) apiResponse {
	code := "INJECTED_FAULT"
	switch rule.Status {
	case http.StatusTooManyRequests:
		code = "RATE_LIMITED"
	case http.StatusInternalServerError:
		code = "INTERNAL_SERVER_ERROR"
	case http.StatusBadGateway:
		code = "BAD_GATEWAY"
	case http.StatusServiceUnavailable:
		code = "SERVICE_UNAVAILABLE"
	case http.StatusGatewayTimeout:
		code = "GATEWAY_TIMEOUT"
	}
	response := errorResponse(&apiError{rule.Status, code, fmt.Sprintf("simulated fault: %s", http.StatusText(rule.Status))}, requestID)
	if rule.RetryAfter != "" {
		value, _ := retryAfterValue(rule.RetryAfter) // validated when the rule was added
		response.header.Set("Retry-After", value)
	}
	return response
}

// dropConnection closes the connection without a response. The TLS layer sends no close_notify,
// and with reset set the kernel sends a TCP reset instead of a FIN.
func (s *Server) dropConnection(w http.ResponseWriter, endpoint string, reset bool) {
	s.countOutcome(endpoint, outcomeDropped)
	hijacker, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hijacker.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	raw := conn
	if tlsConn, isTLS := conn.(*tls.Conn); isTLS {
		raw = tlsConn.NetConn()
	}
	if tcp, isTCP := raw.(*net.TCPConn); isTCP && reset {
		_ = tcp.SetLinger(0)
	}
	_ = raw.Close()
}

// writeSlowly sends the response headers at once and the body in chunks with a pause between.
func (s *Server) writeSlowly(w http.ResponseWriter, r *http.Request, endpoint string, response apiResponse, rule *faultRule) {
	setResponseHeaders(w, response)
	w.WriteHeader(response.status)
	s.countOutcome(endpoint, strconv.Itoa(response.status))
	flusher, _ := w.(http.Flusher)
	for offset := 0; offset < len(response.body); offset += rule.ChunkBytes {
		if offset > 0 && !sleepContext(r, time.Duration(rule.DelayMS)*time.Millisecond) {
			return
		}
		end := min(offset+rule.ChunkBytes, len(response.body))
		if _, err := w.Write(response.body[offset:end]); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
}

// sleepContext waits for d and returns false if the client went away first.
func sleepContext(r *http.Request, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// heldRequest is a request parked by a hold rule until a test releases it.
type heldRequest struct {
	ID             int       `json:"id"`
	Endpoint       string    `json:"endpoint"`
	OrganizationID string    `json:"organization_id,omitempty"`
	Phase          string    `json:"phase"`
	Since          time.Time `json:"since"`
	release        chan string
}

// holdAndContinue parks the request until it is released, the rule's delay passes or the client
// goes away. It returns true when the caller should go on with the request.
func (s *Server) holdAndContinue(w http.ResponseWriter, r *http.Request, rt route, rule *faultRule) bool {
	s.mu.Lock()
	s.nextHeldID++
	held := &heldRequest{
		ID: s.nextHeldID, Endpoint: rt.endpoint, OrganizationID: rt.organization, Phase: rule.Phase,
		Since: time.Now().UTC(), release: make(chan string, 1),
	}
	s.held[held.ID] = held
	s.notifyHeldLocked()
	s.mu.Unlock()
	s.logger.Printf("holding %s request %d (%s)", rt.endpoint, held.ID, rule.Phase)

	var timeout <-chan time.Time
	if rule.DelayMS > 0 {
		timer := time.NewTimer(time.Duration(rule.DelayMS) * time.Millisecond)
		defer timer.Stop()
		timeout = timer.C
	}
	action := releaseProceed
	select {
	case action = <-held.release:
	case <-timeout:
		s.forgetHeld(held.ID)
	case <-r.Context().Done():
		s.forgetHeld(held.ID)
		s.countOutcome(rt.endpoint, outcomeClientClosed)
		s.logger.Printf("held %s request %d: client closed the connection", rt.endpoint, held.ID)
		return false
	}
	if action == releaseDrop {
		s.dropConnection(w, rt.endpoint, false)
		return false
	}
	return true
}

func (s *Server) forgetHeld(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, present := s.held[id]; present {
		delete(s.held, id)
		s.notifyHeldLocked()
	}
}

// releaseLocked ends one held request with the action and reports whether it was held.
func (s *Server) releaseLocked(id int, action string) bool {
	held, present := s.held[id]
	if !present {
		return false
	}
	delete(s.held, id)
	held.release <- action
	s.notifyHeldLocked()
	return true
}

func (s *Server) releaseAllLocked(action string) int {
	released := 0
	for id := range s.held {
		if s.releaseLocked(id, action) {
			released++
		}
	}
	return released
}

// notifyHeldLocked wakes every GET /_sim/held that waits for a change.
func (s *Server) notifyHeldLocked() {
	close(s.heldChanged)
	s.heldChanged = make(chan struct{})
}
