package score

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/manifest"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// The Score conformance suite: the workloads under testdata/conformance, written in the shape of the public
// Score examples (score-spec/examples: specification/* and resources/*), are rendered by goldenpath and
// compared, aspect by aspect, with what score-k8s generates from the same files. score-k8s's output is kept
// as testdata/conformance/<case>/score-k8s.yaml; scripts/conformance-score.sh builds score-k8s and runs this
// test with -score-k8s, which generates the output again and fails when it no longer matches the kept one
// (-update-score-k8s rewrites it). Differences that are goldenpath's by design are listed in byDesign, with
// the reason, and docs/delivery.md.
//
// With -score-examples (a checkout of score-spec/examples) and -score-k8s, TestScoreExamples compares the
// same way on the examples themselves (specification/* and resources/*), with nothing kept.

var (
	scoreK8sBin    = flag.String("score-k8s", os.Getenv("GOLDENPATH_SCORE_K8S"), "a score-k8s binary: generate its output again and compare it with the kept one")
	updateScoreK8s = flag.Bool("update-score-k8s", false, "with -score-k8s: rewrite testdata/conformance/*/score-k8s.yaml from score-k8s's output")
	scoreExamples  = flag.String("score-examples", os.Getenv("GOLDENPATH_SCORE_EXAMPLES"), "with -score-k8s: a checkout of score-spec/examples to compare on")
)

// The aspects compared, per container where that applies.
var conformanceAspects = []string{"command", "env", "probes", "limits", "ports", "files", "volumes", "services", "annotations"}

// byDesign lists the checks, by "<case>/<aspect>", where goldenpath differs from score-k8s on purpose.
var byDesign = map[string]string{
	"volumes/volumes": "a volume resource is one emptyDir shared by every container that mounts it (the point of " +
		"naming it in resources); score-k8s gives each mount an emptyDir of its own",
}

// serviceHostReason is why variables naming another workload's Service differ: the check is by design when
// goldenpath's are score-k8s's with each such host <app> written <app>.<app>.svc.
const serviceHostReason = "a service resource's name is namespace-qualified (api.api.svc): every goldenpath app has a " +
	"namespace of its own, where score-k8s puts all workloads in one; the services check compares the Service " +
	"and port it names"

// qualifiedService is a Service's namespace-qualified host as goldenpath gives it: <app>.<app>.svc.
var qualifiedService = regexp.MustCompile(`\b([a-z0-9]([a-z0-9-]*[a-z0-9])?)\.([a-z0-9]([a-z0-9-]*[a-z0-9])?)\.svc\b`)

// unqualified writes each <app>.<app>.svc as <app>.
func unqualified(s string) string {
	return qualifiedService.ReplaceAllStringFunc(s, func(m string) string {
		p := qualifiedService.FindStringSubmatch(m)
		if p[1] != p[3] {
			return m
		}
		return p[1]
	})
}

// commandReason is why a command or args with placeholders differs: the check is by design when goldenpath's
// is score-k8s's with each placeholder replaced.
const commandReason = "placeholders in command and args are resolved (${metadata.name}, resource outputs, secrets " +
	"through $(VAR)); score-k8s passes them to the container as written"

// defaultsReason is why a container that sets no requests or limits gets goldenpath's defaults, where
// score-k8s sets none.
const defaultsReason = "a container without requests and limits gets goldenpath's defaults (100m/128Mi requested, " +
	"500m/256Mi limits), so that it can run under a namespace quota; score-k8s leaves them unset"

// noProviderReason is why a workload with a resource type goldenpath has no provider for is not rendered.
const noProviderReason = "a resource type goldenpath provides no resource for (amqp, mysql, redis, ...) is refused with " +
	"a clear error naming it and the supported types; score-k8s provisions it (its default provisioners run a database " +
	"or broker of its own in the cluster)"

