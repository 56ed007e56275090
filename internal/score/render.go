package score

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
)

// Inputs are what Render needs besides the workload: where the app runs in this environment and what was
// provisioned for it.
type Inputs struct {
	Environment string // e.g. dev; names the overlay and the Application
	Namespace   string // the app's namespace in the cluster

	// Image is the repository of the image built from the app's repository (containers with image "."),
	// e.g. 127.0.0.1:7070/dev/orders; Tag or Digest (exactly one) pins it in kustomization.yaml.
	Image  string
	Tag    string
	Digest string

	// Domain is the environment's DNS suffix (platform.Config.EnvironmentDomain), e.g. dev.goldenpathidp.io:
	// a dns resource without a host gets <app>.<Domain>.
	Domain string

	// Outputs are the non-secret outputs of each resource, by resource name (a postgres resource's host,
	// port, database and username; an s3 resource's bucket, endpoint and region). Secret values must not be
	// passed here; any key that names a secret output is ignored.
	Outputs map[string]map[string]string
	// SecretRefs name, by resource, the Kubernetes Secret in Namespace that holds the resource's secret
	// outputs under the SecretKey* keys. Render references it; it never reads or writes it.
	SecretRefs map[string]string
	// Unavailable says, by resource, why it has no outputs (yet), in the words its user understands, e.g.
	// "request rds.dev.orders is Provisioning, not Ready yet": Render's error quotes it.
	Unavailable map[string]string

	// Sources are the contents of the repository files the workload's files read, by the path SourcePath
	// gives (Workload.FileSources lists them).
	Sources map[string][]byte

	ArgoCD ArgoCD

	// Replicas is the Deployment's replica count; 0 means 1.
	Replicas int32
	// ExtraResources are other files of the app's overlay directory that kustomization.yaml must list, such
	// as edge.Resources(files, OverlayDir(env, app)): ingress.yaml and what sign-in needs.
	ExtraResources []string
}

// ArgoCD says where Argo CD finds the GitOps repository and how the app's Application is set up.
type ArgoCD struct {
	RepoURL        string // required: the GitOps repository
	TargetRevision string // default HEAD
	Project        string // default "default"
	Namespace      string // where Applications live; default argocd
	Server         string // destination cluster; default the cluster Argo CD runs in
}

// Defaults of ArgoCD's optional fields.
const (
	DefaultTargetRevision  = "HEAD"
	DefaultProject         = "default"
	DefaultArgoCDNamespace = "argocd"
	InClusterServer        = "https://kubernetes.default.svc"
)

// Route is a route resource of the workload, for the edge (internal/edge) to render as an Ingress.
type Route struct {
	Name      string // the route resource's name in score.yaml
	Host      string
	Path      string // "/" unless given
	Port      int    // a port of the app's Service
	Service   string // the app's Service
	Namespace string
	Auth      string // AuthSSO or AuthPublic; "" when score.yaml leaves it to the edge's default
}

// Names of the files Render writes in an app's overlay directory.
const (
	DeploymentFile    = "deployment.yaml"
	ServiceFile       = "service.yaml"
	FilesFile         = "files.yaml"
	KustomizationFile = "kustomization.yaml"
)

// OverlayDir is the directory of an app's manifests in an environment (the same as edge.AppDir).
func OverlayDir(env, app string) string {
	return path.Join("gitops/kustomize/overlays", env, "apps", app)
}

// ApplicationPath is the file of an app's Argo CD Application in an environment.
func ApplicationPath(env, app string) string {
	return path.Join("gitops/argocd/apps", env, app+".yaml")
}

// Render renders a workload for one environment into files keyed by path from the repository root: the
// overlay's deployment.yaml, service.yaml (with service ports), files.yaml (with inline files) and
// kustomization.yaml, and the Argo CD Application. It is pure and deterministic. w must come from Parse,
// which checked what Render relies on.
func Render(w *Workload, in Inputs) (map[string][]byte, error) {
	r, err := newRenderer(w, in)
	if err != nil {
		return nil, err
	}
	dir := OverlayDir(r.in.Environment, r.app)
	files := map[string][]byte{}
	dep, cm, err := r.deployment()
	if err != nil {
		return nil, err
	}
	objs := []namedObject{{DeploymentFile, dep}}
	if svc := r.service(); svc != nil {
		objs = append(objs, namedObject{ServiceFile, svc})
	}
	if cm != nil {
		objs = append(objs, namedObject{FilesFile, cm})
	}
	var listed []string
	for _, o := range objs {
		data, err := marshalManifest(o.obj)
		if err != nil {
			return nil, err
		}
		files[path.Join(dir, o.name)] = data
		listed = append(listed, o.name)
	}
	k, err := r.kustomization(append(listed, r.in.ExtraResources...))
	if err != nil {
		return nil, err
	}
	files[path.Join(dir, KustomizationFile)] = k
	app, err := marshalManifest(r.application())
	if err != nil {
		return nil, err
	}
	files[ApplicationPath(r.in.Environment, r.app)] = app
	return files, nil
}

