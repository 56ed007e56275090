package score

import (
	"path"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

func renderDeployment(t *testing.T, w *Workload, in Inputs) *appsv1.Deployment {
	t.Helper()
	files, err := Render(w, in)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return decodeDeployment(t, files[path.Join(OverlayDir(in.Environment, w.Metadata.Name), DeploymentFile)])
}

func decodeDeployment(t *testing.T, data []byte) *appsv1.Deployment {
	t.Helper()
	var dep appsv1.Deployment
	if err := yaml.UnmarshalStrict(data, &dep); err != nil {
		t.Fatalf("decoding the Deployment: %v\n%s", err, data)
	}
	return &dep
}

func findEnv(env []corev1.EnvVar, name string) *corev1.EnvVar {
	for i := range env {
		if env[i].Name == name {
			return &env[i]
		}
	}
	return nil
}

func TestRenderRefusesBadInputs(t *testing.T) {
	w := scenarios()[2].parse(t) // stateful: own image, a postgres resource
	good := statefulInputs("dev", "dev.goldenpathidp.io")
	tests := []struct {
		name   string
		change func(in *Inputs)
		want   string
	}{
		{"no environment", func(in *Inputs) { in.Environment = "" }, `Inputs.Environment "" must be a DNS label`},
		{"bad namespace", func(in *Inputs) { in.Namespace = "Ledger" }, `Inputs.Namespace "Ledger" must be a DNS label`},
		{"no image", func(in *Inputs) { in.Image = "" }, "Inputs.Image is required"},
		{"image with a tag", func(in *Inputs) { in.Image = "127.0.0.1:7070/dev/ledger:1.0" }, "without tag or digest"},
		{"neither tag nor digest", func(in *Inputs) { in.Tag = "" }, "exactly one of Inputs.Tag and Inputs.Digest"},
		{"both tag and digest", func(in *Inputs) { in.Digest = "sha256:" + strings.Repeat("0", 64) }, "exactly one of Inputs.Tag and Inputs.Digest"},
		{"bad tag", func(in *Inputs) { in.Tag = "-x" }, `Inputs.Tag "-x" is not a valid image tag`},
		{"bad digest", func(in *Inputs) { in.Tag, in.Digest = "", "md5:abc" }, `Inputs.Digest "md5:abc"`},
		{"bad secret name", func(in *Inputs) { in.SecretRefs = map[string]string{"db": "Ledger_DB"} }, "Inputs.SecretRefs[db]"},
		{"no repo URL", func(in *Inputs) { in.ArgoCD.RepoURL = "" }, "Inputs.ArgoCD.RepoURL is required"},
		{"extra resource with a path", func(in *Inputs) { in.ExtraResources = []string{"../x.yaml"} }, "Inputs.ExtraResources"},
		{"extra resource clashing", func(in *Inputs) { in.ExtraResources = []string{DeploymentFile} }, "Inputs.ExtraResources"},
		{"missing output", func(in *Inputs) { delete(in.Outputs["db"], "host") }, `${resources.db.host}: postgres resource "db" has no output "host" yet`},
		{"no outputs at all", func(in *Inputs) { in.Outputs = nil }, `postgres resource "db" has no output`},
		{"no secret for a secret output", func(in *Inputs) { in.SecretRefs = nil }, `Inputs.SecretRefs names no Secret for "db"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := good
			in.Outputs = map[string]map[string]string{"db": {}}
			for k, v := range good.Outputs["db"] {
				in.Outputs["db"][k] = v
			}
			tt.change(&in)
			_, err := Render(w, in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := Render(nil, good); err == nil {
		t.Error("Render(nil): got no error, want one")
	}
}

// TestPostgresWiring: the RDSRequest's connection details reach the app; its password only by reference.
func TestPostgresWiring(t *testing.T) {
	sc := scenarios()[2]
	dep := renderDeployment(t, sc.parse(t), sc.in)
	env := dep.Spec.Template.Spec.Containers[0].Env
	url := findEnv(env, "DATABASE_URL")
	helper := findEnv(env, "GOLDENPATH_SECRET_LEDGER_DB_PASSWORD")
	if url == nil || helper == nil {
		t.Fatalf("got env %+v, want DATABASE_URL and its password variable", env)
	}
	if want := "postgres://ledger_dev:$(GOLDENPATH_SECRET_LEDGER_DB_PASSWORD)@postgres.dev.internal:5432/ledger_dev"; url.Value != want {
		t.Errorf("DATABASE_URL: got %q, want %q", url.Value, want)
	}
	if ref := helper.ValueFrom.SecretKeyRef; ref.Name != "ledger-db" || ref.Key != SecretKeyPassword {
		t.Errorf("password variable: got secretKeyRef %s/%s, want ledger-db/%s", ref.Name, ref.Key, SecretKeyPassword)
	}
	// Kubernetes only expands $(NAME) for variables declared earlier.
	if indexEnv(env, helper.Name) > indexEnv(env, "DATABASE_URL") {
		t.Errorf("got %s after DATABASE_URL, want it before so Kubernetes expands the reference", helper.Name)
	}
}

func indexEnv(env []corev1.EnvVar, name string) int {
	for i, e := range env {
		if e.Name == name {
			return i
		}
	}
	return -1
}

// TestS3Wiring: bucket, endpoint and region as values; both keys from the Secret.
func TestS3Wiring(t *testing.T) {
	sc := scenarios()[4]
	dep := renderDeployment(t, sc.parse(t), sc.in)
	c := dep.Spec.Template.Spec.Containers[0]
	for name, want := range map[string]string{"S3_ENDPOINT": "http://127.0.0.1:7071", "AWS_REGION": "us-east-1"} {
		if v := findEnv(c.Env, name); v == nil || v.Value != want {
			t.Errorf("%s: got %+v, want %q", name, v, want)
		}
	}
	secret := findEnv(c.Env, "AWS_SECRET_ACCESS_KEY")
	if secret == nil || secret.ValueFrom == nil || secret.ValueFrom.SecretKeyRef.Key != SecretKeySecretAccessKey ||
		secret.ValueFrom.SecretKeyRef.Name != "shop-assets" {
		t.Errorf("AWS_SECRET_ACCESS_KEY: got %+v, want a secretKeyRef to shop-assets/%s", secret, SecretKeySecretAccessKey)
	}
	wantArgs := []string{"--bucket=shop-assets-dev", "--key-id=$(GOLDENPATH_SECRET_SHOP_ASSETS_ACCESSKEYID)"}
	if !reflect.DeepEqual(c.Args, wantArgs) {
		t.Errorf("args: got %q, want %q", c.Args, wantArgs)
	}
	if v := findEnv(c.Env, "GOLDENPATH_SECRET_SHOP_ASSETS_ACCESSKEYID"); v == nil || v.ValueFrom.SecretKeyRef.Key != SecretKeyAccessKeyID {
		t.Errorf("access key variable: got %+v, want a secretKeyRef to key %s", v, SecretKeyAccessKeyID)
	}
}

// TestNoSecretValueIsRendered: secret values handed to Render (wrongly, among the outputs) never appear in
// any rendered file, and every secret output is a reference.
func TestNoSecretValueIsRendered(t *testing.T) {
	for _, sc := range scenarios() {
		for p, data := range sc.render(t) {
			for _, leak := range []string{leakPassword, leakSecretKey, leakAccessKey} {
				if strings.Contains(string(data), leak) {
					t.Errorf("%s: %s contains the secret value %q", sc.name, p, leak)
				}
			}
		}
	}
}

func TestRoutes(t *testing.T) {
	tests := []struct {
		name string
		sc   scenario
		edit func(in *Inputs)
		want []Route
	}{
		{"app-template", scenarios()[0], nil, []Route{
			{Name: "route", Host: "orders.dev.goldenpathidp.io", Path: "/", Port: 80, Service: "orders", Namespace: "orders"},
		}},
		{"host from a dns resource's default", scenarios()[4], nil, []Route{
			{Name: "web", Host: "shop.dev.goldenpathidp.io", Path: "/shop", Port: 80, Service: "shop", Namespace: "shop", Auth: AuthSSO},
		}},
		{"host from a dns resource's output", scenarios()[4], func(in *Inputs) {
			in.Outputs["dns"] = map[string]string{"host": "www.example.com"}
		}, []Route{
			{Name: "web", Host: "www.example.com", Path: "/shop", Port: 80, Service: "shop", Namespace: "shop", Auth: AuthSSO},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.sc.in
			in.Outputs = map[string]map[string]string{}
			for k, v := range tt.sc.in.Outputs {
				in.Outputs[k] = v
			}
			if tt.edit != nil {
				tt.edit(&in)
			}
			got, err := Routes(tt.sc.parse(t), in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRouteErrors(t *testing.T) {
	shop := scenarios()[4]
	noDomain := shop.in
	noDomain.Domain = ""
	if _, err := Routes(shop.parse(t), noDomain); err == nil || !strings.Contains(err.Error(), `dns resource "dns" has no host param and Inputs.Domain is empty`) {
		t.Errorf("without a domain: got %v, want the dns resource named", err)
	}
	w, err := Parse("score.yaml", []byte(validBase+"resources:\n  web:\n    type: route\n    params: {host: \"${metadata.name}_x.example.com\", path: shop}\n"))
	if err != nil {
		t.Fatal(err)
	}
	in := Inputs{Environment: "dev", Namespace: "app", Image: "r/app", Tag: "1", ArgoCD: ArgoCD{RepoURL: gitopsRepo}}
	if _, err := Routes(w, in); err == nil || !strings.Contains(err.Error(), `host "app_x.example.com" is not a lowercase DNS name`) {
		t.Errorf("bad host: got %v, want it refused", err)
	}
}

func TestComputeResources(t *testing.T) {
	tests := []struct {
		name    string
		in      *ContainerResources
		want    string // cpu request/limit, memory request/limit
		wantErr string
	}{
		{"defaults", nil, "100m/500m 128Mi/256Mi", ""},
		{"requests only", &ContainerResources{Requests: &Amounts{CPU: "250m", Memory: "64Mi"}}, "250m/500m 64Mi/256Mi", ""},
		{"request above the default limit raises it", &ContainerResources{Requests: &Amounts{CPU: "2", Memory: "1Gi"}}, "2/2 1Gi/1Gi", ""},
		{"limit below the default request lowers it", &ContainerResources{Limits: &Amounts{CPU: "50m", Memory: "64Mi"}}, "50m/50m 64Mi/64Mi", ""},
		{"fractional cpu and decimal memory", &ContainerResources{Limits: &Amounts{CPU: "0.5", Memory: "1.5Gi"}}, "100m/500m 128Mi/1536Mi", ""},
		{"request above an explicit limit", &ContainerResources{Requests: &Amounts{Memory: "1Gi"}, Limits: &Amounts{Memory: "512Mi"}}, "", "request 1Gi is above limit 512Mi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := computeResources(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s := func(n corev1.ResourceName) string {
				r, l := got.Requests[n], got.Limits[n]
				return r.String() + "/" + l.String()
			}
			if g := s(corev1.ResourceCPU) + " " + s(corev1.ResourceMemory); g != tt.want {
				t.Errorf("got %s, want %s", g, tt.want)
			}
		})
	}
}

// TestRestrictedPodSecurity: every rendered pod meets the restricted Pod Security Standard.
func TestRestrictedPodSecurity(t *testing.T) {
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			pod := renderDeployment(t, sc.parse(t), sc.in).Spec.Template.Spec
			psc := pod.SecurityContext
			if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 ||
				psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("pod securityContext: got %+v, want runAsNonRoot, a non-zero numeric user and seccomp RuntimeDefault", psc)
			}
			if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
				t.Error("got a mounted service account token, want none")
			}
			for _, c := range pod.Containers {
				sc := c.SecurityContext
				if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
					sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
					sc.Capabilities == nil || !reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
					t.Errorf("container %s securityContext: got %+v, want no privilege escalation, read-only root, drop ALL", c.Name, sc)
				}
				if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
					t.Errorf("container %s: got resources %+v, want requests and limits", c.Name, c.Resources)
				}
			}
		})
	}
}

func TestProbes(t *testing.T) {
	both := &Probe{HTTPGet: &HTTPProbe{Path: "/", Port: 80}, Exec: &ExecProbe{Command: []string{"true"}}}
	if p := probe(both); p.Exec == nil || p.HTTPGet != nil {
		t.Errorf("with both kinds: got %+v, want exec only (the spec prefers it)", p)
	}
	http := &Probe{HTTPGet: &HTTPProbe{Path: "/healthz", Port: 8080, Scheme: "HTTPS", HTTPHeaders: []HTTPHeader{{Name: "A", Value: "b"}}}}
	p := probe(http).HTTPGet
	if p.Path != "/healthz" || p.Port.IntValue() != 8080 || p.Scheme != corev1.URISchemeHTTPS || len(p.HTTPHeaders) != 1 {
		t.Errorf("got %+v, want path, port, scheme and header carried over", p)
	}
	if probe(nil) != nil {
		t.Error("probe(nil): got a probe, want none")
	}
}

// TestApplication checks what Argo CD needs of the rendered Application.
func TestApplication(t *testing.T) {
	sc := scenarios()[4]
	files := sc.render(t)
	objs, err := Decode("app", files[ApplicationPath("dev", "shop")])
	if err != nil {
		t.Fatal(err)
	}
	app := objs[0].(*Application)
	checks := []struct {
		field     string
		got, want any
	}{
		{"name", app.Name, "shop-dev"},
		{"namespace", app.Namespace, DefaultArgoCDNamespace},
		{"finalizer", strings.Join(app.Finalizers, ","), ApplicationFinalizer},
		{"source.path", app.Spec.Source.Path, OverlayDir("dev", "shop")},
		{"source.repoURL", app.Spec.Source.RepoURL, gitopsRepo},
		{"source.targetRevision", app.Spec.Source.TargetRevision, DefaultTargetRevision},
		{"destination.namespace", app.Spec.Destination.Namespace, "shop"},
		{"automated prune", app.Spec.SyncPolicy.Automated.Prune, true},
		{"automated selfHeal", app.Spec.SyncPolicy.Automated.SelfHeal, true},
		{"image-list", app.Annotations[AnnotationImageList], "app=127.0.0.1:7070/dev/shop:~1.2, proxy=docker.io/envoyproxy/envoy:v1.31-latest"},
		{"write-back-method", app.Annotations[AnnotationWriteBackMethod], "git"},
		{"write-back-target", app.Annotations[AnnotationWriteBackTarget], "kustomization"},
		{"app kustomize image name", app.Annotations[AnnotationPrefix+"app.kustomize.image-name"], "shop"},
		{"proxy kustomize image name", app.Annotations[AnnotationPrefix+"proxy.kustomize.image-name"], "docker.io/envoyproxy/envoy"},
		{"example.com/owner stays on the Deployment", app.Annotations["example.com/owner"], ""},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.field, c.got, c.want)
		}
	}
	// Without image update annotations, the Application has none of Image Updater's.
	orders := scenarios()[0].render(t)[ApplicationPath("dev", "orders")]
	if strings.Contains(string(orders), AnnotationPrefix) {
		t.Errorf("app-template Application: got Image Updater annotations, want none:\n%s", orders)
	}
}

// TestKustomizationPinsImage: the Deployment names the placeholder image and kustomization.yaml maps it to
// the pinned reference.
func TestKustomizationPinsImage(t *testing.T) {
	for _, sc := range scenarios()[:2] {
		files := sc.render(t)
		dir := OverlayDir(sc.in.Environment, "orders")
		objs, err := Decode("k", files[path.Join(dir, KustomizationFile)])
		if err != nil {
			t.Fatal(err)
		}
		k := objs[0].(*Kustomization)
		dep := decodeDeployment(t, files[path.Join(dir, DeploymentFile)])
		want := KustomizeImage{Name: dep.Spec.Template.Spec.Containers[0].Image, NewName: sc.in.Image, NewTag: sc.in.Tag, Digest: sc.in.Digest}
		if len(k.Images) != 1 || k.Images[0] != want {
			t.Errorf("%s: got images %+v, want %+v", sc.name, k.Images, want)
		}
		wantRes := []string{DeploymentFile, ServiceFile, "ingress.yaml"}
		if !reflect.DeepEqual(k.Resources, wantRes) {
			t.Errorf("%s: got resources %q, want %q", sc.name, k.Resources, wantRes)
		}
	}
}
