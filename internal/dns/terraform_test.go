package dns

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclparse"
)

func seedTerraformOptions() TerraformOptions {
	return TerraformOptions{Zone: "goldenpathidp.io", Environments: []string{"dev", "staging", "prod"}, OwnerID: "goldenpath"}
}

func TestRenderTerraformGolden(t *testing.T) {
	desired, err := DesiredFromPlatform(seedPlatform(t), seedRoutes(), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	long := Record{Name: "_dkim.goldenpathidp.io", Type: TypeTXT, TTL: 3600, Environment: "prod", Resource: "route/prod/mail",
		Targets: []string{"v=DKIM1; k=rsa; p=" + strings.Repeat("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A", 10) + `; n="quoted ${not_interpolated}"`}}
	files, err := RenderTerraform(append(desired, long), seedTerraformOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"envs/dev/route53.tf", "envs/prod/route53.tf", "envs/staging/route53.tf",
		"modules/aws_route53/README.md", "modules/aws_route53/main.tf", "modules/aws_route53/outputs.tf", "modules/aws_route53/variables.tf"}
	var got []string
	for name := range files {
		got = append(got, name)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	for _, name := range got {
		t.Run(name, func(t *testing.T) {
			golden(t, "terraform/"+name, files[name])
			if !strings.HasSuffix(name, ".tf") {
				return
			}
			if _, diags := hclparse.NewParser().ParseHCL(files[name], name); diags.HasErrors() {
				t.Fatalf("%s does not parse: %v", name, diags)
			}
		})
	}
	t.Run("records read back", func(t *testing.T) {
		for _, env := range []string{"dev", "staging", "prod"} {
			back, err := ParseTerraformEnv(EnvFile(env), files[EnvFile(env)])
			if err != nil {
				t.Fatal(err)
			}
			var sent []string
			for _, r := range append(desired, long) {
				if r.Environment == env {
					sent = append(sent, r.Normalize().String()+" "+r.Resource)
				}
			}
			var read []string
			for _, r := range back {
				read = append(read, r.String()+" "+r.Resource)
			}
			slices.Sort(sent)
			slices.Sort(read)
			if !slices.Equal(read, sent) {
				t.Errorf("%s: read back\n%q\nwant\n%q", env, read, sent)
			}
		}
	})
}

func TestRenderTerraformRefuses(t *testing.T) {
	ok := Record{Name: "web.dev.goldenpathidp.io", Type: TypeA, TTL: 300, Targets: []string{"10.0.0.1"}, Environment: "dev"}
	tests := []struct {
		name    string
		records []Record
		opts    TerraformOptions
		want    string
	}{
		{"record without an environment", []Record{{Name: "x.goldenpathidp.io", Type: TypeA, TTL: 300, Targets: []string{"10.0.0.1"}}},
			seedTerraformOptions(), `record x.goldenpathidp.io A: environment "" is not one of`},
		{"no environments", []Record{ok}, TerraformOptions{Zone: "goldenpathidp.io"}, "at least one environment"},
		{"zone environment unknown", []Record{ok}, TerraformOptions{Zone: "goldenpathidp.io", Environments: []string{"dev"}, ZoneEnvironment: "ops"}, `zone environment "ops"`},
		{"record outside the zone", []Record{{Name: "x.example.com", Type: TypeA, TTL: 300, Targets: []string{"10.0.0.1"}, Environment: "dev"}},
			seedTerraformOptions(), "outside the zone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := RenderTerraform(tt.records, tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestTerraformProviderPlansAgainstItsFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := NewTerraform(dir, seedTerraformOptions())
	opts := Options{Zone: "goldenpathidp.io", OwnerID: "goldenpath"}
	cfg := seedPlatform(t)
	desired, err := DesiredFromPlatform(cfg, seedRoutes(), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Sync(ctx, p, desired, opts); err != nil {
		t.Fatal(err)
	}
	again, err := Sync(ctx, p, desired, opts)
	if err != nil || again.HasChanges() {
		t.Fatalf("second sync: %v\n%s\nwant no changes: the files read back as written", err, again)
	}
	// orders leaves prod; the staging gateway moves to an IP.
	cfg.Environments[1].Gateway.Address = "203.0.113.10"
	routes := slices.DeleteFunc(seedRoutes(), func(r Route) bool { return r.Environment == "prod" })
	desired, err = DesiredFromPlatform(cfg, routes, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Sync(ctx, p, desired, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Delete) != 6 || len(plan.Create) != 4 || len(plan.Update) != 0 {
		t.Errorf("plan:\n%s\nwant orders.goldenpathidp.io deleted and the two staging CNAMEs replaced by A records", plan)
	}
	prod, err := os.ReadFile(filepath.Join(dir, "envs", "prod", "route53.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(prod), "orders.goldenpathidp.io") {
		t.Errorf("envs/prod/route53.tf still has orders.goldenpathidp.io:\n%s", prod)
	}
	staging, _ := os.ReadFile(filepath.Join(dir, "envs", "staging", "route53.tf"))
	if !strings.Contains(string(staging), `"203.0.113.10"`) || strings.Contains(string(staging), "CNAME") {
		t.Errorf("envs/staging/route53.tf does not point at the new gateway IP:\n%s", staging)
	}
	if _, err := os.Stat(filepath.Join(dir, "modules", "aws_route53", "main.tf")); err != nil {
		t.Errorf("module not written: %v", err)
	}
}