// namedObject is a manifest and the name of its file.
type namedObject struct {
	name string
	obj  any
}

// Routes returns the workload's route resources for one environment, sorted by name, with their hosts
// resolved: the hook through which the edge renders the app's Ingress.
func Routes(w *Workload, in Inputs) ([]Route, error) {
	r, err := newRenderer(w, in)
	if err != nil {
		return nil, err
	}
	return r.routes()
}

// renderer renders one workload for one environment.
type renderer struct {
	w     *Workload
	in    Inputs
	app   string
	types map[string]resourceType
}

func newRenderer(w *Workload, in Inputs) (*renderer, error) {
	if w == nil {
		return nil, errors.New("rendering: workload is nil")
	}
	in.ArgoCD.TargetRevision = cmp.Or(in.ArgoCD.TargetRevision, DefaultTargetRevision)
	in.ArgoCD.Project = cmp.Or(in.ArgoCD.Project, DefaultProject)
	in.ArgoCD.Namespace = cmp.Or(in.ArgoCD.Namespace, DefaultArgoCDNamespace)
	in.ArgoCD.Server = cmp.Or(in.ArgoCD.Server, InClusterServer)
	if in.Replicas == 0 {
		in.Replicas = 1
	}
	if err := checkInputs(w, in); err != nil {
		return nil, fmt.Errorf("rendering %s for %s: %w", w.Metadata.Name, cmp.Or(in.Environment, "an unnamed environment"), err)
	}
	return &renderer{w: w, in: in, app: w.Metadata.Name, types: resourceTypes()}, nil
}

