package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// apiResponse is a complete response, built before anything is written so that faults can
// delay, trickle or discard it.
type apiResponse struct {
	status    int
	header    http.Header
	body      []byte
	requestID string
}

// apiMeta is the "meta" object of every Qualtrics response.
type apiMeta struct {
	HTTPStatus string       `json:"httpStatus"`
	Error      *apiErrorMsg `json:"error,omitempty"`
	RequestID  string       `json:"requestId"`
	Notice     string       `json:"notice,omitempty"`
}

type apiErrorMsg struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorCode    string `json:"errorCode"`
}

// apiError is a failure that becomes a Qualtrics error body.
type apiError struct {
	status  int
	code    string
	message string
}

func httpStatusText(status int) string {
	return fmt.Sprintf("%d - %s", status, http.StatusText(status))
}

func jsonResponse(status int, value any, requestID string) apiResponse {
	body, err := json.Marshal(value)
	if err != nil {
		// Only values built by this package are encoded, so this is a programming error.
		panic(fmt.Sprintf("encode response: %v", err))
	}
	return apiResponse{status: status, header: http.Header{}, body: body, requestID: requestID}
}

func errorResponse(e *apiError, requestID string) apiResponse {
	value := struct {
		Meta apiMeta `json:"meta"`
	}{apiMeta{
		HTTPStatus: httpStatusText(e.status),
		Error:      &apiErrorMsg{ErrorMessage: e.message, ErrorCode: e.code},
		RequestID:  requestID,
	}}
	return jsonResponse(e.status, value, requestID)
}

func resultResponse(result any, requestID, notice string) apiResponse {
	value := struct {
		Result any     `json:"result,omitempty"`
		Meta   apiMeta `json:"meta"`
	}{
		Result: result,
		Meta:   apiMeta{HTTPStatus: httpStatusText(http.StatusOK), RequestID: requestID, Notice: notice},
	}
	return jsonResponse(http.StatusOK, value, requestID)
}

// route is what the path and method of a request select.
type route struct {
	endpoint      string
	known         bool
	methodAllowed bool
	allow         string
	organization  string
	certificateID string
}

const organizationsPrefix = "/API/v3/organizations/"

func classifyRoute(r *http.Request) route {
	path := r.URL.Path
	if path == "/oauth2/token" {
		return methodRoute(route{endpoint: endpointToken, known: true, allow: http.MethodPost}, r.Method)
	}
	if !strings.HasPrefix(path, organizationsPrefix) {
		return route{endpoint: endpointOther}
	}
	parts := strings.Split(strings.TrimPrefix(path, organizationsPrefix), "/")
	if len(parts) < 2 || parts[0] == "" || parts[1] != "clientcertificates" {
		return route{endpoint: endpointOther}
	}
	switch {
	case len(parts) == 2:
		rt := route{known: true, allow: "GET, POST", organization: parts[0]}
		switch r.Method {
		case http.MethodGet:
			rt.endpoint, rt.methodAllowed = endpointList, true
		case http.MethodPost:
			rt.endpoint, rt.methodAllowed = endpointCreate, true
		default:
			rt.endpoint = endpointOther
		}
		return rt
	case len(parts) == 3 && parts[2] != "":
		rt := route{known: true, allow: http.MethodDelete, organization: parts[0], certificateID: parts[2]}
		if r.Method == http.MethodDelete {
			rt.endpoint, rt.methodAllowed = endpointDelete, true
		} else {
			rt.endpoint = endpointOther
		}
		return rt
	}
	return route{endpoint: endpointOther}
}

func methodRoute(rt route, method string) route {
	if method == rt.allow {
		rt.methodAllowed = true
	} else {
		rt.endpoint = endpointOther
	}
	return rt
}

