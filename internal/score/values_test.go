package score

import (
	"path"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

func mustParse(t *testing.T, doc string) *Workload {
	t.Helper()
	w, err := Parse("score.yaml", []byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return w
}

func literalInputs() Inputs {
	return Inputs{Environment: "dev", Namespace: "tools", ArgoCD: ArgoCD{RepoURL: "http://127.0.0.1:7070/git/platform.git"}}
}

const volumesScore = `apiVersion: score.dev/v1b1
metadata:
  name: tools
containers:
  aa:
    image: busybox
    volumes:
      /work:
        source: ${resources.shared}
  bb:
    image: busybox
    volumes:
      - target: /in
        source: shared
        readOnly: true
        path: sub/dir
resources:
  shared:
    type: volume
`

// A volume resource is one emptyDir, mounted by every container that names it.
func TestRenderVolumes(t *testing.T) {
	dep := renderDeployment(t, mustParse(t, volumesScore), literalInputs())
	var empty []string
	for _, v := range dep.Spec.Template.Spec.Volumes {
		if v.EmptyDir != nil && v.Name != tmpVolume {
			empty = append(empty, v.Name)
		}
	}
	if !reflect.DeepEqual(empty, []string{"vol-shared"}) {
		t.Fatalf("emptyDir volumes: got %v, want [vol-shared]", empty)
	}
	want := map[string]corev1.VolumeMount{
		"aa": {Name: "vol-shared", MountPath: "/work"},
		"bb": {Name: "vol-shared", MountPath: "/in", SubPath: "sub/dir", ReadOnly: true},
	}
	for _, c := range dep.Spec.Template.Spec.Containers {
		var got *corev1.VolumeMount
		for i, m := range c.VolumeMounts {
			if m.Name == "vol-shared" {
				got = &c.VolumeMounts[i]
			}
		}
		if got == nil || !reflect.DeepEqual(*got, want[c.Name]) {
			t.Errorf("container %s mounts %+v, want %+v", c.Name, got, want[c.Name])
		}
	}
}

const sourceScore = `apiVersion: score.dev/v1b1
metadata:
  name: tools
containers:
  main:
    image: busybox
    files:
      /etc/app.conf:
        source: conf/app.conf
      /etc/raw:
        source: ./conf/raw
        noExpand: true
      /etc/blob:
        source: blob.bin
        noExpand: true
`

func TestRenderFileSources(t *testing.T) {
	w := mustParse(t, sourceScore)
	if got, want := w.FileSources(), []string{"blob.bin", "conf/app.conf", "conf/raw"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("FileSources: got %v, want %v", got, want)
	}
	in := literalInputs()
	in.Sources = map[string][]byte{"conf/app.conf": []byte("name=${metadata.name} cost=$$5\n"), "conf/raw": []byte("${x}\n"), "blob.bin": {0xff, 0x00}}
	files, err := Render(w, in)
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(files[path.Join(OverlayDir("dev", "tools"), FilesFile)], &cm); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for k, v := range cm.Data {
		got[k] = v
	}
	for k, v := range cm.BinaryData {
		got[k] = "binary:" + string(v)
	}
	want := map[string]string{"main-0": "name=tools cost=$5\n", "main-1": "binary:\xff\x00", "main-2": "${x}\n"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("files: got %q, want %q", got, want)
	}

	for _, tt := range []struct {
		name    string
		sources map[string][]byte
		want    string
	}{
		{"a missing file", map[string][]byte{"conf/raw": nil, "blob.bin": nil}, `source "conf/app.conf": the app's repository has no such file`},
		{"binary content to expand", map[string][]byte{"conf/app.conf": {0xff}, "conf/raw": nil, "blob.bin": nil}, "is not UTF-8 text"},
		{"too large", map[string][]byte{"conf/app.conf": []byte(strings.Repeat("x", maxFilesBytes+1)), "conf/raw": nil, "blob.bin": nil}, "more than the"},
		{"a secret in a source file", map[string][]byte{"conf/app.conf": []byte("${resources.db.password}"), "conf/raw": nil, "blob.bin": nil}, "there is no resource"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := literalInputs()
			in.Sources = tt.sources
			if _, err := Render(w, in); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestServiceOutputs(t *testing.T) {
	api := mustParse(t, strings.Replace(volumesScore, "resources:\n", "service:\n  ports:\n    http:\n      port: 80\n      targetPort: 8080\n    grpc:\n      port: 9090\nresources:\n", 1))
	one := mustParse(t, strings.Replace(volumesScore, "resources:\n", "service:\n  ports:\n    http:\n      port: 80\nresources:\n", 1))
	none := mustParse(t, volumesScore)
	for _, tt := range []struct {
		name     string
		target   *Workload
		params   map[string]any
		want     map[string]string
		note, ee string
	}{
		{"the only port", one, nil, map[string]string{"name": "tools.tools.svc", "hostname": "tools.tools.svc", "port": "80"}, "", ""},
		{"a named port", api, map[string]any{"port": "grpc"}, map[string]string{"name": "tools.tools.svc", "hostname": "tools.tools.svc", "port": "9090"}, "", ""},
		{"a port by number", api, map[string]any{"port": "80"}, map[string]string{"name": "tools.tools.svc", "hostname": "tools.tools.svc", "port": "80"}, "", ""},
		{"several ports, none named", api, nil, map[string]string{"name": "tools.tools.svc", "hostname": "tools.tools.svc"}, `publishes 2 ports ("grpc" and "http")`, ""},
		{"an unknown port", api, map[string]any{"port": "admin"}, nil, "", `publishes no port "admin"`},
		{"no Service", none, nil, nil, "", "publishes no service ports"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, note, err := ServiceOutputs(tt.target, "tools", Resource{Type: TypeService, Params: tt.params})
			if tt.ee != "" {
				if err == nil || !strings.Contains(err.Error(), tt.ee) {
					t.Fatalf("got %v, want an error containing %q", err, tt.ee)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) || !strings.Contains(note, tt.note) {
				t.Errorf("got %v %q %v, want %v %q", got, note, err, tt.want, tt.note)
			}
		})
	}
}

func TestParseEnvFile(t *testing.T) {
	got, err := ParseEnvFile(".env", []byte("# values\n\nA=1\nexport B = two words # comment\nC='$${x} # kept'\nD=\"line\\nnext\"\nE=\n"))
	want := map[string]string{"A": "1", "B": "two words", "C": "$${x} # kept", "D": "line\nnext", "E": ""}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %q %v, want %q", got, err, want)
	}
	for _, bad := range []string{"NOEQUALS\n", "1A=x\n", "A='open\n", "A=\"open\n"} {
		if _, err := ParseEnvFile(".env.dev", []byte("OK=1\n"+bad)); err == nil || !strings.Contains(err.Error(), ".env.dev:2") {
			t.Errorf("%q: got %v, want an error at .env.dev:2", bad, err)
		}
	}
}

// The environment resource's values come from Inputs.Outputs; a missing one is named with the reason the
// caller gives.
func TestRenderEnvironment(t *testing.T) {
	w := mustParse(t, "apiVersion: score.dev/v1b1\nmetadata:\n  name: tools\ncontainers:\n  main:\n    image: busybox\n    variables:\n      LEVEL: ${resources.env.LOG_LEVEL}\n"+
		"resources:\n  env:\n    type: environment\n")
	in := literalInputs()
	in.Outputs = map[string]map[string]string{"env": {"LOG_LEVEL": "debug"}}
	dep := renderDeployment(t, w, in)
	if e := findEnv(dep.Spec.Template.Spec.Containers[0].Env, "LEVEL"); e == nil || e.Value != "debug" {
		t.Errorf("LEVEL: got %+v, want debug", e)
	}
	in.Outputs = map[string]map[string]string{"env": {}}
	in.Unavailable = map[string]string{"env": "set it in .env.dev or .env of payments/tools"}
	if _, err := Render(w, in); err == nil || !strings.Contains(err.Error(), `environment resource "env" has no value LOG_LEVEL: set it in .env.dev`) {
		t.Errorf("got %v, want the missing value named with the reason", err)
	}
}

// Expand is what the local runtime gives a process: "$${x}" is the text "${x}", never a placeholder.
func TestExpand(t *testing.T) {
	w := mustParse(t, "apiVersion: score.dev/v1b1\nmetadata:\n  name: tools\n  team: payments\ncontainers:\n  main:\n    image: busybox\n")
	out := func(res, name string) (string, error) { return res + "." + name, nil }
	for in, want := range map[string]string{
		"$${HOME}/x":              "${HOME}/x",
		"${metadata.name}":        "tools",
		"${metadata.team}-$$5-$7": "payments-$5-$7",
		"${resources.db.host}":    "db.host",
	} {
		if got, err := w.Expand(in, out); err != nil || got != want {
			t.Errorf("Expand(%q): got %q %v, want %q", in, got, err, want)
		}
	}
	if _, err := w.Expand("${metadata.nope}", out); err == nil {
		t.Error("Expand of an unknown metadata key: got no error")
	}
}
