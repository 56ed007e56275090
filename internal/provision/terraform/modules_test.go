package terraform

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

var moduleFileNames = []string{"README.md", "main.tf", "outputs.tf", "variables.tf"}

func mustModuleFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := ModuleFiles()
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestModuleFilesAreComplete(t *testing.T) {
	files := mustModuleFiles(t)
	var want []string
	for _, dir := range ModuleDirs() {
		for _, f := range moduleFileNames {
			want = append(want, path.Join(dir, f))
		}
	}
	var got []string
	for p := range files {
		got = append(got, p)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("module files:\n got %v\nwant %v", got, want)
	}
}

// module is one module's parsed files.
type module struct {
	files  map[string]*hclsyntax.Body // main.tf, variables.tf, outputs.tf
	readme string
}

func parseModule(name string, files map[string][]byte) (*module, error) {
	m := &module{files: map[string]*hclsyntax.Body{}}
	for _, f := range moduleFileNames {
		b, ok := files[f]
		if !ok {
			return nil, fmt.Errorf("%s: %s is missing", name, f)
		}
		if f == "README.md" {
			m.readme = string(b)
			continue
		}
		file, diags := hclsyntax.ParseConfig(b, path.Join(name, f), hcl.InitialPos)
		if diags.HasErrors() {
			return nil, diags
		}
		m.files[f] = file.Body.(*hclsyntax.Body)
	}
	return m, nil
}

func blockLabels(body *hclsyntax.Body, typ string) []string {
	var out []string
	for _, b := range body.Blocks {
		if b.Type == typ && len(b.Labels) > 0 {
			out = append(out, b.Labels[0])
		}
	}
	return out
}

func locals(m *module) []string {
	var out []string
	for _, body := range m.files {
		for _, b := range body.Blocks {
			if b.Type == "locals" {
				for name := range b.Body.Attributes {
					out = append(out, name)
				}
			}
		}
	}
	return out
}

// references returns the names used as <root>.<name> in a body (var.x, local.y), walking every expression.
func references(body *hclsyntax.Body, root string) []string {
	var out []string
	_ = hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
		e, ok := n.(*hclsyntax.ScopeTraversalExpr)
		if !ok || e.Traversal.RootName() != root || len(e.Traversal) < 2 {
			return nil
		}
		if a, ok := e.Traversal[1].(hcl.TraverseAttr); ok {
			out = append(out, a.Name)
		}
		return nil
	})
	return out
}

// checkModule lists what is wrong with a module: an undeclared or unused variable or local, and a variable
// or output the README does not list (or one it lists that does not exist).
func checkModule(name string, files map[string][]byte) []string {
	m, err := parseModule(name, files)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	vars := blockLabels(m.files["variables.tf"], "variable")
	outs := blockLabels(m.files["outputs.tf"], "output")
	locs := locals(m)
	used := map[string]bool{}
	for _, f := range []string{"main.tf", "outputs.tf", "variables.tf"} {
		for _, v := range references(m.files[f], "var") {
			used[v] = true
			if !slices.Contains(vars, v) {
				problems = append(problems, fmt.Sprintf("%s/%s: var.%s is not declared in variables.tf", name, f, v))
			}
		}
		for _, l := range references(m.files[f], "local") {
			if !slices.Contains(locs, l) {
				problems = append(problems, fmt.Sprintf("%s/%s: local.%s is not declared", name, f, l))
			}
		}
	}
	for _, v := range vars {
		if !used[v] {
			problems = append(problems, fmt.Sprintf("%s: variable %q is declared but never used", name, v))
		}
	}
	problems = append(problems, checkReadmeSection(name, m.readme, "Variables", vars)...)
	problems = append(problems, checkReadmeSection(name, m.readme, "Outputs", outs)...)
	return problems
}

var readmeName = regexp.MustCompile("`([a-z0-9_]+)`")

