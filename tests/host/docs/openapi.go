package docs

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The types below hold the parts of an OpenAPI 3.0 document that the reference shows. They are
// local rather than the SDK's framework.OASDocument because that type drops minimum and maximum,
// which the plugin sets on bounded fields.

type document struct {
	Info       info                 `json:"info"`
	Paths      map[string]*pathItem `json:"paths"`
	Components struct {
		Schemas map[string]*schema `json:"schemas"`
	} `json:"components"`
}

type info struct {
	Title       string `json:"title"`
	Description string `json:"description"`
}

type pathItem struct {
	Description     string       `json:"description"`
	Parameters      []parameter  `json:"parameters"`
	Sudo            bool         `json:"x-vault-sudo"`
	Unauthenticated bool         `json:"x-vault-unauthenticated"`
	CreateSupported bool         `json:"x-vault-createSupported"`
	Get             *operation   `json:"get"`
	Post            *operation   `json:"post"`
	Patch           *operation   `json:"patch"`
	Delete          *operation   `json:"delete"`
	DisplayAttrs    displayAttrs `json:"x-vault-displayAttrs"`
}

type operation struct {
	Summary     string               `json:"summary"`
	Description string               `json:"description"`
	OperationID string               `json:"operationId"`
	Deprecated  bool                 `json:"deprecated"`
	Parameters  []parameter          `json:"parameters"`
	RequestBody *requestBody         `json:"requestBody"`
	Responses   map[string]*response `json:"responses"`
}

type parameter struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	In          string  `json:"in"`
	Required    bool    `json:"required"`
	Deprecated  bool    `json:"deprecated"`
	Schema      *schema `json:"schema"`
}

type requestBody struct {
	Content map[string]*mediaType `json:"content"`
}

type response struct {
	Description string                `json:"description"`
	Content     map[string]*mediaType `json:"content"`
}

type mediaType struct {
	Schema *schema `json:"schema"`
}

type schema struct {
	Ref          string             `json:"$ref"`
	Type         string             `json:"type"`
	Format       string             `json:"format"`
	Description  string             `json:"description"`
	Properties   map[string]*schema `json:"properties"`
	Required     []string           `json:"required"`
	Items        *schema            `json:"items"`
	Enum         []json.RawMessage  `json:"enum"`
	Default      json.RawMessage    `json:"default"`
	Minimum      json.RawMessage    `json:"minimum"`
	Maximum      json.RawMessage    `json:"maximum"`
	Pattern      string             `json:"pattern"`
	Deprecated   bool               `json:"deprecated"`
	DisplayAttrs displayAttrs       `json:"x-vault-displayAttrs"`
}

type displayAttrs struct {
	Sensitive bool `json:"sensitive"`
}

// parseDocument converts the "openapi" value of a help response, which the SDK's plugin client
// has already decoded into generic maps, into a document.
func parseDocument(value interface{}) (*document, error) {
	raw, err := json.Marshal(value)
	if err != nil {
		return nil, err
	}
	var doc document
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	return &doc, nil
}

// resolve follows a local "#/components/schemas/NAME" reference and returns any other schema
// unchanged.
func (d *document) resolve(s *schema) (*schema, error) {
	if s == nil || s.Ref == "" {
		return s, nil
	}
	name := strings.TrimPrefix(s.Ref, "#/components/schemas/")
	target, ok := d.Components.Schemas[name]
	if name == s.Ref || !ok || target == nil {
		return nil, fmt.Errorf("schema reference %q does not name an entry of components.schemas", s.Ref)
	}
	return target, nil
}