// withoutServices leaves out the lines of a services aspect that name one of names' Services.
func withoutServices(aspect string, names []string) string {
	var keep []string
	for _, l := range strings.Split(aspect, "\n") {
		if !slices.ContainsFunc(names, func(n string) bool { return strings.Contains(l, ": service "+n+" port") }) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// designReason says why key differs by design, or "".
func designReason(key, got, want string) string {
	if r, ok := byDesign[key]; ok {
		return r
	}
	if strings.HasSuffix(key, "/command") && got == expandPlaceholdersLike(want, got) && got != want {
		return commandReason
	}
	if strings.HasSuffix(key, "/env") && got != want && unqualified(got) == want {
		return serviceHostReason
	}
	if strings.HasSuffix(key, "/limits") && want == "" && onlyDefaults(got) {
		return defaultsReason
	}
	return ""
}

// onlyDefaults reports whether every container's limits aspect is goldenpath's defaults.
func onlyDefaults(aspect string) bool {
	defaults := "limits.cpu=500m\nlimits.memory=268435456\nrequests.cpu=100m\nrequests.memory=134217728\n"
	blocks := regexp.MustCompile(`(?m)^\[[a-z0-9-]+\]\n`).Split(aspect, -1)
	for _, b := range blocks[1:] {
		if b != defaults {
			return false
		}
	}
	return len(blocks) > 1
}

// expandPlaceholdersLike reports what want would be with each ${...} replaced by the text at the same place
// in got: equal to got when the only differences are resolved placeholders.
func expandPlaceholdersLike(want, got string) string {
	parts := regexp.MustCompile(`\$\{[a-zA-Z0-9._-]+\}`).Split(want, -1)
	if len(parts) < 2 {
		return want
	}
	var pattern strings.Builder
	pattern.WriteString("^")
	for i, p := range parts {
		if i > 0 {
			pattern.WriteString("(.*?)")
		}
		pattern.WriteString(regexp.QuoteMeta(p))
	}
	pattern.WriteString("$")
	if regexp.MustCompile(pattern.String()).MatchString(got) {
		return got
	}
	return want
}

// conformanceCase is one directory of testdata/conformance, or one example of score-spec/examples.
type conformanceCase struct {
	name string
	dir  string
	kept bool // score-k8s's output is kept in dir (testdata/conformance), so it can be compared without score-k8s
	// workloads are the score files compared, relative to dir; peers are all of the case's score files (the
	// workloads and those their service resources point at), as given to score-k8s.
	workloads []string
	peers     []string
}

// conformanceCases lists the directories under root/sub... that hold a score.yaml: it is the workload
// compared, and the directory's *.score.yaml are the workloads it points at.
func conformanceCases(t *testing.T, root string, kept bool, subs ...string) []conformanceCase {
	t.Helper()
	var out []conformanceCase
	for _, sub := range subs {
		entries, err := os.ReadDir(filepath.Join(root, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			dir := filepath.Join(root, sub, e.Name())
			if _, err := os.Stat(filepath.Join(dir, "score.yaml")); !e.IsDir() || err != nil {
				continue
			}
			others, _ := filepath.Glob(filepath.Join(dir, "*.score.yaml"))
			c := conformanceCase{name: path.Join(sub, e.Name()), dir: dir, kept: kept, workloads: []string{"score.yaml"}}
			for _, o := range others {
				c.peers = append(c.peers, filepath.Base(o))
			}
			c.peers = append(c.peers, "score.yaml")
			out = append(out, c)
		}
	}
	return out
}

// sampleCases lists the samples under root/samples (several workloads, each in a directory of its own with a
// score.yaml), each compared workload by workload.
func sampleCases(t *testing.T, root string) []conformanceCase {
	t.Helper()
	var out []conformanceCase
	samples, err := os.ReadDir(filepath.Join(root, "samples"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sample := range samples {
		dir := filepath.Join(root, "samples", sample.Name())
		files, _ := filepath.Glob(filepath.Join(dir, "*", "score.yaml"))
		if !sample.IsDir() || len(files) == 0 {
			continue
		}
		c := conformanceCase{name: path.Join("samples", sample.Name()), dir: dir}
		for _, f := range files {
			rel, _ := filepath.Rel(dir, f)
			c.workloads = append(c.workloads, filepath.ToSlash(rel))
		}
		c.peers = c.workloads
		out = append(out, c)
	}
	return out
}

func TestScoreK8sConformance(t *testing.T) {
	compareWithScoreK8s(t, conformanceCases(t, filepath.Join("testdata", "conformance"), true, "."))
}

// TestScoreExamples compares on the public Score examples, from a checkout given by -score-examples (CI has
// none: scripts/conformance-score.sh examples runs it where one is): specification/*, resources/* and the
// samples' workloads.
func TestScoreExamples(t *testing.T) {
	if *scoreExamples == "" || *scoreK8sBin == "" {
		t.Skip("needs -score-examples (a checkout of score-spec/examples) and -score-k8s")
	}
	cases := conformanceCases(t, *scoreExamples, false, "specification", "resources")
	compareWithScoreK8s(t, append(cases, sampleCases(t, *scoreExamples)...))
}

// compareWithScoreK8s renders each case with goldenpath and score-k8s and compares them aspect by aspect.
func compareWithScoreK8s(t *testing.T, cases []conformanceCase) {
	matched, total := 0, 0
	var skipped []string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wants := c.scoreK8s(t)
			gots, errs := c.goldenpath(t)
			// The workloads goldenpath refuses for a resource type it has no provider for.
			var refused []string
			for wf, err := range errs {
				if strings.Contains(err.Error(), "which goldenpath does not provide") {
					refused = append(refused, c.read(t, wf).Metadata.Name)
				}
			}
			for _, wf := range c.workloads {
				name := c.name
				if len(c.workloads) > 1 {
					name += "/" + path.Dir(wf)
				}
				want, got, err := wants[wf], gots[wf], errs[wf]
				if err != nil && strings.Contains(err.Error(), "which goldenpath does not provide") {
					total++
					skipped = append(skipped, name)
					t.Logf("%s: skipped, by design: %s (%v)", name, noProviderReason, err)
					continue
				}
				if want == nil {
					t.Logf("%s: not compared: score-k8s has no provisioner here for what it uses (goldenpath: %v)", name, cmp.Or[any](err, "rendered"))
					continue
				}
				for _, aspect := range conformanceAspects {
					key := name + "/" + aspect
					w := want[aspect]
					if w == "" && (err != nil || got[aspect] == "") {
						continue // neither side has anything of this aspect
					}
					total++
					if err != nil {
						t.Errorf("%s: goldenpath does not render the workload: %v", key, err)
						continue
					}
					reason := designReason(key, got[aspect], w)
					if aspect == "services" && got[aspect] != w && got[aspect] == withoutServices(w, refused) {
						reason = "it points at " + strings.Join(refused, ", ") + ", which goldenpath refuses (a resource type with no " +
							"provider): goldenpath renders it once what it points at is an app"
					}
					if reason != "" {
						skipped = append(skipped, key)
						t.Logf("%s: skipped, by design: %s", key, reason)
						continue
					}
					switch {
					case got[aspect] != w:
						t.Errorf("%s differs from score-k8s:\n--- goldenpath\n%s\n--- score-k8s\n%s", key, got[aspect], w)
					default:
						matched++
					}
				}
			}
		})
	}
	t.Logf("score-k8s conformance: %d of %d checks match, %d differ by design (%s)", matched, total, len(skipped), strings.Join(skipped, ", "))
}

// scoreK8s reads score-k8s's output for the case (generating it first with -score-k8s) and returns the
// aspects of each of its workloads, by score file.
func (c conformanceCase) scoreK8s(t *testing.T) map[string]map[string]string {
	t.Helper()
	if !c.kept {
		data, left := c.generate(t)
		return c.aspects(t, "score-k8s's output", data, left...)
	}
	kept := filepath.Join(c.dir, "score-k8s.yaml")
	data, err := os.ReadFile(kept)
	if err != nil && !(*scoreK8sBin != "" && *updateScoreK8s) {
		t.Fatalf("reading score-k8s's output (scripts/conformance-score.sh update makes it): %v", err)
	}
	if *scoreK8sBin == "" {
		return c.aspects(t, kept, data)
	}
	// score-k8s again: what it generates now must come to the same as what is kept. (Its output itself
	// differs from run to run: a random instance suffix, the Service's ports in map order.)
	fresh, _ := c.generate(t)
	if *updateScoreK8s {
		if err := os.WriteFile(kept, fresh, 0o644); err != nil {
			t.Fatal(err)
		}
		data = fresh
	}
	want, now := c.aspects(t, kept, data), c.aspects(t, "score-k8s's output", fresh)
	for _, wf := range c.workloads {
		for _, aspect := range conformanceAspects {
			if want[wf][aspect] != now[wf][aspect] {
				t.Errorf("%s/%s: score-k8s now generates something else than %s keeps (run scripts/conformance-score.sh update "+
					"after reading the difference):\n--- kept\n%s\n--- now\n%s", c.name, aspect, kept, want[wf][aspect], now[wf][aspect])
			}
		}
	}
	return want
}

// aspects decodes score-k8s's manifests (from where) and returns the aspects of each of the case's
// workloads, by score file, but those left out.
func (c conformanceCase) aspects(t *testing.T, where string, data []byte, left ...string) map[string]map[string]string {
	t.Helper()
	objs, err := decodeScoreK8s(data)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	out := map[string]map[string]string{}
	for _, wf := range c.workloads {
		if !slices.Contains(left, wf) {
			out[wf] = aspectsOf(t, objs, c.read(t, wf).Metadata.Name)
		}
	}
	return out
}

// generate runs score-k8s on the case's files in a scratch directory and returns manifests.yaml, and the
// score files it left out.
func (c conformanceCase) generate(t *testing.T) (manifests []byte, left []string) {
	t.Helper()
	work := t.TempDir()
	if err := os.CopyFS(work, os.DirFS(c.dir)); err != nil {
		t.Fatal(err)
	}
	provisioners, err := filepath.Abs(filepath.Join("testdata", "conformance", "provisioners.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) ([]byte, error) {
		cmd := exec.Command(*scoreK8sBin, args...)
		cmd.Dir = work
		return cmd.CombinedOutput()
	}
	if out, err := run("init", "--no-sample", "--provisioners", provisioners); err != nil {
		t.Fatalf("score-k8s init: %v\n%s", err, out)
	}
	// image "." (built from the repository) is an image of score-k8s's --image, which it takes for one file
	// at a time only: written into the copies instead.
	for _, p := range c.peers {
		f := filepath.Join(work, filepath.FromSlash(p))
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, ownImage.ReplaceAll(data, []byte("${1}registry.example.internal/app:v1")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A workload with a resource type no provisioner here supports (the samples use community ones, fetched
	// from the internet) is left out for score-k8s; goldenpath refuses such types too.
	peers := slices.Clone(c.peers)
	for {
		args := append(append([]string{"generate"}, peers...), "-o", "manifests.yaml")
		out, err := run(args...)
		if err == nil {
			break
		}
		m := unprovisioned.FindSubmatch(out)
		i := -1
		if m != nil {
			i = slices.IndexFunc(peers, func(p string) bool { return c.read(t, p).Metadata.Name == string(m[2]) })
		}
		if i < 0 {
			t.Fatalf("score-k8s %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		t.Logf("score-k8s: %s left out: no provisioner here provides its resource %s", peers[i], m[1])
		left = append(left, peers[i])
		peers = slices.Delete(peers, i, i+1)
	}
	out, err := os.ReadFile(filepath.Join(work, "manifests.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return out, left
}

// ownImage is a container's image "." in a score file.
var ownImage = regexp.MustCompile(`(?m)^(\s+image:\s*)["']?\.["']?\s*$`)

// unprovisioned is score-k8s's error for a resource type it has no provisioner for, or for a service resource
// pointing at a workload left out: the resource's id and its workload.
var unprovisioned = regexp.MustCompile(`resource '([a-z0-9-]+\.[a-z0-9-]+#([a-z0-9-]+)\.[^']+)'(?: is not supported by any provisioner|: failed to provision: .*unknown workload)`)

// read decodes one of the case's score files as written, without goldenpath's checks (for names, and for
// the Service of a workload another points at).
func (c conformanceCase) read(t *testing.T, file string) *Workload {
	t.Helper()
	var w Workload
	data, err := os.ReadFile(filepath.Join(c.dir, filepath.FromSlash(file)))
	if err == nil {
		err = yaml.Unmarshal(data, &w)
	}
	if err != nil {
		t.Fatal(err)
	}
	return &w
}

// goldenpath renders the case's workloads with the same resource outputs the score-k8s provisioners give
// (testdata/conformance/provisioners.yaml), and returns the aspects of each, or why it is not rendered, by
// score file.
func (c conformanceCase) goldenpath(t *testing.T) (map[string]map[string]string, map[string]error) {
	t.Helper()
	var objs []any
	rendered := map[string]*Workload{}
	errs := map[string]error{}
	for _, wf := range c.peers {
		w, more, err := c.render(t, wf)
		if err != nil {
			errs[wf] = err
			continue
		}
		rendered[wf] = w
		objs = append(objs, more...)
	}
	out := map[string]map[string]string{}
	for _, wf := range c.workloads {
		if w := rendered[wf]; w != nil {
			out[wf] = aspectsOf(t, objs, w.Metadata.Name)
		}
	}
	return out, errs
}

// render renders one of the case's workloads and returns it and the objects of its overlay.
func (c conformanceCase) render(t *testing.T, file string) (*Workload, []any, error) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(c.dir, filepath.FromSlash(file)))
	if err != nil {
		t.Fatal(err)
	}
	w, err := Parse(path.Base(file), data)
	if err != nil {
		return nil, nil, err
	}
	in := Inputs{Environment: "dev", Namespace: w.Metadata.Name, Image: "127.0.0.1:7070/dev/" + w.Metadata.Name, Tag: "v1", Domain: "dev.example.internal",
		ArgoCD: ArgoCD{RepoURL: "http://127.0.0.1:7070/git/platform.git"}}
	if err := c.resources(t, w, &in); err != nil {
		return nil, nil, err
	}
	in.Sources = map[string][]byte{}
	for _, src := range w.FileSources() {
		data, err := os.ReadFile(filepath.Join(c.dir, path.Dir(file), filepath.FromSlash(src)))
		if err != nil {
			return nil, nil, err
		}
		in.Sources[src] = data
	}
	objs, err := renderedObjects(w, in)
	return w, objs, err
}

// renderedObjects renders a workload and decodes the objects of its overlay.
func renderedObjects(w *Workload, in Inputs) ([]any, error) {
	files, err := Render(w, in)
	if err != nil {
		return nil, err
	}
	var objs []any
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if !strings.HasPrefix(p, OverlayDir(in.Environment, w.Metadata.Name)+"/") || path.Base(p) == KustomizationFile {
			continue
		}
		o, err := Decode(p, files[p])
		if err != nil {
			return nil, err
		}
		objs = append(objs, o...)
	}
	return objs, nil
}

// resources gives the workload's resources the outputs score-k8s's provisioners give them: fixed ones for
// postgres, the case's .env.dev for environment, and the other workload's Service for service.
func (c conformanceCase) resources(t *testing.T, w *Workload, in *Inputs) error {
	t.Helper()
	in.Outputs, in.SecretRefs = map[string]map[string]string{}, map[string]string{}
	for name, res := range w.Resources {
		switch res.Type {
		case TypePostgres:
			in.Outputs[name] = map[string]string{"host": "ledger-db.example.internal", "port": "5432", "database": "ledger", "username": "ledger"}
			in.SecretRefs[name] = "ledger-db"
		case TypeEnvironment:
			data, err := os.ReadFile(filepath.Join(c.dir, ".env.dev"))
			if err != nil {
				return err
			}
			if in.Outputs[name], err = ParseEnvFile(".env.dev", data); err != nil {
				return err
			}
		case TypeService:
			target := ServiceWorkload(name, res)
			var tw *Workload
			for _, p := range c.peers {
				if w := c.read(t, p); w.Metadata.Name == target {
					tw = w
				}
			}
			if tw == nil {
				return fmt.Errorf("resource %s: there is no workload %s among %s", name, target, strings.Join(c.peers, ", "))
			}
			var err error
			if in.Outputs[name], _, err = ServiceOutputs(tw, tw.Metadata.Name, res); err != nil {
				return err
			}
		case TypeVolume, TypeDNS, TypeRoute:
		default:
			return fmt.Errorf("resource %s: type %s has no outputs in this suite", name, res.Type)
		}
	}
	return nil
}

// decodeScoreK8s reads score-k8s's manifests.yaml into typed objects.
func decodeScoreK8s(data []byte) ([]any, error) {
	docs, err := manifest.SplitDocuments(data)
	if err != nil {
		return nil, err
	}
	var out []any
	for _, d := range docs {
		var head struct{ Kind string }
		if err := yaml.Unmarshal(d, &head); err != nil {
			return nil, err
		}
		var obj any
		switch head.Kind {
		case "Deployment":
			obj = &appsv1.Deployment{}
		case "Service":
			obj = &corev1.Service{}
		case "ConfigMap":
			obj = &corev1.ConfigMap{}
		case "Secret":
			obj = &corev1.Secret{}
		default:
			continue // what score-k8s runs for a resource (a StatefulSet, an HTTPRoute): not compared
		}
		if err := yaml.Unmarshal(d, obj); err != nil {
			return nil, err
		}
		out = append(out, obj)
	}
	return out, nil
}

// aspectsOf reduces the manifests of one workload to what a running container sees, aspect by aspect, as
// text: the two renderers name and arrange objects differently, but must give the same result.
func aspectsOf(t *testing.T, objs []any, workload string) map[string]string {
	t.Helper()
	var dep *appsv1.Deployment
	var svc *corev1.Service
	configMaps := map[string]*corev1.ConfigMap{}
	services := map[string]*corev1.Service{}
	for _, o := range objs {
		switch x := o.(type) {
		case *appsv1.Deployment:
			if x.Name == workload {
				dep = x
			}
		case *corev1.Service:
			services[x.Name] = x
			if x.Name == workload {
				svc = x
			}
		case *corev1.ConfigMap:
			configMaps[x.Name] = x
		}
	}
	if dep == nil {
		t.Fatalf("no Deployment %s among the manifests", workload)
	}
	out := map[string]string{}
	var b strings.Builder
	pod := dep.Spec.Template.Spec
	for _, aspect := range conformanceAspects {
		b.Reset()
		for _, ct := range slices.SortedFunc(slices.Values(pod.Containers), func(a, b corev1.Container) int { return strings.Compare(a.Name, b.Name) }) {
			lines := containerAspect(aspect, ct, pod, configMaps)
			if len(lines) > 0 {
				fmt.Fprintf(&b, "[%s]\n%s\n", ct.Name, strings.Join(lines, "\n"))
			}
		}
		out[aspect] = b.String()
	}
	out["ports"] = servicePorts(svc)
	out["services"] = serviceLinks(pod, services)
	out["annotations"] = podAnnotations(dep.Spec.Template.Annotations)
	return out
}

func containerAspect(aspect string, ct corev1.Container, pod corev1.PodSpec, cms map[string]*corev1.ConfigMap) []string {
	switch aspect {
	case "command":
		return []string{fmt.Sprintf("command %q args %q", expandK8s(strings.Join(ct.Command, "\x00"), nil), expandK8s(strings.Join(ct.Args, "\x00"), nil))}
	case "env":
		return effectiveEnv(ct)
	case "probes":
		var lines []string
		for _, p := range []struct {
			name  string
			probe *corev1.Probe
		}{{"liveness", ct.LivenessProbe}, {"readiness", ct.ReadinessProbe}} {
			if p.probe != nil {
				h, _ := json.Marshal(p.probe.ProbeHandler)
				lines = append(lines, p.name+" "+string(h))
			}
		}
		return lines
	case "limits":
		return quantities(ct.Resources)
	case "files":
		return mountedFiles(ct, pod, cms)
	case "volumes":
		return mountedVolumes(ct, pod)
	}
	return nil
}

// effectiveEnv is each variable's value as the container sees it, with Kubernetes' $(VAR) and $$ expanded;
// a secret is shown as <secret NAME/KEY>. Helper variables (those only referenced by others) are left out.
func effectiveEnv(ct corev1.Container) []string {
	seen := map[string]string{}
	var lines []string
	for _, e := range ct.Env {
		v := expandK8s(e.Value, seen)
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			v = "<secret " + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key + ">"
		}
		seen[e.Name] = v
		if strings.HasPrefix(e.Name, "__ref_") || strings.HasPrefix(e.Name, secretEnvPrefix) {
			continue
		}
		lines = append(lines, e.Name+"="+v)
	}
	slices.Sort(lines)
	return lines
}

var k8sRef = regexp.MustCompile(`\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)`)

// expandK8s applies Kubernetes' expansion of variables, command and args: $$ is $, $(NAME) is the value of
// an earlier variable (kept as written when there is none).
func expandK8s(s string, vars map[string]string) string {
	return k8sRef.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		if v, ok := vars[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

func quantities(r corev1.ResourceRequirements) []string {
	var lines []string
	for _, l := range []struct {
		what string
		list corev1.ResourceList
	}{{"limits", r.Limits}, {"requests", r.Requests}} {
		for _, name := range slices.Sorted(maps.Keys(l.list)) {
			q := l.list[name]
			lines = append(lines, fmt.Sprintf("%s.%s=%s", l.what, name, canonicalQuantity(q)))
		}
	}
	return lines
}

func canonicalQuantity(q resource.Quantity) string {
	if q.Cmp(*resource.NewMilliQuantity(q.MilliValue(), q.Format)) == 0 && q.MilliValue()%1000 != 0 {
		return fmt.Sprintf("%dm", q.MilliValue())
	}
	return fmt.Sprintf("%d", q.Value())
}

// mountedFiles lists each file a container sees from a ConfigMap (directly, by subPath or projected) with its
// content and mode.
func mountedFiles(ct corev1.Container, pod corev1.PodSpec, cms map[string]*corev1.ConfigMap) []string {
	var lines []string
	for _, m := range ct.VolumeMounts {
		v := podVolume(pod, m.Name)
		if v == nil {
			continue
		}
		for _, f := range configMapFiles(*v, cms) {
			target := path.Join(m.MountPath, f.path)
			if m.SubPath != "" {
				if f.path != m.SubPath {
					continue
				}
				target = m.MountPath
			}
			lines = append(lines, fmt.Sprintf("%s mode %04o: %s", target, f.mode, base64.StdEncoding.EncodeToString(f.content)))
		}
	}
	slices.Sort(lines)
	return lines
}

type cmFile struct {
	path    string
	mode    int32
	content []byte
}

func configMapFiles(v corev1.Volume, cms map[string]*corev1.ConfigMap) []cmFile {
	type source struct {
		name  string
		items []corev1.KeyToPath
	}
	var sources []source
	switch {
	case v.ConfigMap != nil:
		sources = append(sources, source{v.ConfigMap.Name, v.ConfigMap.Items})
	case v.Projected != nil:
		for _, p := range v.Projected.Sources {
			if p.ConfigMap != nil {
				sources = append(sources, source{p.ConfigMap.Name, p.ConfigMap.Items})
			}
		}
	}
	var out []cmFile
	for _, s := range sources {
		cm := cms[s.name]
		if cm == nil {
			continue
		}
		for _, it := range s.items {
			content, ok := cm.BinaryData[it.Key]
			if !ok {
				content = []byte(cm.Data[it.Key])
			}
			mode := int32(0o644)
			if it.Mode != nil {
				mode = *it.Mode
			}
			out = append(out, cmFile{path: it.Path, mode: mode, content: content})
		}
	}
	return out
}

// mountedVolumes lists the container's emptyDir mounts other than goldenpath's own /tmp.
func mountedVolumes(ct corev1.Container, pod corev1.PodSpec) []string {
	var lines []string
	for _, m := range ct.VolumeMounts {
		v := podVolume(pod, m.Name)
		if v == nil || v.EmptyDir == nil || (m.Name == tmpVolume && m.MountPath == "/tmp") {
			continue
		}
		lines = append(lines, fmt.Sprintf("%s emptyDir subPath=%q readOnly=%v", m.MountPath, m.SubPath, m.ReadOnly))
	}
	slices.Sort(lines)
	return lines
}

func podVolume(pod corev1.PodSpec, name string) *corev1.Volume {
	for i := range pod.Volumes {
		if pod.Volumes[i].Name == name {
			return &pod.Volumes[i]
		}
	}
	return nil
}

// podAnnotations lists the workload's annotations on its pods, leaving out each renderer's own.
func podAnnotations(a map[string]string) string {
	var lines []string
	for k, v := range a {
		if !strings.HasPrefix(k, "k8s.score.dev/") && !strings.HasPrefix(k, "goldenpath.io/") {
			lines = append(lines, k+"="+v)
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func servicePorts(svc *corev1.Service) string {
	if svc == nil {
		return ""
	}
	var lines []string
	for _, p := range svc.Spec.Ports {
		lines = append(lines, fmt.Sprintf("%s %d -> %s/%s", p.Name, p.Port, p.TargetPort.String(), p.Protocol))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// serviceLinks finds, in the variables, the hosts and ports of other workloads' Services and reduces each to
// the Service it names (the first label of the host) and the port, which must be one the Service publishes.
func serviceLinks(pod corev1.PodSpec, services map[string]*corev1.Service) string {
	var lines []string
	for _, ct := range pod.Containers {
		for _, kv := range effectiveEnv(ct) {
			for name, svc := range services {
				hosts := regexp.MustCompile(`\b`+regexp.QuoteMeta(name)+`(\.[a-z0-9.-]+)?(:(\d+))?\b`).FindAllStringSubmatch(kv, -1)
				for _, h := range hosts {
					port := h[3]
					if port != "" && !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return fmt.Sprint(p.Port) == port }) {
						port += " (not a port of the Service)"
					}
					lines = append(lines, fmt.Sprintf("%s: service %s port %s", strings.SplitN(kv, "=", 2)[0], name, port))
				}
			}
		}
	}
	slices.Sort(lines)
	return strings.Join(slices.Compact(lines), "\n")
}