// serveAPI handles one simulated API call, applying the first matching fault rule if any.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	rt := classifyRoute(r)
	s.countRequest(rt.endpoint)
	requestID := s.newRequestID()

	// The whole body is read first because net/http notices a client that disconnects (while the
	// request is delayed or held) only once the body has been consumed.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		s.writeResponse(w, rt.endpoint, errorResponse(&apiError{http.StatusBadRequest, "BAD_REQUEST", "failed to read the request body"}, requestID))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	var rule *faultRule
	if rt.endpoint != endpointOther {
		rule = s.takeFault(rt.endpoint, rt.organization)
	}
	if rule != nil {
		s.logger.Printf("fault %d (%s) applied to %s %s request_id=%s", rule.ID, rule.Kind, rt.endpoint, rt.organization, requestID)
		switch rule.Kind {
		case faultLatency:
			if !sleepContext(r, time.Duration(rule.DelayMS)*time.Millisecond) {
				s.countOutcome(rt.endpoint, outcomeClientClosed)
				return
			}
		case faultStatus, faultRetryAfter:
			s.writeResponse(w, rt.endpoint, faultStatusResponse(rule, requestID))
			return
		case faultDrop:
			s.dropConnection(w, rt.endpoint, rule.Reset)
			return
		case faultHold:
			if rule.Phase == phaseBeforeCommit && !s.holdAndContinue(w, r, rt, rule) {
				return
			}
		}
	}

	response := s.handleAPI(r, rt, requestID)
	s.logger.Printf("%s %s status=%d request_id=%s", rt.endpoint, rt.organization, response.status, requestID)

	if rule != nil {
		switch rule.Kind {
		case faultLostResponse:
			s.dropConnection(w, rt.endpoint, rule.Reset)
			return
		case faultHold:
			if rule.Phase == phaseAfterCommit && !s.holdAndContinue(w, r, rt, rule) {
				return
			}
		case faultSlowBody:
			s.writeSlowly(w, r, rt.endpoint, response, rule)
			return
		}
	}
	s.writeResponse(w, rt.endpoint, response)
}

// handleAPI runs the checks in their documented order (mutual TLS, credentials, brand
// administrator, organization) and then the endpoint itself.
func (s *Server) handleAPI(r *http.Request, rt route, requestID string) apiResponse {
	if !rt.known {
		return errorResponse(&apiError{http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("no API resource at %s", r.URL.Path)}, requestID)
	}
	if !rt.methodAllowed {
		response := errorResponse(&apiError{http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", fmt.Sprintf("method %s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, rt.allow)}, requestID)
		response.header.Set("Allow", rt.allow)
		return response
	}

	presented := peerCertificate(r)
	if s.currentSettings().MTLS {
		if err := s.checkClientCertificate(presented, rt.organization); err != nil {
			return errorResponse(err, requestID)
		}
	}
	if rt.endpoint == endpointToken {
		return s.handleToken(r, requestID)
	}
	if err := s.authenticate(r); err != nil {
		return errorResponse(err, requestID)
	}
	if !s.knownOrganization(rt.organization) {
		return errorResponse(&apiError{http.StatusNotFound, "ORGANIZATION_NOT_FOUND", fmt.Sprintf("organization %q not found", rt.organization)}, requestID)
	}

	var result any
	var err *apiError
	switch rt.endpoint {
	case endpointCreate:
		result, err = s.createCertificate(r, rt.organization)
	case endpointList:
		result, err = s.listCertificates(r, rt.organization)
	case endpointDelete:
		err = s.deleteCertificate(rt.organization, rt.certificateID)
	}
	if err != nil {
		return errorResponse(err, requestID)
	}
	return resultResponse(result, requestID, s.noticeFor(presented))
}

func peerCertificate(r *http.Request) *x509.Certificate {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil
	}
	return r.TLS.PeerCertificates[0]
}

func (s *Server) currentSettings() Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settings
}

func (s *Server) knownOrganization(org string) bool {
	for _, known := range s.config.Organizations {
		if known == org {
			return true
		}
	}
	return false
}

func derHash(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return string(sum[:])
}

