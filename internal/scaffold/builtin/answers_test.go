package builtin

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
)

type answers = map[string]any

// wantRequest is a contract a template files for a set of answers.
type wantRequest struct {
	kind contract.Kind
	id   string
}

type answerCase struct {
	name    string
	answers answers
	want    []wantRequest // for valid answers: the contracts filed
	bad     string        // for invalid answers: the field the form must refuse
}

func long(n int) string { return "a" + strings.Repeat("b", n-1) }

// answerCases holds, per template, answers a developer might give: valid ones (defaults, everything set)
// and ones the form must refuse before anything is filed.
func answerCases() map[string][]answerCase {
	app := answers{"name": "orders", "owner": "group:default/payments", "repoUrl": "goldenpath?owner=payments&repo=orders"}
	with := func(base answers, kv ...any) answers {
		out := maps.Clone(base)
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(out, kv[i].(string))
				continue
			}
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	req := answers{"name": "orders"}
	common := func(kind contract.Kind) []answerCase {
		info, _ := kind.Info()
		short := info.Short
		return []answerCase{
			{name: "defaults", answers: req, want: []wantRequest{{kind, short + ".dev.orders"}}},
			{name: "prod, owning team given", answers: with(req, "environment", "prod", "owner", "group:default/payments"),
				want: []wantRequest{{kind, short + ".prod.orders"}}},
			{name: "name of 40 characters", answers: with(req, "name", long(40)), want: []wantRequest{{kind, short + ".dev." + long(40)}}},
			{name: "name too long", answers: with(req, "name", long(41)), bad: "name"},
			{name: "name with capitals", answers: with(req, "name", "Orders"), bad: "name"},
			{name: "name ending in -", answers: with(req, "name", "orders-"), bad: "name"},
			{name: "no name", answers: answers{}, bad: "name"},
			{name: "unknown environment", answers: with(req, "environment", "qa"), bad: "environment"},
		}
	}
	sized := func(kind contract.Kind) []answerCase {
		return append(common(kind), answerCase{name: "unknown size", answers: with(req, "size", "huge"), bad: "size"})
	}
	return map[string][]answerCase{
		"app-template": {
			{name: "defaults", answers: app, want: []wantRequest{{contract.ECR, "ecr.dev.orders"}}},
			{name: "everything set, no registry", answers: with(app, "name", "orders-api", "description", "Takes orders",
				"system", "system:default/shop", "port", 9090, "registry", false, "domain", "example.com")},
			{name: "name with capitals", answers: with(app, "name", "Orders"), bad: "name"},
			{name: "name starting with a digit", answers: with(app, "name", "1orders"), bad: "name"},
			{name: "name too long", answers: with(app, "name", long(41)), bad: "name"},
			{name: "privileged port", answers: with(app, "port", 80), bad: "port"},
			{name: "domain without a dot", answers: with(app, "domain", "localhost"), bad: "domain"},
			{name: "no owner", answers: with(app, "owner", nil), bad: "owner"},
			{name: "no repository", answers: with(app, "repoUrl", nil), bad: "repoUrl"},
		},
		"stateful-app-template": {
			{name: "defaults", answers: app, want: []wantRequest{{contract.RDS, "rds.dev.orders"}}},
			{name: "database named, large", answers: with(app, "db_name", "orders_db", "db_size", "large"),
				want: []wantRequest{{contract.RDS, "rds.dev.orders"}}},
			{name: "name too long", answers: with(app, "name", long(41)), bad: "name"},
			{name: "other engine", answers: with(app, "db_engine", "mysql"), bad: "db_engine"},
			{name: "unknown size", answers: with(app, "db_size", "huge"), bad: "db_size"},
			{name: "database name with '-'", answers: with(app, "db_name", "orders-db"), bad: "db_name"},
			{name: "no owner", answers: with(app, "owner", nil), bad: "owner"},
		},
		"ecr-request": append(sized(contract.ECR),
			answerCase{name: "mutable tags, no scan", answers: with(req, "tagImmutability", false, "scanOnPush", false, "size", "xlarge"),
				want: []wantRequest{{contract.ECR, "ecr.dev.orders"}}}),
		"rds-request": append(sized(contract.RDS),
			answerCase{name: "database named", answers: with(req, "databaseName", "orders_main", "size", "medium"),
				want: []wantRequest{{contract.RDS, "rds.dev.orders"}}},
			answerCase{name: "database name with '-'", answers: with(req, "databaseName", "orders-main"), bad: "databaseName"},
			answerCase{name: "other engine", answers: with(req, "engine", "mysql"), bad: "engine"}),
		"s3-request": append(sized(contract.S3),
			answerCase{name: "versioned, KMS", answers: with(req, "versioning", true, "encryption", "aws:kms"),
				want: []wantRequest{{contract.S3, "s3.dev.orders"}}},
			answerCase{name: "no encryption", answers: with(req, "encryption", "none"), bad: "encryption"}),
		"secret-request": append(common(contract.Secret),
			answerCase{name: "described, rotated quarterly", answers: with(req, "description", "Stripe API key", "rotationDays", 90),
				want: []wantRequest{{contract.Secret, "secret.dev.orders"}}},
			answerCase{name: "rotation over a year", answers: with(req, "rotationDays", 400), bad: "rotationDays"},
			answerCase{name: "description too long", answers: with(req, "description", long(501)), bad: "description"}),
		"eks-request": append(sized(contract.EKS),
			answerCase{name: "ninety minutes, version pinned", answers: with(req, "ttl", "1h30m", "kubernetesVersion", "1.34"),
				want: []wantRequest{{contract.EKS, "eks.dev.orders"}}},
			answerCase{name: "ttl in words", answers: with(req, "ttl", "8 hours"), bad: "ttl"},
			answerCase{name: "empty ttl", answers: with(req, "ttl", ""), bad: "ttl"},
			answerCase{name: "not a 1.x version", answers: with(req, "kubernetesVersion", "2.0"), bad: "kubernetesVersion"}),
	}
}