var (
	labelPattern     = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	subdomainPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)
	hostPattern      = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	repoPattern      = regexp.MustCompile(`^[a-zA-Z0-9.-]+(:[0-9]+)?(/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)
)

// checkInputs reports every problem with the inputs, each naming its field.
func checkInputs(w *Workload, in Inputs) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !labelPattern.MatchString(in.Environment) {
		bad("Inputs.Environment %q must be a DNS label", in.Environment)
	}
	if !labelPattern.MatchString(in.Namespace) {
		bad("Inputs.Namespace %q must be a DNS label", in.Namespace)
	}
	if w.usesOwnImage() {
		errs = append(errs, checkOwnImage(in)...)
	}
	if in.Domain != "" && !hostPattern.MatchString(in.Domain) {
		bad("Inputs.Domain %q must be a lowercase DNS name", in.Domain)
	}
	for _, res := range slices.Sorted(maps.Keys(in.SecretRefs)) {
		if name := in.SecretRefs[res]; len(name) > 253 || !subdomainPattern.MatchString(name) {
			bad("Inputs.SecretRefs[%s] %q must be a Kubernetes Secret name (a DNS subdomain)", res, name)
		}
	}
	if in.ArgoCD.RepoURL == "" {
		bad("Inputs.ArgoCD.RepoURL is required: the GitOps repository Argo CD reads")
	}
	if in.Replicas < 0 {
		bad("Inputs.Replicas %d must not be negative", in.Replicas)
	}
	for _, f := range in.ExtraResources {
		if f == "" || strings.ContainsAny(f, `/\`) || f == "." || f == ".." || isRenderedFile(f) {
			bad("Inputs.ExtraResources: %q must be the name of another file in the app's overlay directory", f)
		}
	}
	return errors.Join(errs...)
}

func isRenderedFile(name string) bool {
	return slices.Contains([]string{DeploymentFile, ServiceFile, FilesFile, KustomizationFile}, name)
}

func checkOwnImage(in Inputs) []error {
	var errs []error
	switch {
	case in.Image == "":
		errs = append(errs, fmt.Errorf("Inputs.Image is required: a container runs image %q, the image built from the app's repository", OwnImage))
	case !repoPattern.MatchString(in.Image):
		errs = append(errs, fmt.Errorf("Inputs.Image %q must be an image repository without tag or digest, e.g. 127.0.0.1:7070/dev/orders", in.Image))
	}
	switch {
	case (in.Tag == "") == (in.Digest == ""):
		errs = append(errs, fmt.Errorf("exactly one of Inputs.Tag and Inputs.Digest must pin image %q (got tag %q, digest %q)", OwnImage, in.Tag, in.Digest))
	case in.Tag != "" && !tagPattern.MatchString(in.Tag):
		errs = append(errs, fmt.Errorf("Inputs.Tag %q is not a valid image tag", in.Tag))
	case in.Digest != "" && !digestPattern.MatchString(in.Digest):
		errs = append(errs, fmt.Errorf("Inputs.Digest %q is not a digest such as sha256:<64 hex digits>", in.Digest))
	}
	return errs
}

// ownImageName is the placeholder image name of the app's own image in the Deployment, which
// kustomization.yaml's images entry replaces with the pinned reference.
func ownImageName(app string) string { return app }

// resolve returns the value of a placeholder in a container: metadata, a resource's output, or a reference
// to the Secret holding a secret output.
func (r *renderer) resolve(ref []string) (value, error) {
	if ref[0] == "metadata" {
		s, err := r.w.metadataValue(ref[1:])
		return value{text: s}, err
	}
	if ref[0] != "resources" || len(ref) != 3 {
		return value{}, fmt.Errorf("%s: unknown placeholder", refString(ref))
	}
	name, outName := ref[1], ref[2]
	res, ok := r.w.Resources[name]
	if !ok {
		return value{}, fmt.Errorf("%s: there is no resource %q", refString(ref), name)
	}
	rt := r.types[res.Type]
	if rt.anyOutput {
		v, ok := r.in.Outputs[name][outName]
		if !ok {
			return value{}, fmt.Errorf("%s: %s resource %q has no value %s%s", refString(ref), res.Type, name, outName, r.why(name))
		}
		return value{text: v}, nil
	}
	out, ok := rt.outputs[outName]
	if !ok {
		return value{}, fmt.Errorf("%s: a %s resource has no output %q", refString(ref), res.Type, outName)
	}
	switch {
	case out.computed:
		host, err := r.host(name, res)
		return value{text: host}, err
	case out.secret:
		secret, ok := r.in.SecretRefs[name]
		if !ok {
			return value{}, fmt.Errorf("%s is a secret output of %s resource %q, but Inputs.SecretRefs names no Secret for %q",
				refString(ref), res.Type, name, name)
		}
		return value{secret: &secretRef{name: secret, key: out.key}}, nil
	}
	v, ok := r.in.Outputs[name][out.key]
	if !ok {
		if why := r.in.Unavailable[name]; why != "" {
			return value{}, fmt.Errorf("%s: %s resource %q has no output %q: %s", refString(ref), res.Type, name, outName, why)
		}
		return value{}, fmt.Errorf("%s: %s resource %q has no output %q yet (Inputs.Outputs[%q]): is it provisioned?",
			refString(ref), res.Type, name, out.key, name)
	}
	return value{text: v}, nil
}

// why is ": <reason>" when the caller said why a resource has no outputs, or "".
func (r *renderer) why(name string) string {
	if w := r.in.Unavailable[name]; w != "" {
		return ": " + w
	}
	return ""
}

// host is the host of a route (its host param) or of a dns resource: the host the caller provisioned
// (Inputs.Outputs[name]["host"]), else its host param, else <app>.<Inputs.Domain>.
func (r *renderer) host(name string, res Resource) (string, error) {
	if res.Type == TypeDNS {
		if h := r.in.Outputs[name]["host"]; h != "" {
			return h, nil
		}
	}
	if h, ok := res.Params["host"].(string); ok {
		t, err := parseTemplate(h)
		if err != nil {
			return "", fmt.Errorf("resources.%s.params.host: %w", name, err)
		}
		return t.text(r.resolve)
	}
	if r.in.Domain == "" {
		return "", fmt.Errorf("dns resource %q has no host param and Inputs.Domain is empty, so it has no host", name)
	}
	return r.app + "." + r.in.Domain, nil
}

func (r *renderer) routes() ([]Route, error) {
	var out []Route
	for _, name := range slices.Sorted(maps.Keys(r.w.Resources)) {
		res := r.w.Resources[name]
		if res.Type != TypeRoute {
			continue
		}
		rt, err := r.route(name, res)
		if err != nil {
			return nil, err
		}
		out = append(out, rt)
	}
	return out, nil
}

func (r *renderer) route(name string, res Resource) (Route, error) {
	host, err := r.host(name, res)
	if err != nil {
		return Route{}, err
	}
	if !hostPattern.MatchString(host) {
		return Route{}, fmt.Errorf("route %q: host %q is not a lowercase DNS name", name, host)
	}
	rt := Route{Name: name, Host: host, Path: "/", Service: r.app, Namespace: r.in.Namespace}
	if p, ok := res.Params["path"].(string); ok {
		rt.Path = p
	}
	if !strings.HasPrefix(rt.Path, "/") {
		return Route{}, fmt.Errorf("route %q: path %q must start with '/'", name, rt.Path)
	}
	rt.Auth, _ = res.Params["auth"].(string)
	if f, ok := res.Params["port"].(float64); ok {
		rt.Port = int(f)
	} else if r.w.Service != nil && len(r.w.Service.Ports) == 1 {
		for _, p := range r.w.Service.Ports {
			rt.Port = p.Port
		}
	}
	if rt.Port == 0 {
		return Route{}, fmt.Errorf("route %q: no port: set params.port to one of service.ports", name)
	}
	return rt, nil
}
