package score

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden from the current output")

// Secret values the tests hand to Render where a careless renderer could pick them up; none may ever
// appear in rendered output.
const (
	leakPassword  = "pw-MUST-NOT-LEAK-7f3a"
	leakSecretKey = "sk-MUST-NOT-LEAK-91bc"
	leakAccessKey = "AKIA-MUST-NOT-LEAK"
)

// templateScore is a golden-path template's score.yaml as the scaffolder writes it for the given values.
func templateScore(t *testing.T, template string, values map[string]string) []byte {
	t.Helper()
	p := filepath.Join("..", "scaffold", "builtin", "templates", template, "skeleton", "score.yaml.njk")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("reading the %s template's score.yaml: %v", template, err)
	}
	s := string(data)
	for k, v := range values {
		s = strings.ReplaceAll(s, "${{ values."+k+" }}", v)
	}
	if strings.Contains(s, "${{") {
		t.Fatalf("%s: template expressions left after substituting %v:\n%s", p, values, s)
	}
	return []byte(s)
}

// scenario is one workload rendered for one environment.
type scenario struct {
	name string
	file string // as the user knows it
	data func(t *testing.T) []byte
	in   Inputs
}

func readFixture(name string) func(t *testing.T) []byte {
	return func(t *testing.T) []byte {
		t.Helper()
		data, err := os.ReadFile(filepath.Join("testdata", "workloads", name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
}

func appTemplate(t *testing.T) []byte {
	return templateScore(t, "app-template", map[string]string{"name": "orders", "port": "8080", "domain": "goldenpathidp.io"})
}

func statefulTemplate(t *testing.T) []byte {
	return templateScore(t, "stateful-app-template", map[string]string{"name": "ledger", "port": "8080", "domain": "goldenpathidp.io"})
}

const gitopsRepo = "http://127.0.0.1:7070/git/platform.git"

// scenarios are the golden renderings: both golden-path templates in dev and prod, and a workload using
// every feature.
func scenarios() []scenario {
	digest := "sha256:" + strings.Repeat("ab12", 16)
	return []scenario{
		{name: "app-template-dev", file: "orders/score.yaml", data: appTemplate, in: Inputs{
			Environment: "dev", Namespace: "orders", Image: "127.0.0.1:7070/dev/orders", Tag: "3f9c2ab",
			Domain: "dev.goldenpathidp.io", ArgoCD: ArgoCD{RepoURL: gitopsRepo}, ExtraResources: []string{"ingress.yaml"},
		}},
		{name: "app-template-prod", file: "orders/score.yaml", data: appTemplate, in: Inputs{
			Environment: "prod", Namespace: "orders", Image: "127.0.0.1:7070/prod/orders", Digest: digest,
			Domain: "goldenpathidp.io", Replicas: 2, ExtraResources: []string{"ingress.yaml"},
			ArgoCD: ArgoCD{RepoURL: gitopsRepo, TargetRevision: "main", Project: "prod"},
		}},
		{name: "stateful-app-template-dev", file: "ledger/score.yaml", data: statefulTemplate, in: statefulInputs("dev", "dev.goldenpathidp.io")},
		{name: "stateful-app-template-prod", file: "ledger/score.yaml", data: statefulTemplate, in: statefulInputs("prod", "goldenpathidp.io")},
		{name: "shop-dev", file: "shop/score.yaml", data: readFixture("shop.yaml"), in: shopInputs()},
		{name: "tools-dev", file: "tools/score.yaml", data: readFixture("tools.yaml"), in: toolsInputs()},
	}
}

// toolsInputs are a workload of literal images: a volume, a file from the repository, another app's Service
// and the environment's values.
func toolsInputs() Inputs {
	return Inputs{
		Environment: "dev", Namespace: "tools", Domain: "dev.goldenpathidp.io", ArgoCD: ArgoCD{RepoURL: gitopsRepo},
		Outputs: map[string]map[string]string{
			"api": {"name": "orders.orders.svc", "hostname": "orders.orders.svc", "port": "80"},
			"env": {"LOG_LEVEL": "debug"},
		},
		Sources: map[string][]byte{"conf/app.conf": []byte("app = ${metadata.name}\n")},
	}
}

func statefulInputs(env, domain string) Inputs {
	return Inputs{
		Environment: env, Namespace: "ledger", Image: "127.0.0.1:7070/" + env + "/ledger", Tag: "1.4.0", Domain: domain,
		Outputs: map[string]map[string]string{"db": {
			"host": "postgres." + env + ".internal", "port": "5432", "database": "ledger_" + env, "username": "ledger_" + env,
			"engine": "postgres", "password": leakPassword,
		}},
		SecretRefs:     map[string]string{"db": "ledger-db"},
		ArgoCD:         ArgoCD{RepoURL: gitopsRepo},
		ExtraResources: []string{"ingress.yaml"},
	}
}

func shopInputs() Inputs {
	return Inputs{
		Environment: "dev", Namespace: "shop", Image: "127.0.0.1:7070/dev/shop", Tag: "v1.2.3", Domain: "dev.goldenpathidp.io",
		Outputs: map[string]map[string]string{"assets": {
			"bucket": "shop-assets-dev", "endpoint": "http://127.0.0.1:7071", "region": "us-east-1",
			"accessKeyId": leakAccessKey, "secretAccessKey": leakSecretKey,
		}},
		SecretRefs:     map[string]string{"assets": "shop-assets"},
		ArgoCD:         ArgoCD{RepoURL: gitopsRepo},
		ExtraResources: []string{"ingress.yaml", "oauth2-proxy.yaml"},
	}
}

// mustParse parses a scenario's workload.
func (sc scenario) parse(t *testing.T) *Workload {
	t.Helper()
	w, err := Parse(sc.file, sc.data(t))
	if err != nil {
		t.Fatalf("Parse(%s): %v", sc.file, err)
	}
	return w
}

func (sc scenario) render(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := Render(sc.parse(t), sc.in)
	if err != nil {
		t.Fatalf("Render(%s): %v", sc.name, err)
	}
	return files
}
