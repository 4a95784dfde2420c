package main

import (
	"crypto/subtle"
	"net/http"
	"time"
)

// oauthError is an RFC 6749 section 5.2 error body.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// handleToken issues a bearer token for the client credentials grant. Client id and secret come
// from HTTP basic auth, or from the client_id and client_secret form fields.
func (s *Server) handleToken(r *http.Request, requestID string) apiResponse {
	r.Body = http.MaxBytesReader(nil, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		return jsonResponse(http.StatusBadRequest, oauthError{"invalid_request", "the form body could not be parsed"}, requestID)
	}
	grantType := r.PostForm.Get("grant_type")
	if grantType == "" {
		return jsonResponse(http.StatusBadRequest, oauthError{"invalid_request", "grant_type is missing; send an application/x-www-form-urlencoded body with grant_type=client_credentials"}, requestID)
	}
	if grantType != "client_credentials" {
		return jsonResponse(http.StatusBadRequest, oauthError{"unsupported_grant_type", "only grant_type=client_credentials is supported"}, requestID)
	}

	clientID, secret, ok := r.BasicAuth()
	if !ok {
		clientID, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	client, found := s.findOAuthClient(clientID, secret)
	if !found {
		response := jsonResponse(http.StatusUnauthorized, oauthError{"invalid_client", "the client id or secret is invalid"}, requestID)
		response.header.Set("WWW-Authenticate", `Basic realm="qualtrics-sim"`)
		return response
	}
	scope := r.PostForm.Get("scope")
	if scope == "" {
		scope = "manage:all"
	}

	token, err := randomHex(32)
	if err != nil {
		return jsonResponse(http.StatusInternalServerError, oauthError{"server_error", "failed to generate a token"}, requestID)
	}
	lifetime := s.config.OAuthTokenLifetime
	s.mu.Lock()
	s.tokens[token] = &bearerToken{client: client, expiresAt: s.nowLocked().Add(lifetime)}
	s.tokensIssued++
	s.mu.Unlock()

	response := jsonResponse(http.StatusOK, map[string]any{
		"access_token": token,
		"token_type":   "Bearer",
		"expires_in":   int64(lifetime / time.Second),
		"scope":        scope,
	}, requestID)
	response.header.Set("Cache-Control", "no-store")
	return response
}

func (s *Server) findOAuthClient(id, secret string) (OAuthClient, bool) {
	for _, client := range s.config.OAuthClients {
		if client.ID == id && subtle.ConstantTimeCompare([]byte(client.Secret), []byte(secret)) == 1 {
			return client, true
		}
	}
	return OAuthClient{}, false
}