// checkReadmeSection checks that the README's "## <section>" table names exactly the given names (in its
// first column; several names may share a row).
func checkReadmeSection(name, readme, section string, names []string) []string {
	_, rest, ok := strings.Cut(readme, "\n## "+section+"\n")
	if !ok {
		return []string{fmt.Sprintf("%s/README.md: no %q section", name, "## "+section)}
	}
	rest, _, _ = strings.Cut(rest, "\n## ")
	listed := map[string]bool{}
	for _, line := range strings.Split(rest, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 {
			continue
		}
		for _, m := range readmeName.FindAllStringSubmatch(cells[1], -1) {
			listed[m[1]] = true
		}
	}
	var problems []string
	for _, n := range names {
		if !listed[n] {
			problems = append(problems, fmt.Sprintf("%s/README.md: %s does not list %q", name, section, n))
		}
	}
	for n := range listed {
		if !slices.Contains(names, n) {
			problems = append(problems, fmt.Sprintf("%s/README.md: %s lists %q, which the module does not have", name, section, n))
		}
	}
	sort.Strings(problems)
	return problems
}

func filesOf(all map[string][]byte, dir string) map[string][]byte {
	out := map[string][]byte{}
	for p, b := range all {
		if path.Dir(p) == dir {
			out[path.Base(p)] = b
		}
	}
	return out
}

func TestModulesParseAndAreConsistent(t *testing.T) {
	all := mustModuleFiles(t)
	for _, dir := range ModuleDirs() {
		t.Run(path.Base(dir), func(t *testing.T) {
			for _, p := range checkModule(path.Base(dir), filesOf(all, dir)) {
				t.Error(p)
			}
		})
	}
}

// The check itself must catch the mistakes it is for: each broken copy of aws_ecr must be reported.
func TestCheckModuleCatchesMistakes(t *testing.T) {
	good := filesOf(mustModuleFiles(t), "modules/aws_ecr")
	if p := checkModule("aws_ecr", good); len(p) != 0 {
		t.Fatalf("the real module has problems: %v", p)
	}
	tests := []struct {
		name, file, old, new, want string
	}{
		{"typo in a variable name", "main.tf", "var.scan_on_push", "var.scan_on_psuh", `var.scan_on_psuh is not declared`},
		{"typo in an output's variable", "outputs.tf", "aws_ecr_repository.this.arn", "var.nme", `var.nme is not declared`},
		{"typo in a local", "main.tf", "tags = local.tags", "tags = local.tag", `local.tag is not declared`},
		{"variable declared, never used", "main.tf", "scan_on_push = var.scan_on_push", "scan_on_push = true", `"scan_on_push" is declared but never used`},
		{"README misses a variable", "README.md", "| `max_images` |", "| max images |", `Variables does not list "max_images"`},
		{"README lists a gone output", "outputs.tf", `output "arn"`, `output "repository_arn"`, `Outputs lists "arn"`},
		{"syntax error", "main.tf", "resource \"aws_ecr_repository\" \"this\" {", "resource \"aws_ecr_repository\" \"this\" {{", "aws_ecr/main.tf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			broken := map[string][]byte{}
			for f, b := range good {
				broken[f] = b
			}
			if !strings.Contains(string(good[tt.file]), tt.old) {
				t.Fatalf("%s does not contain %q", tt.file, tt.old)
			}
			broken[tt.file] = []byte(strings.Replace(string(good[tt.file]), tt.old, tt.new, 1))
			problems := strings.Join(checkModule("aws_ecr", broken), "\n")
			if !strings.Contains(problems, tt.want) {
				t.Errorf("got problems %q, want one containing %q", problems, tt.want)
			}
		})
	}
}

func resourceBlock(body *hclsyntax.Body, typ string) *hclsyntax.Block {
	for _, b := range body.Blocks {
		if b.Type == "resource" && b.Labels[0] == typ {
			return b
		}
	}
	return nil
}