// withDefaults fills in what the form fills in: each property's default when the user gave nothing.
func withDefaults(tm *template, a answers) answers {
	out := maps.Clone(a)
	for _, p := range tm.Spec.Parameters {
		props, _ := p["properties"].(map[string]any)
		for k, prop := range props {
			m, _ := prop.(map[string]any)
			if d, ok := m["default"]; ok {
				if _, given := out[k]; !given {
					out[k] = d
				}
			}
		}
	}
	return out
}

// TestAnswers fills each form as a developer would. Valid answers must pass every page and file contracts
// that goldenpath's own strict parser accepts and the default platform.yaml allows; invalid answers must be
// refused by the form, naming the field, before anything is filed.
func TestAnswers(t *testing.T) {
	cfg, err := platform.Parse("platform.yaml", platform.DefaultYAML("goldenpathidp.io"))
	if err != nil {
		t.Fatalf("default platform.yaml: %v", err)
	}
	cases := answerCases()
	for _, name := range Names() {
		tm := loadTemplate(t, name)
		pages := compilePages(t, name, tm)
		if len(cases[name]) == 0 {
			t.Errorf("%s: no answer cases", name)
		}
		for _, tc := range cases[name] {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				a := withDefaults(tm, tc.answers)
				formErr := validatePages(t, pages, a)
				if tc.bad != "" {
					if formErr == nil || !names(formErr, tc.bad) {
						t.Fatalf("form: got error %v, want one naming %s", formErr, tc.bad)
					}
					return
				}
				if formErr != nil {
					t.Fatalf("form: got %v, want the answers accepted", formErr)
				}
				got := filedRequests(t, tm, a)
				var ids []wantRequest
				for _, r := range got {
					ids = append(ids, wantRequest{r.Kind, string(r.ID())})
					if errs := r.Validate(cfg); len(errs) > 0 {
						t.Errorf("%s: the default platform.yaml refuses it: %v", r.ID(), errs)
					}
				}
				if !slices.Equal(ids, tc.want) {
					t.Errorf("filed: got %v, want %v", ids, tc.want)
				}
			})
		}
	}
}

