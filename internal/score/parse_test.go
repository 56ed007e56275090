package score

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/strictyaml"
)

func TestParseValid(t *testing.T) {
	for _, sc := range []scenario{scenarios()[0], scenarios()[2], scenarios()[4]} {
		t.Run(sc.file, func(t *testing.T) {
			w := sc.parse(t)
			if w.APIVersion != APIVersion || w.File != sc.file {
				t.Errorf("got apiVersion %q, file %q; want %q, %q", w.APIVersion, w.File, APIVersion, sc.file)
			}
			if got := w.Containers["main"].Image; got != OwnImage {
				t.Errorf("containers.main.image: got %q, want %q", got, OwnImage)
			}
		})
	}
}

// TestParseReadsEveryField checks the typed workload against the fixture that uses every feature.
func TestParseReadsEveryField(t *testing.T) {
	w := scenarios()[4].parse(t)
	main := w.Containers["main"]
	checks := []struct {
		field     string
		got, want any
	}{
		{"metadata.name", w.Metadata.Name, "shop"},
		{"metadata.team (an extra key)", w.Metadata.Extra["team"], "payments"},
		{"metadata.annotations", w.Metadata.Annotations["example.com/owner"], "payments"},
		{"containers.main.args[1]", main.Args[1], "--key-id=${resources.assets.access_key_id}"},
		{"containers.main.variables.PRICE_FORMAT", main.Variables["PRICE_FORMAT"], "$$%.2f"},
		{"containers.main.files mode", main.Files["/etc/shop/config.yaml"].Mode, "0440"},
		{"containers.main.resources.requests.memory", main.Resources.Requests.Memory, "512Mi"},
		{"containers.main.livenessProbe.exec", strings.Join(main.LivenessProbe.Exec.Command, " "), "/app health"},
		{"containers.main.readinessProbe.httpGet.port", main.ReadinessProbe.HTTPGet.Port, 8080},
		{"service.ports.metrics.targetPort (defaulted later)", w.Service.Ports["metrics"].TargetPort, 0},
		{"resources.web.type", w.Resources["web"].Type, TypeRoute},
		{"resources.web.params.auth", w.Resources["web"].Params["auth"], AuthSSO},
		{"image policy aliases", len(w.Images.Images), 2},
		{"image policy app strategy (default)", w.Images.Images[0].Strategy, StrategySemver},
		{"image policy proxy strategy", w.Images.Images[1].Strategy, StrategyDigest},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.field, c.got, c.want)
		}
	}
}

// TestMetadataRoundTrip: a parsed workload written back as JSON keeps Score's metadata shape.
func TestMetadataRoundTrip(t *testing.T) {
	w := scenarios()[4].parse(t)
	data, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Metadata map[string]any `json:"metadata"`
	}
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	ann, _ := back.Metadata["annotations"].(map[string]any)
	if back.Metadata["name"] != "shop" || back.Metadata["team"] != "payments" || ann["example.com/owner"] != "payments" {
		t.Errorf("got metadata %v, want name, team and annotations as in score.yaml", back.Metadata)
	}
}

// TestParseFilesArrayForm reads files in Score's deprecated array form as well as the map form.
func TestParseFilesArrayForm(t *testing.T) {
	w, err := Parse("score.yaml", []byte(`apiVersion: score.dev/v1b1
metadata: {name: app}
containers:
  main:
    image: nginx:1.27
    files:
      - target: /etc/a.conf
        content: a
      - target: /etc/b.conf
        content: b
`))
	if err != nil {
		t.Fatal(err)
	}
	files := w.Containers["main"].Files
	if len(files) != 2 || *files["/etc/a.conf"].Content != "a" || *files["/etc/b.conf"].Content != "b" {
		t.Errorf("got files %+v, want /etc/a.conf and /etc/b.conf by target", files)
	}
}