// checkClientCertificate enforces mutual TLS: the presented certificate must be one the
// simulator issued, not deleted, not expired, and, on organization paths, of that organization.
// The TLS handshake has already proved that the caller holds its private key.
func (s *Server) checkClientCertificate(presented *x509.Certificate, org string) *apiError {
	if presented == nil {
		return &apiError{http.StatusUnauthorized, "CLIENT_CERT_REQUIRED", "mutual TLS is required: present a client certificate issued for this organization"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	record := s.certsByDERHash[derHash(presented)]
	if record == nil {
		return &apiError{http.StatusUnauthorized, "CLIENT_CERT_UNKNOWN", "the presented client certificate was not issued by this service"}
	}
	if record.deletedAt != nil {
		return &apiError{http.StatusUnauthorized, "CLIENT_CERT_REVOKED", fmt.Sprintf("the presented client certificate %s was deleted", record.id)}
	}
	if s.nowLocked().After(record.cert.NotAfter) {
		return &apiError{http.StatusUnauthorized, "CLIENT_CERT_EXPIRED", fmt.Sprintf("the presented client certificate %s expired on %s", record.id, record.cert.NotAfter.UTC().Format(time.RFC3339))}
	}
	if org != "" && record.organization != org {
		return &apiError{http.StatusForbidden, "CLIENT_CERT_WRONG_ORGANIZATION", fmt.Sprintf("the presented client certificate %s belongs to another organization", record.id)}
	}
	return nil
}

// noticeFor returns meta.notice for a successful call: a warning when the presented
// certificate was issued here and expires within the notice window, otherwise "".
func (s *Server) noticeFor(presented *x509.Certificate) string {
	if presented == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	record := s.certsByDERHash[derHash(presented)]
	if record == nil {
		return ""
	}
	now := s.nowLocked()
	notAfter := record.cert.NotAfter.UTC()
	if notAfter.Sub(now) > time.Duration(s.settings.NoticeWindow) {
		return ""
	}
	verb := "expires"
	if now.After(notAfter) {
		verb = "expired"
	}
	return fmt.Sprintf("The client certificate %s presented on this call %s on %s; regenerate it.", record.id, verb, notAfter.Format(time.RFC3339))
}

// authenticate checks X-API-TOKEN or the bearer token and the brand administrator role.
func (s *Server) authenticate(r *http.Request) *apiError {
	if token := r.Header.Get("X-API-TOKEN"); token != "" {
		if contains(s.config.APITokens, token) {
			return nil
		}
		if contains(s.config.NonAdminTokens, token) {
			return notBrandAdministrator()
		}
		return &apiError{http.StatusUnauthorized, "AUTH_TOKEN_INVALID", "the API token is invalid"}
	}

	authorization := r.Header.Get("Authorization")
	scheme, bearer, found := strings.Cut(authorization, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(bearer) == "" {
		return &apiError{http.StatusUnauthorized, "AUTH_TOKEN_MISSING", "authentication is required: send the X-API-TOKEN header or an OAuth bearer token"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	issued := s.tokens[strings.TrimSpace(bearer)]
	if issued == nil {
		return &apiError{http.StatusUnauthorized, "AUTH_TOKEN_INVALID", "the bearer token is invalid"}
	}
	if !s.nowLocked().Before(issued.expiresAt) {
		return &apiError{http.StatusUnauthorized, "AUTH_TOKEN_EXPIRED", "the bearer token has expired; request a new one"}
	}
	if issued.client.NonAdmin {
		return notBrandAdministrator()
	}
	return nil
}

func notBrandAdministrator() *apiError {
	return &apiError{http.StatusForbidden, "NOT_BRAND_ADMINISTRATOR", "this call requires a Qualtrics brand administrator"}
}

func contains(values []string, value string) bool {
	for _, v := range values {
		if v == value {
			return true
		}
	}
	return false
}

// createResult is the "result" of a successful create.
type createResult struct {
	Certificate string `json:"certificate"`
	ID          string `json:"id"`
}

func (s *Server) createCertificate(r *http.Request, org string) (any, *apiError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, &apiError{http.StatusBadRequest, "BAD_REQUEST", "failed to read the request body"}
	}
	if len(body) > maxBodyBytes {
		return nil, &apiError{http.StatusRequestEntityTooLarge, "REQUEST_TOO_LARGE", fmt.Sprintf("the request body exceeds %d bytes", maxBodyBytes)}
	}
	var request struct {
		CertificateRequest *string `json:"certificateRequest"`
	}
	if err := json.Unmarshal(body, &request); err != nil {
		return nil, &apiError{http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", fmt.Sprintf("the request body is not valid JSON: %v", err)}
	}
	if request.CertificateRequest == nil || *request.CertificateRequest == "" {
		return nil, &apiError{http.StatusBadRequest, "CERTIFICATE_REQUEST_MISSING", "certificateRequest is missing or empty"}
	}
	csr, err := parseCertificateRequestPEM(*request.CertificateRequest)
	if err != nil {
		return nil, &apiError{http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", err.Error()}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if used := s.slotsUsedLocked(org); used >= s.settings.MaxActive {
		return nil, &apiError{http.StatusBadRequest, "CERT_LIMIT_REACHED", fmt.Sprintf(
			"organization %s already has %d active client certificates (the maximum); delete one before creating another",
			org, used)}
	}
	now := s.nowLocked()
	record, err := s.issueLocked(org, csr.PublicKey, csr.RawSubject, time.Now().Add(-time.Minute), now.Add(time.Duration(s.settings.CertValidity)))
	if err != nil {
		return nil, &apiError{http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", err.Error()}
	}
	return createResult{Certificate: record.pem, ID: record.id}, nil
}

// slotsUsedLocked counts the organization's certificates that take a slot: every one not
// deleted, expired ones included.
func (s *Server) slotsUsedLocked(org string) int {
	used := 0
	for _, record := range s.certsByOrg[org] {
		if record.deletedAt == nil {
			used++
		}
	}
	return used
}

// issueLocked signs and stores a certificate for the organization.
func (s *Server) issueLocked(org string, publicKey any, rawSubject []byte, notBefore, notAfter time.Time) (*certRecord, error) {
	id, err := s.newCertificateIDLocked()
	if err != nil {
		return nil, err
	}
	cert, err := s.authority.issueClientCertificate(publicKey, rawSubject, notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	record := &certRecord{
		id:           id,
		organization: org,
		cert:         cert,
		pem:          string(encodeCertificatePEM(cert.Raw)),
		fingerprint:  publicKeyFingerprint(cert),
		createdAt:    s.nowLocked(),
	}
	s.certsByOrg[org] = append(s.certsByOrg[org], record)
	s.certsByID[id] = record
	s.certsByDERHash[derHash(cert)] = record
	return record, nil
}

// listElement is one certificate in a list result.
type listElement struct {
	ID          string `json:"id"`
	Certificate string `json:"certificate"`
	Fingerprint string `json:"fingerprint"`
	ExpiresAt   string `json:"expiresAt"`
	CreatedAt   string `json:"createdAt"`
}

type listResult struct {
	Elements []listElement `json:"elements"`
	NextPage *string       `json:"nextPage"`
}

func (s *Server) listCertificates(r *http.Request, org string) (any, *apiError) {
	offset := 0
	if value := r.URL.Query().Get("offset"); value != "" {
		parsed, err := strconv.Atoi(value)
		if err != nil || parsed < 0 {
			return nil, &apiError{http.StatusBadRequest, "INVALID_PARAMETER", fmt.Sprintf("offset %q must be a non-negative integer", value)}
		}
		offset = parsed
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var all []listElement
	for _, record := range s.certsByOrg[org] {
		if record.deletedAt != nil {
			continue
		}
		all = append(all, listElement{
			ID:          record.id,
			Certificate: record.pem,
			Fingerprint: record.fingerprint,
			ExpiresAt:   record.cert.NotAfter.UTC().Format(time.RFC3339),
			CreatedAt:   record.createdAt.Format(time.RFC3339),
		})
	}
	result := listResult{Elements: []listElement{}}
	if offset < len(all) {
		all = all[offset:]
	} else {
		all = nil
	}
	pageSize := s.settings.ListPageSize
	if pageSize > 0 && len(all) > pageSize {
		next := fmt.Sprintf("%s/organizations/%s/clientcertificates?offset=%d", s.baseURL, url.PathEscape(org), offset+pageSize)
		result.NextPage = &next
		all = all[:pageSize]
	}
	result.Elements = append(result.Elements, all...)
	return result, nil
}

func (s *Server) deleteCertificate(org, id string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	record := s.certsByID[id]
	if record == nil || record.organization != org || record.deletedAt != nil {
		return &apiError{http.StatusNotFound, "CERTIFICATE_NOT_FOUND", fmt.Sprintf("client certificate %q not found in organization %s", id, org)}
	}
	deletedAt := s.nowLocked()
	record.deletedAt = &deletedAt
	return nil
}

// writeResponse sends a complete response and counts it.
func (s *Server) writeResponse(w http.ResponseWriter, endpoint string, response apiResponse) {
	setResponseHeaders(w, response)
	w.WriteHeader(response.status)
	_, _ = w.Write(response.body)
	s.countOutcome(endpoint, strconv.Itoa(response.status))
}

func setResponseHeaders(w http.ResponseWriter, response apiResponse) {
	header := w.Header()
	for name, values := range response.header {
		header[name] = values
	}
	header.Set("Content-Type", "application/json")
	header.Set("Content-Length", strconv.Itoa(len(response.body)))
	if response.requestID != "" {
		header.Set("X-Request-Id", response.requestID)
	}
}