// formData is a as the portal submits it: decoded from JSON, so numbers are float64.
func formData(t *testing.T, a answers) map[string]any {
	t.Helper()
	raw, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// names reports whether a validation error is about field: a wrong value at /field, or field missing.
func names(err error, field string) bool {
	msg := err.Error()
	return strings.Contains(msg, "at '/"+field+"'") || strings.Contains(msg, "missing property '"+field+"'")
}

func validatePages(t *testing.T, pages []page, a answers) error {
	t.Helper()
	v := toJSONValue(t, a)
	for _, p := range pages {
		if err := p.schema.Validate(v); err != nil {
			return fmt.Errorf("page %q: %w", p.title, err)
		}
	}
	return nil
}

// filedRequests runs the template's request steps (goldenpath:request:create, and github:actions:dispatch
// as goldenpath maps it) for answers a, honouring each step's if, and parses the contracts they would file
// with goldenpath's strict contract parser.
func filedRequests(t *testing.T, tm *template, a answers) []*contract.Request {
	t.Helper()
	e := expr.New(expr.Options{})
	vars := map[string]any{"parameters": formData(t, a)}
	var out []*contract.Request
	for _, s := range tm.Spec.Steps {
		if s.Action != "goldenpath:request:create" && s.Action != "github:actions:dispatch" {
			continue
		}
		if s.If != nil && !expr.Truthy(evaluate(t, e, s.If, vars)) {
			continue
		}
		in := evaluate(t, e, s.Input, vars)
		doc := contractDoc(t, s, in.(map[string]any))
		raw, _ := json.Marshal(doc)
		r, err := contract.ParseOne("step "+s.ID, raw)
		if err != nil {
			t.Fatalf("step %s: the contract it files is invalid: %v\n%s", s.ID, err, raw)
		}
		out = append(out, r)
	}
	return out
}

// contractDoc builds the contract a request step files. owner and team stand for what the action derives
// from the task's user and the OwnerPicker group.
func contractDoc(t *testing.T, s step, in map[string]any) map[string]any {
	t.Helper()
	kind, name, env, spec := in["kind"], in["name"], in["environment"], in["spec"]
	if s.Action == "github:actions:dispatch" {
		if in["workflowId"] != "rds-request-apply.yml" {
			t.Fatalf("step %s: workflowId %v: goldenpath maps only the plan's request workflows", s.ID, in["workflowId"])
		}
		wi, _ := in["workflowInputs"].(map[string]any)
		rename := map[string]string{"db_engine": "engine", "db_size": "size", "db_name": "databaseName"}
		m := map[string]any{}
		for k, v := range wi {
			switch {
			case k == "app_name":
				name = v
			case k == "environment":
				env = v
			case rename[k] != "":
				m[rename[k]] = v
			default:
				t.Fatalf("step %s: workflowInputs.%s: rds-request-apply.yml has no such input", s.ID, k)
			}
		}
		kind, spec = "RDSRequest", m
	}
	if env == nil {
		env = "dev"
	}
	if spec == nil {
		spec = map[string]any{}
	}
	return map[string]any{
		"apiVersion": contract.APIVersion, "kind": kind,
		"metadata": map[string]any{"name": name, "owner": "alice", "team": "payments", "environment": env},
		"spec":     spec,
	}
}

// TestFormsOfferThePlatformsChoices checks the environment and size enums against the default
// platform.yaml: a choice the platform lacks would be refused only after the form was submitted, and a
// class the form lacks could never be picked.
func TestFormsOfferThePlatformsChoices(t *testing.T) {
	cfg, err := platform.Parse("platform.yaml", platform.DefaultYAML("goldenpathidp.io"))
	if err != nil {
		t.Fatal(err)
	}
	kindOf := map[string]string{"ecr-request": "ecr", "rds-request": "rds", "s3-request": "s3",
		"secret-request": "secret", "eks-request": "eks", "stateful-app-template": "rds"}
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			props := map[string]map[string]any{}
			for _, p := range loadTemplate(t, name).Spec.Parameters {
				ps, _ := p["properties"].(map[string]any)
				for k, v := range ps {
					props[k], _ = v.(map[string]any)
				}
			}
			if e, ok := props["environment"]; ok {
				if got, want := enum(e), cfg.EnvironmentNames(); !slices.Equal(sorted(got), sorted(want)) {
					t.Errorf("environment enum: got %v, want the platform's %v", got, want)
				}
			}
			for _, field := range []string{"size", "db_size"} {
				s, ok := props[field]
				if !ok {
					continue
				}
				if got, want := enum(s), cfg.SizeClassNames(kindOf[name]); !slices.Equal(sorted(got), sorted(want)) {
					t.Errorf("%s enum: got %v, want the platform's %s classes %v", field, got, kindOf[name], want)
				}
			}
		})
	}
}

func enum(prop map[string]any) []string {
	var out []string
	list, _ := prop["enum"].([]any)
	for _, v := range list {
		out = append(out, fmt.Sprint(v))
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