const validBase = `apiVersion: score.dev/v1b1
metadata:
  name: app
containers:
  main:
    image: .
service:
  ports:
    http:
      port: 80
      targetPort: 8080
`

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		field string // "" for the whole document
		line  int    // 0: not checked
		rule  string // substring
	}{
		{"malformed YAML", "apiVersion: [", "", 1, "malformed YAML"},
		{"two documents", validBase + "---\n" + validBase, "", 0, "exactly one YAML document"},
		{"wrong apiVersion", strings.Replace(validBase, "score.dev/v1b1", "score.dev/v1", 1), "apiVersion", 1, "goldenpath reads score.dev/v1b1"},
		{"no containers", "apiVersion: score.dev/v1b1\nmetadata: {name: app}\n", "containers", 0, "is required"},
		{"no name", "apiVersion: score.dev/v1b1\nmetadata: {}\ncontainers: {main: {image: .}}\n", "metadata.name", 0, "is required"},
		{"unknown top-level field", validBase + "replicas: 3\n", "replicas", 12, "unknown field"},
		{"duplicate key", validBase + "metadata: {name: other}\n", "metadata", 12, `key "metadata" at line 12 repeats line 2`},
		{"bad workload name", strings.Replace(validBase, "name: app", "name: My_App", 1), "metadata.name", 3, "RFC 1123 label"},
		{"unknown field in a service port", validBase + "      extra: true\n", "service.ports.http.extra", 12, "unknown field"},
		{"unknown container field", strings.Replace(validBase, "    image: .\n", "    image: .\n    ports: [8080]\n", 1), "containers.main.ports", 7, "unknown field"},
		{"container without image", "apiVersion: score.dev/v1b1\nmetadata: {name: app}\ncontainers:\n  main:\n    command: [x]\n", "containers.main.image", 0, "is required"},
		{"bad memory", strings.Replace(validBase, "    image: .\n", "    image: .\n    resources:\n      requests:\n        memory: 1GB\n", 1),
			"containers.main.resources.requests.memory", 9, "memory amount"},
		{"bad cpu", strings.Replace(validBase, "    image: .\n", "    image: .\n    resources: {limits: {cpu: lots}}\n", 1),
			"containers.main.resources.limits.cpu", 7, "CPU amount"},
		{"bad port", strings.Replace(validBase, "port: 80", "port: 70000", 1), "service.ports.http.port", 10, "65,535"},
		{"bad protocol", strings.Replace(validBase, "targetPort: 8080", "targetPort: 8080\n      protocol: SCTP", 1), "service.ports.http.protocol", 0, "TCP"},
		{"unsupported resource type", validBase + "resources:\n  cache:\n    type: redis\n", "resources.cache.type", 14,
			`resource "cache" has type "redis", which goldenpath does not provide (supported types: "dns", "environment", "postgres", ` +
				`"route", "s3", "service", "service-port" and "volume")`},
		{"volume resource used as a value", withVar("${resources.data.path}") + "resources:\n  data:\n    type: volume\n", "containers.main.variables.URL", 8,
			"a volume resource has no outputs"},
		{"service-port without params", validBase + "resources:\n  api:\n    type: service-port\n", "resources.api.params", 0, "param port is required"},
		{"service with a bad workload", validBase + "resources:\n  api:\n    type: service\n    params: {workload: Api_1}\n", "resources.api.params.workload", 0, "must be an app name"},
		{"unsupported class", validBase + "resources:\n  db:\n    type: postgres\n    class: large\n", "resources.db.class", 15, `class "large"`},
		{"shared resource id", validBase + "resources:\n  db:\n    type: postgres\n    id: shared-db\n", "resources.db.id", 15, "shared resources"},
		{"params on postgres", validBase + "resources:\n  db:\n    type: postgres\n    params: {size: large}\n", "resources.db.params.size", 15, "take no params"},
		{"unknown route param", validBase + "resources:\n  web:\n    type: route\n    params: {host: a.example.com, tls: true}\n",
			"resources.web.params.tls", 15, `(supported params: "auth", "host", "path" and "port")`},
		{"route without host", validBase + "resources:\n  web:\n    type: route\n    params: {path: /}\n", "resources.web.params", 15, "param host is required"},
		{"route to a port the service lacks", validBase + "resources:\n  web:\n    type: route\n    params: {host: a.example.com, port: 8443}\n",
			"resources.web.params.port", 15, "port 8443, which service.ports does not publish"},
		{"route port not a number", validBase + "resources:\n  web:\n    type: route\n    params: {host: a.example.com, port: http}\n",
			"resources.web.params.port", 15, "port number"},
		{"route auth not known", validBase + "resources:\n  web:\n    type: route\n    params: {host: a.example.com, auth: basic}\n",
			"resources.web.params.auth", 15, `"public" and "sso"`},
		{"route host using a postgres output", validBase + "resources:\n  db:\n    type: postgres\n  web:\n    type: route\n    params: {host: \"${resources.db.host}\"}\n",
			"resources.web.params.host", 0, "cannot be used in params"},
		{"unknown resource in a variable", withVar("${resources.db.host}"), "containers.main.variables.URL", 8, `there is no resource "db"`},
		{"unknown output", withVar("${resources.db.hostname}") + "resources:\n  db:\n    type: postgres\n", "containers.main.variables.URL", 8,
			`a postgres resource has no output "hostname" (its outputs: "database", "host", "name", "password", "port" and "username")`},
		{"resource without output", withVar("${resources.db}") + "resources:\n  db:\n    type: postgres\n", "containers.main.variables.URL", 8, "one output"},
		{"unknown placeholder root", withVar("${env.HOME}"), "containers.main.variables.URL", 8, "placeholders read metadata"},
		{"unknown metadata key", withVar("${metadata.team}"), "containers.main.variables.URL", 8, "metadata has no key team"},
		{"unclosed placeholder", withVar("${metadata.name"), "containers.main.variables.URL", 8, "not closed"},
		{"secret in a file", strings.Replace(validBase, "    image: .\n", "    image: .\n    files:\n      /etc/db.conf:\n        content: \"pw=${resources.db.password}\"\n", 1) +
			"resources:\n  db:\n    type: postgres\n", "containers.main.files./etc/db.conf.content", 0, "is a secret output"},
		{"file from a source outside the repository", strings.Replace(validBase, "    image: .\n", "    image: .\n    files:\n      /etc/a.conf:\n        source: ../other/a.conf\n", 1),
			"containers.main.files./etc/a.conf.source", 9, "leaves the app's repository"},
		{"file from a source out through a subdirectory", strings.Replace(validBase, "    image: .\n", "    image: .\n    files:\n      /etc/a.conf:\n        source: conf/../../a.conf\n", 1),
			"containers.main.files./etc/a.conf.source", 9, "leaves the app's repository"},
		{"file from an absolute source", strings.Replace(validBase, "    image: .\n", "    image: .\n    files:\n      /etc/a.conf:\n        source: /etc/passwd\n", 1),
			"containers.main.files./etc/a.conf.source", 9, "relative to score.yaml"},
		{"file with two contents", strings.Replace(validBase, "    image: .\n", "    image: .\n    files:\n      /etc/a.conf:\n        source: a.conf\n        content: x\n", 1),
			"containers.main.files./etc/a.conf", 8, "exactly one of content, binaryContent and source"},
		{"relative file target", strings.Replace(validBase, "    image: .\n", "    image: .\n    files:\n      etc/a.conf:\n        content: x\n", 1),
			"containers.main.files.etc/a.conf", 8, "absolute path"},
		{"volume of no resource", strings.Replace(validBase, "    image: .\n", "    image: .\n    volumes:\n      /data:\n        source: ${resources.data}\n", 1),
			"containers.main.volumes./data.source", 9, `there is no resource "data"`},
		{"volume of a postgres resource", strings.Replace(validBase, "    image: .\n", "    image: .\n    volumes:\n      /data:\n        source: ${resources.db}\n", 1) +
			"resources:\n  db:\n    type: postgres\n", "containers.main.volumes./data.source", 9, "only a volume resource can be mounted"},
		{"volume path out of the volume", strings.Replace(validBase, "    image: .\n", "    image: .\n    volumes:\n      /data:\n        source: ${resources.data}\n        path: ../x\n", 1) +
			"resources:\n  data:\n    type: volume\n", "containers.main.volumes./data.path", 10, "relative path inside the volume"},
		{"relative volume target", strings.Replace(validBase, "    image: .\n", "    image: .\n    volumes:\n      data:\n        source: ${resources.data}\n", 1) +
			"resources:\n  data:\n    type: volume\n", "containers.main.volumes.data", 8, "absolute path"},
		{"empty probe", strings.Replace(validBase, "    image: .\n", "    image: .\n    livenessProbe: {}\n", 1), "containers.main.livenessProbe", 7, "needs httpGet or exec"},
		{"http probe without port", strings.Replace(validBase, "    image: .\n", "    image: .\n    readinessProbe: {httpGet: {path: /}}\n", 1),
			"containers.main.readinessProbe.httpGet.port", 0, "is required"},
		{"bad annotation key", strings.Replace(validBase, "  name: app\n", "  name: app\n  annotations:\n    \"-bad\": x\n", 1), "metadata.annotations.-bad", 5, "annotation key"},
		{"bad container name", strings.Replace(validBase, "  main:\n", "  Main:\n", 1), "containers.Main", 5, "RFC 1123 label"},
		{"bad port name", strings.Replace(validBase, "    http:\n", "    http_1:\n", 1), "service.ports.http_1", 9, "RFC 1123 label"},
		{"bad update strategy", withAnnotations("app=.", "argocd-image-updater.argoproj.io/app.update-strategy: newest"),
			"metadata.annotations.argocd-image-updater.argoproj.io/app.update-strategy", 6, `update strategy "newest" is not one of`},
		{"image-list alias for an image no container runs", withAnnotations("web=nginx"),
			"metadata.annotations.argocd-image-updater.argoproj.io/image-list", 5, `names image "nginx", which no container runs`},
		{"image-list naming own image without one", strings.Replace(withAnnotations("app=."), "image: .", "image: nginx:1.27", 1),
			"metadata.annotations.argocd-image-updater.argoproj.io/image-list", 5, `no container runs image "."`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("apps/app/score.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("got no error, want one at %q: %s", tt.field, tt.rule)
			}
			es, ok := strictyaml.AsErrors(err)
			if !ok {
				t.Fatalf("got %T %v, want strictyaml errors", err, err)
			}
			for _, e := range es {
				if e.File != "apps/app/score.yaml" {
					t.Errorf("got file %q, want apps/app/score.yaml", e.File)
				}
				if (tt.field == "" || strings.HasPrefix(e.Field, tt.field)) && strings.Contains(e.Rule, tt.rule) {
					if tt.line != 0 && e.Line != tt.line {
						t.Errorf("%s: got line %d, want %d", e, e.Line, tt.line)
					}
					return
				}
			}
			t.Errorf("got %v, want an error at %q containing %q", err, tt.field, tt.rule)
		})
	}
}

func withVar(v string) string {
	return strings.Replace(validBase, "    image: .\n", "    image: .\n    variables:\n      URL: \""+v+"\"\n", 1)
}

// withAnnotations adds an image-list and other annotations ("key: value" lines) to validBase.
func withAnnotations(list string, more ...string) string {
	lines := "  annotations:\n    argocd-image-updater.argoproj.io/image-list: \"" + list + "\"\n"
	for _, m := range more {
		lines += "    " + m + "\n"
	}
	return strings.Replace(validBase, "  name: app\n", "  name: app\n"+lines, 1)
}

// TestParseReportsEveryProblem: one run lists all problems, so a developer fixes them in one go.
func TestParseReportsEveryProblem(t *testing.T) {
	_, err := Parse("score.yaml", []byte(validBase+"resources:\n  cache:\n    type: redis\n  db:\n    type: postgres\n    params: {size: 1}\n"))
	var es strictyaml.Errors
	if !errors.As(err, &es) || len(es) != 2 {
		t.Fatalf("got %v, want 2 errors (the redis type and the postgres param)", err)
	}
}
