package contract

import (
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/platform"
)

func cfg(t *testing.T) *platform.Config {
	t.Helper()
	c, err := platform.Parse("platform.yaml", platform.DefaultYAML("goldenpathidp.io"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const rdsOrders = `apiVersion: goldenpath.io/v1
kind: RDSRequest
metadata:
  name: orders
  owner: alice
  team: payments
  environment: dev
spec:
  engine: postgres
  size: small
`

func TestParseValid(t *testing.T) {
	rs, err := Parse("docs/20-contracts/rds-requests/orders/RDS-REQUEST.yaml", []byte(rdsOrders), true)
	if err != nil {
		t.Fatal(err)
	}
	r := rs[0]
	if r.ID() != "rds.dev.orders" {
		t.Errorf("id = %s", r.ID())
	}
	if r.DatabaseName() != "orders" {
		t.Errorf("database name = %s", r.DatabaseName())
	}
	if errs := r.Validate(cfg(t)); len(errs) > 0 {
		t.Errorf("unexpected validation errors: %v", errs)
	}
	// A rendered request parses back to the same thing.
	again, err := ParseOne("x.yaml", r.Marshal())
	if err != nil {
		t.Fatalf("re-parsing rendered request: %v\n%s", err, r.Marshal())
	}
	if string(again.Marshal()) != string(r.Marshal()) {
		t.Errorf("render is not stable:\n%s\nvs\n%s", again.Marshal(), r.Marshal())
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"malformed", "kind: [", []string{"malformed YAML"}},
		{"wrong apiVersion", strings.Replace(rdsOrders, "goldenpath.io/v1", "v1", 1), []string{"f.yaml:1: apiVersion: must be \"goldenpath.io/v1\""}},
		{"unknown kind", strings.Replace(rdsOrders, "RDSRequest", "RedisRequest", 1), []string{"kind: unknown kind \"RedisRequest\""}},
		{"unknown field", rdsOrders + "  replicas: 3\n", []string{"spec.replicas: unknown field"}},
		{"field of another kind", rdsOrders + "  versioning: true\n", []string{"spec.versioning: unknown field"}},
		{"invalid name", strings.Replace(rdsOrders, "name: orders", "name: Orders_DB", 1), []string{"metadata.name", "not a valid name"}},
		{"missing team", strings.Replace(rdsOrders, "  team: payments\n", "", 1), []string{"metadata.team: is required"}},
		{"missing owner", strings.Replace(rdsOrders, "  owner: alice\n", "", 1), []string{"metadata.owner: is required"}},
		{"bad engine", strings.Replace(rdsOrders, "engine: postgres", "engine: mysql", 1), []string{"spec.engine", "postgres"}},
		{"duplicate key", strings.Replace(rdsOrders, "  size: small\n", "  size: small\n  size: xlarge\n", 1), []string{"f.yaml:11: spec.size:", `key "size" at line 11 repeats line 10`}},
		{"eks ttl too long", "apiVersion: goldenpath.io/v1\nkind: EKSRequest\nmetadata: {name: c, owner: a, team: t, environment: dev}\nspec: {size: small, ttl: 500h}\n", []string{"spec.ttl", "at most 168h"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.doc), false)
			if err == nil {
				t.Fatalf("got nil error, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestValidateAgainstPlatform(t *testing.T) {
	r, err := ParseOne("f.yaml", []byte(strings.NewReplacer("environment: dev", "environment: qa", "size: small", "size: huge").Replace(rdsOrders)))
	if err != nil {
		t.Fatal(err)
	}
	errs := r.Validate(cfg(t))
	got := errs.Error()
	for _, w := range []string{`f.yaml:7: metadata.environment: environment "qa" is not defined in platform.yaml (defined: dev, staging, prod)`,
		`f.yaml:10: spec.size: size class "huge" is not defined for RDSRequest in platform.yaml (defined: small, medium, large, xlarge)`} {
		if !strings.Contains(got, w) {
			t.Errorf("errors %q do not contain %q", got, w)
		}
	}
}

func TestLoadSet(t *testing.T) {
	staging := strings.Replace(rdsOrders, "environment: dev", "environment: staging", 1)
	files := []File{
		{Path: "docs/20-contracts/rds-requests/orders/RDS-REQUEST.yaml", Content: []byte(rdsOrders + "---\n" + staging)},
		{Path: "docs/20-contracts/rds-requests/billing/RDS-REQUEST.yaml", Content: []byte(rdsOrders)}, // wrong place
		{Path: "docs/20-contracts/rds-requests/dup/RDS-REQUEST.yaml", Content: []byte(strings.Replace(rdsOrders+"---\n"+rdsOrders, "name: orders", "name: dup", 2))},
		{Path: "docs/20-contracts/README.md", Content: []byte("# not a contract")},
	}
	s := Load(files, cfg(t))
	if len(s.Requests) != 2 {
		t.Errorf("got %d valid requests, want 2 (orders in dev and staging): %v", len(s.Requests), s.Sorted())
	}
	if !s.Broken["docs/20-contracts/rds-requests/billing/RDS-REQUEST.yaml"] {
		t.Error("misplaced file not reported broken")
	}
	if !s.Broken["docs/20-contracts/rds-requests/dup/RDS-REQUEST.yaml"] {
		t.Error("duplicate not reported")
	}
	if !strings.Contains(s.Errors.Error(), "must be in docs/20-contracts/rds-requests/orders/RDS-REQUEST.yaml") {
		t.Errorf("errors = %v", s.Errors)
	}
	if !strings.Contains(s.Errors.Error(), "is already defined in") {
		t.Errorf("errors = %v", s.Errors)
	}
}

func TestCheckUpdate(t *testing.T) {
	old, _ := ParseOne("f.yaml", []byte(rdsOrders))
	resized, _ := ParseOne("f.yaml", []byte(strings.Replace(rdsOrders, "size: small", "size: large", 1)))
	if errs := CheckUpdate(old, resized); len(errs) > 0 {
		t.Errorf("resizing should be allowed, got %v", errs)
	}
	renamed, _ := ParseOne("f.yaml", []byte(rdsOrders+"  databaseName: orders_v2\n"))
	errs := CheckUpdate(old, renamed)
	if len(errs) != 1 || !strings.Contains(errs.Error(), "spec.databaseName: is immutable") {
		t.Errorf("got %v, want databaseName immutable", errs)
	}
}

func TestSchemasPublished(t *testing.T) {
	for _, k := range Kinds() {
		raw, err := SchemaJSON(k.Kind)
		if err != nil || !strings.Contains(string(raw), `"const": "`+string(k.Kind)+`"`) {
			t.Errorf("%s: schema missing or wrong: %v", k.Kind, err)
		}
	}
}

// TestDerivedNamesWithinBackendLimits: a request whose database, role or bucket name would pass a backend's
// identifier limit is refused when parsed, naming the field to shorten and the limit, instead of being cut
// short (PostgreSQL) or failing after the merge (S3).
func TestDerivedNamesWithinBackendLimits(t *testing.T) {
	long := func(n int) string { return "d" + strings.Repeat("b", n-1) }
	env := "e" + strings.Repeat("x", 24) // 25 bytes
	rds := func(name, env, dbName string) string {
		doc := strings.NewReplacer("name: orders", "name: "+name, "environment: dev", "environment: "+env).Replace(rdsOrders)
		if dbName != "" {
			doc += "  databaseName: " + dbName + "\n"
		}
		return doc
	}
	s3 := func(name, env string) string {
		return "apiVersion: goldenpath.io/v1\nkind: S3Request\nmetadata: {name: " + name + ", owner: a, team: t, environment: " + env + "}\nspec: {size: small}\n"
	}
	for _, tt := range []struct {
		name string
		doc  string
		want []string // nil: valid
	}{
		{"database name of 63 bytes", rds("orders", "dev", long(59)), nil},
		{"database name of 64 bytes", rds("orders", "dev", long(60)),
			[]string{"f.yaml:11: spec.databaseName:", `"` + long(60) + `_dev"`, "is 64 bytes", "at most 63 bytes"}},
		{"request name and a long environment", rds(long(40), env, ""),
			[]string{"f.yaml:4: metadata.name:", "is 66 bytes", "PostgreSQL identifiers are at most 63 bytes", "shorten metadata.name"}},
		{"dashes become underscores, same length", rds("a-b", "dev-x", ""), nil},
		{"bucket name of 63 bytes", s3(long(37), env), nil},
		{"bucket name of 66 bytes", s3(long(40), env), []string{"metadata.name:", "is 66 bytes", "S3 bucket names are at most 63 bytes"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := Parse("f.yaml", []byte(tt.doc), false)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if n := rs[0].PostgresName(); rs[0].Kind == RDS && len(n) > MaxPostgresIdentifier {
					t.Errorf("accepted %q of %d bytes", n, len(n))
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse accepted it, want an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
