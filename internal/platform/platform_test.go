package platform

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseDefault(t *testing.T) {
	c, err := Parse("platform.yaml", DefaultYAML("goldenpathidp.io"))
	if err != nil {
		t.Fatalf("default platform.yaml does not parse: %v", err)
	}
	if c.Domain != "goldenpathidp.io" {
		t.Errorf("domain = %q, want goldenpathidp.io", c.Domain)
	}
	prod, ok := c.Environment("prod")
	if !ok || prod.Approvals != 2 {
		t.Errorf("prod = %+v, %v; want 2 approvals", prod, ok)
	}
	if got := strings.Join(c.SizeClassNames("rds"), ","); got != "small,medium,large,xlarge" {
		t.Errorf("rds size classes = %s", got)
	}
	if got := c.SizeClasses.RDS["small"].MaxConnections; got != 20 {
		t.Errorf("rds small maxConnections = %d, want 20", got)
	}
}

func TestParseErrors(t *testing.T) {
	base := string(DefaultYAML("goldenpathidp.io"))
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error
	}{
		{"malformed", "apiVersion: [", []string{"platform.yaml:", "malformed YAML"}},
		{"unknown top-level field", base + "colour: blue\n", []string{"colour: unknown field"}},
		{"unknown nested field", strings.Replace(base, "approvals: 2", "approvals: 2\n    region: eu", 1), []string{"environments[2].region: unknown field"}},
		{"wrong apiVersion", strings.Replace(base, "goldenpath.io/v1", "goldenpath.io/v2", 1), []string{"apiVersion"}},
		{"wrong kind", strings.Replace(base, "kind: Platform", "kind: Cluster", 1), []string{"kind"}},
		{"bad domain", strings.Replace(base, "domain: goldenpathidp.io", "domain: Not_A_Domain", 1), []string{"platform.yaml:6: domain:"}},
		{"duplicate environment", strings.Replace(base, "name: staging", "name: dev", 1), []string{"environments[1].name", `environment "dev" is already defined`}},
		{"zero approvals", strings.Replace(base, "approvals: 2", "approvals: 0", 1), []string{"environments[2].approvals"}},
		{"aws backend without region", strings.Replace(base, "backend: local\n    approvals: 2", "backend: aws\n    approvals: 2", 1), []string{"environments[2].aws.region", "required"}},
		{"aws account not 12 digits", strings.Replace(base, "backend: local\n    approvals: 2", "backend: aws\n    aws: {region: eu-west-1, account: \"123\"}\n    approvals: 2", 1), []string{"environments[2].aws.account", "12 digits"}},
		{"aws bad role arn", strings.Replace(base, "backend: local\n    approvals: 2", "backend: aws\n    aws: {region: eu-west-1, assumeRoleArn: admin}\n    approvals: 2", 1), []string{"environments[2].aws.assumeRoleArn", "IAM role ARN"}},
		{"aws external id alone", strings.Replace(base, "backend: local\n    approvals: 2", "backend: aws\n    aws: {region: eu-west-1, externalId: x}\n    approvals: 2", 1), []string{"environments[2].aws.externalId", "without aws.assumeRoleArn"}},
		{"aws unknown field", strings.Replace(base, "backend: local\n    approvals: 2", "backend: aws\n    aws: {region: eu-west-1, colour: blue}\n    approvals: 2", 1), []string{"environments[2].aws.colour: unknown field"}},
		{"terraform backend not yet", strings.Replace(base, "backend: local\n    approvals: 2", "backend: terraform\n    approvals: 2", 1), []string{"environments[2].backend", `backend "terraform" is not available`}},
		{"password in url", strings.Replace(base, `url: ""`, `url: "postgres://postgres:hunter2@127.0.0.1/postgres"`, 1), []string{"local.postgres.url", "must not contain a password"}},
		{"missing size field", strings.Replace(base, "{quotaGB: 5}", "{}", 1), []string{"sizeClasses.s3.small.quotaGB: is required"}},
		{"two documents", base + "---\n" + base, []string{"exactly one YAML document"}},
		{"duplicate key", base + "domain: other.example\n", []string{"platform.yaml:", `key "domain" at line`, "repeats line 6"}},
		{"alias", "apiVersion: &a goldenpath.io/v1\nkind: *a\n", []string{"aliases are not allowed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("platform.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("got no error, want one containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseAWSBackend(t *testing.T) {
	base := string(DefaultYAML("goldenpathidp.io"))
	y := strings.Replace(base, "backend: local\n    approvals: 2", `backend: aws
    aws:
      region: eu-west-1
      account: "123456789012"
      assumeRoleArn: arn:aws:iam::123456789012:role/goldenpath
      externalId: gp
      tags: {cost-center: "42"}
      kmsKeyId: alias/goldenpath
      endpoint: http://127.0.0.1:4566
    approvals: 2`, 1)
	c, err := Parse("platform.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	prod, _ := c.Environment("prod")
	want := AWS{Region: "eu-west-1", Account: "123456789012", AssumeRoleARN: "arn:aws:iam::123456789012:role/goldenpath", ExternalID: "gp",
		Tags: map[string]string{"cost-center": "42"}, KMSKeyID: "alias/goldenpath", Endpoint: "http://127.0.0.1:4566"}
	if prod.Backend != BackendAWS || prod.AWS == nil || fmt.Sprint(*prod.AWS) != fmt.Sprint(want) {
		t.Errorf("prod: got backend %q, aws %+v; want aws with %+v", prod.Backend, prod.AWS, want)
	}
}

func TestPostgresURL(t *testing.T) {
	c := &Config{Local: Local{Postgres: Postgres{URL: "postgres://admin@127.0.0.1:5432/postgres"}}}
	env := map[string]string{"GOLDENPATH_POSTGRES_PASSWORD": "s3cret"}
	got := c.PostgresURL(func(k string) string { return env[k] })
	if got != "postgres://admin:s3cret@127.0.0.1:5432/postgres" {
		t.Errorf("got %q", got)
	}
	if r := Redact(got); strings.Contains(r, "s3cret") {
		t.Errorf("Redact leaked the password: %q", r)
	}
	env["GOLDENPATH_POSTGRES_URL"] = "postgres://other@db:5432/x"
	if got := c.PostgresURL(func(k string) string { return env[k] }); got != "postgres://other@db:5432/x" {
		t.Errorf("env URL should win, got %q", got)
	}
	if got := (&Config{}).PostgresURL(func(string) string { return "" }); got != "" {
		t.Errorf("unconfigured should be empty, got %q", got)
	}
}

func TestEdgeDefaults(t *testing.T) {
	c, err := Parse("platform.yaml", DefaultYAML("goldenpathidp.io"))
	if err != nil {
		t.Fatal(err)
	}
	if c.DNS.Provider != "embedded" || c.DNS.OwnerID != "goldenpath" || c.DNS.Policy != "sync" || c.DNS.TTL != 300 || c.Kong.Edition != "oss" {
		t.Errorf("dns/kong defaults: %+v %+v", c.DNS, c.Kong)
	}
	var hosts []string
	for _, tool := range c.Tooling {
		hosts = append(hosts, tool.Host+"="+tool.Auth)
	}
	if got := strings.Join(hosts, ","); got != "argocd.dev.goldenpathidp.io=sso,backstage.dev.goldenpathidp.io=sso,grafana.dev.goldenpathidp.io=sso,keycloak.dev.goldenpathidp.io=public" {
		t.Errorf("default tooling = %s", got)
	}
	if d := c.EnvironmentDomain("prod"); d != "goldenpathidp.io" {
		t.Errorf("prod domain = %s", d)
	}
	bad := strings.Replace(string(DefaultYAML("goldenpathidp.io")), "kong:", "tooling:\n  - {name: argocd, environment: qa}\nkong:", 1)
	if _, err := Parse("platform.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), `tooling[0].environment: environment "qa" is not defined`) {
		t.Errorf("tooling in an unknown environment: %v", err)
	}
}
