package rest

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/contract"
)

var pathParam = regexp.MustCompile(`\{([a-z]+)\}`)

// bodies describes the request bodies named in the route table.
var bodies = map[string]map[string]any{
	"openChange":   object(map[string]any{"branch": str(), "title": str(), "body": str()}, "branch"),
	"review":       object(map[string]any{"comment": str()}),
	"reason":       object(map[string]any{"reason": str()}),
	"comment":      object(map[string]any{"body": str()}, "body"),
	"secretValue":  object(map[string]any{"value": str()}, "value"),
	"user":         object(map[string]any{"name": str(), "displayName": str(), "email": str(), "roles": strs(), "teams": strs()}, "name", "roles"),
	"tokenRequest": object(map[string]any{"description": str(), "ttl": str()}),
	"userChange":   object(map[string]any{"roles": strs(), "teams": strs()}),
}

func str() map[string]any  { return map[string]any{"type": "string"} }
func strs() map[string]any { return map[string]any{"type": "array", "items": str()} }
func object(props map[string]any, required ...string) map[string]any {
	m := map[string]any{"type": "object", "additionalProperties": false, "properties": props}
	if len(required) > 0 {
		m["required"] = required
	}
	return m
}

// OpenAPI builds the OpenAPI 3.1 document from the route table.
func (s *Server) OpenAPI() map[string]any {
	paths := map[string]any{}
	for _, rt := range s.routes {
		op := map[string]any{"summary": rt.summary, "responses": map[string]any{
			"default": map[string]any{"description": "An error.", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}},
			"2XX":     map[string]any{"description": "Success.", "content": map[string]any{"application/json": map[string]any{}}},
		}}
		if !rt.public {
			op["security"] = []any{map[string]any{"token": []any{}}}
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": str()})
		}
		if params != nil {
			op["parameters"] = params
		}
		switch {
		case rt.body == "contract":
			op["requestBody"] = map[string]any{"required": true, "description": "One contract document, YAML or JSON.", "content": map[string]any{
				"application/yaml": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Contract"}},
				"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Contract"}},
			}}
		case rt.body != "":
			op["requestBody"] = map[string]any{"content": map[string]any{"application/json": map[string]any{"schema": bodies[rt.body]}}}
		}
		item, _ := paths[rt.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.path] = item
		}
		item[strings.ToLower(rt.method)] = op
	}
	schemas := map[string]any{
		"Error": object(map[string]any{"code": str(), "message": str(), "field": str(),
			"errors":  map[string]any{"type": "array", "items": object(map[string]any{"file": str(), "field": str(), "line": map[string]any{"type": "integer"}, "rule": str()})},
			"reasons": strs()}, "code", "message"),
	}
	var oneOf []any
	for _, k := range contract.Kinds() {
		raw, _ := contract.SchemaJSON(k.Kind)
		var sch map[string]any
		_ = json.Unmarshal(raw, &sch)
		delete(sch, "$schema")
		delete(sch, "$id")
		schemas[string(k.Kind)] = sch
		oneOf = append(oneOf, map[string]any{"$ref": "#/components/schemas/" + string(k.Kind)})
	}
	schemas["Contract"] = map[string]any{"oneOf": oneOf}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "goldenpath", "version": s.Version,
			"description": "The Golden Path Internal Developer Platform. Authenticate with `Authorization: Bearer <token>`."},
		"paths": paths,
		"components": map[string]any{
			"schemas":         schemas,
			"securitySchemes": map[string]any{"token": map[string]any{"type": "http", "scheme": "bearer"}},
		},
	}
}

func (s *Server) openapi(w http.ResponseWriter, _ *http.Request, _ auth.Principal) error {
	return writeJSON(w, http.StatusOK, s.OpenAPI())
}
