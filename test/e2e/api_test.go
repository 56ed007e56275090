package e2e

import (
	"strings"
	"testing"
)

// TestOpenAPIAndReviewViews checks the published API description and what a reviewer sees on a change
// request: the diff, comments and the plan.
func TestOpenAPIAndReviewViews(t *testing.T) {
	e := start(t, startOptions{})
	tm := cast(e)

	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
		Comps   struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	e.must(200, "GET", "/api/v1/openapi.json", "", nil).json(t, &doc)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	for path, method := range map[string]string{
		"/api/v1/requests": "post", "/api/v1/requests/{id}/credentials": "get", "/api/v1/changes/{number}/merge": "post",
		"/api/v1/secrets/{id}": "put", "/api/v1/users/{name}/tokens": "post",
	} {
		if _, ok := doc.Paths[path][method]; !ok {
			t.Errorf("OpenAPI lacks %s %s", method, path)
		}
	}
	for _, s := range []string{"RDSRequest", "S3Request", "ECRRequest", "SecretRequest", "EKSRequest", "Contract", "Error"} {
		if doc.Comps.Schemas[s] == nil {
			t.Errorf("OpenAPI lacks schema %s", s)
		}
	}

	e.file(tm.alice, contractDoc("RDSRequest", "orders", "alice", "payments", "dev", "  engine: postgres\n  size: medium\n"))
	e.must(201, "POST", "/api/v1/changes/1/comments", tm.bob, map[string]string{"body": "why medium?"})
	v := e.must(200, "GET", "/api/v1/changes/1?diff=true", tm.bob, nil)
	for _, want := range []string{
		`+kind: RDSRequest`, // the file diff
		`"path": "docs/20-contracts/rds-requests/orders/RDS-REQUEST.yaml"`,
		`"action": "create"`, `"type": "postgres database"`, // the plan
		`"name": "connection limit"`, `"value": "50"`, // medium's concrete setting
		`"body": "why medium?"`, // the comment
		`"requiredApprovals": 1`,
	} {
		if !strings.Contains(string(v.body), want) {
			t.Errorf("change request view lacks %s", want)
		}
	}
	if r := e.must(200, "GET", "/api/v1/schemas/platform", "", nil); !strings.Contains(string(r.body), `"sizeClasses"`) {
		t.Errorf("platform schema: %s", r.body)
	}
	if r := e.must(200, "GET", "/api/v1/platform", tm.alice, nil); !strings.Contains(string(r.body), `"mainSHA"`) || !strings.Contains(string(r.body), `"s3": "http://127.0.0.1:`) {
		t.Errorf("platform view: %s", r.body)
	}
}