// The settings the issue requires are literal in the modules, not left to a variable a caller could turn off.
func TestModulesFixTheRequiredSettings(t *testing.T) {
	all := mustModuleFiles(t)
	tests := []struct {
		module, resource, attr string
		want                   cty.Value
	}{
		{"aws_s3", "aws_s3_bucket_public_access_block", "block_public_acls", cty.True},
		{"aws_s3", "aws_s3_bucket_public_access_block", "block_public_policy", cty.True},
		{"aws_s3", "aws_s3_bucket_public_access_block", "ignore_public_acls", cty.True},
		{"aws_s3", "aws_s3_bucket_public_access_block", "restrict_public_buckets", cty.True},
		{"aws_s3", "aws_s3_bucket_ownership_controls", "rule.object_ownership", cty.StringVal("BucketOwnerEnforced")},
		{"aws_rds", "aws_db_instance", "deletion_protection", cty.True},
		{"aws_rds", "aws_db_instance", "storage_encrypted", cty.True},
		{"aws_rds", "aws_db_instance", "manage_master_user_password", cty.True},
		{"aws_rds", "aws_db_instance", "skip_final_snapshot", cty.False},
		{"aws_rds", "aws_db_instance", "publicly_accessible", cty.False},
		{"aws_rds", "aws_db_instance", "engine", cty.StringVal("postgres")},
	}
	for _, tt := range tests {
		t.Run(tt.module+" "+tt.resource+"."+tt.attr, func(t *testing.T) {
			m, err := parseModule(tt.module, filesOf(all, "modules/"+tt.module))
			if err != nil {
				t.Fatal(err)
			}
			b := resourceBlock(m.files["main.tf"], tt.resource)
			if b == nil {
				t.Fatalf("no resource %s", tt.resource)
			}
			body := b.Body
			parts := strings.Split(tt.attr, ".")
			for _, nested := range parts[:len(parts)-1] {
				var next *hclsyntax.Body
				for _, nb := range body.Blocks {
					if nb.Type == nested {
						next = nb.Body
					}
				}
				if next == nil {
					t.Fatalf("no %s block", nested)
				}
				body = next
			}
			a, ok := body.Attributes[parts[len(parts)-1]]
			if !ok {
				t.Fatalf("%s is not set", tt.attr)
			}
			got, diags := a.Expr.Value(nil)
			if diags.HasErrors() {
				t.Fatalf("%s is not a literal: %v", tt.attr, diags)
			}
			if !got.RawEquals(tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.attr, got, tt.want)
			}
		})
	}
}

// Every tagged resource carries the goldenpath.io tags through local.tags, and local.tags has all four.
func TestModulesTagEveryResource(t *testing.T) {
	all := mustModuleFiles(t)
	for _, name := range ModuleNames() {
		t.Run(name, func(t *testing.T) {
			main := string(all["modules/"+name+"/main.tf"])
			for _, key := range []string{"request-id", "owner", "team", "environment"} {
				if !strings.Contains(main, `"goldenpath.io/`+key+`"`) {
					t.Errorf("local.tags has no goldenpath.io/%s", key)
				}
			}
			m, err := parseModule(name, filesOf(all, "modules/"+name))
			if err != nil {
				t.Fatal(err)
			}
			tagged := 0
			for _, b := range m.files["main.tf"].Blocks {
				a, ok := b.Body.Attributes["tags"]
				if b.Type != "resource" || !ok {
					continue
				}
				tagged++
				e, ok := a.Expr.(*hclsyntax.ScopeTraversalExpr)
				if !ok || e.Traversal.RootName() != "local" || e.Traversal[1].(hcl.TraverseAttr).Name != "tags" {
					t.Errorf("%s.%s: tags is not local.tags", b.Labels[0], b.Labels[1])
				}
			}
			if tagged == 0 {
				t.Error("no resource has tags")
			}
		})
	}
}
