package score

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Labels and annotations goldenpath puts on what it renders.
const (
	LabelName        = "app.kubernetes.io/name"
	LabelManagedBy   = "app.kubernetes.io/managed-by"
	LabelEnvironment = "goldenpath.io/environment"
	ManagedBy        = "goldenpath"

	// AnnotationFilesChecksum on the pod template changes with the inline files, so editing a file rolls
	// the pods (a ConfigMap mounted with subPath is never refreshed in a running pod).
	AnnotationFilesChecksum = "goldenpath.io/files-sha256"
)

// RunAsUser is the user (and group) pods run as: distroless' nonroot, which the golden-path Dockerfiles use.
// It is numeric because the kubelet cannot check runAsNonRoot against a user name such as "nonroot".
const RunAsUser = 65532

// Compute defaults, for containers whose score.yaml leaves requests or limits out.
const (
	DefaultCPURequest    = "100m"
	DefaultMemoryRequest = "128Mi"
	DefaultCPULimit      = "500m"
	DefaultMemoryLimit   = "256Mi"
)

const (
	tmpVolume   = "tmp"
	filesVolume = "files"
	// secretEnvPrefix names the variables holding secret outputs used inside a longer value: Kubernetes
	// expands $(NAME) in later variables, command and args, so the value itself never holds the secret.
	secretEnvPrefix = "GOLDENPATH_SECRET_"
)

func (r *renderer) labels() map[string]string {
	return map[string]string{LabelName: r.app, LabelManagedBy: ManagedBy, LabelEnvironment: r.in.Environment}
}

func (r *renderer) meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: r.in.Namespace, Labels: r.labels()}
}

// deployment renders the Deployment and, when containers have inline files, the ConfigMap holding them.
func (r *renderer) deployment() (*appsv1.Deployment, *corev1.ConfigMap, error) {
	files := &fileSet{}
	var containers []corev1.Container
	for _, name := range slices.Sorted(maps.Keys(r.w.Containers)) {
		c, err := r.container(name, r.w.Containers[name], files)
		if err != nil {
			return nil, nil, fmt.Errorf("rendering container %s of %s: %w", name, r.app, err)
		}
		containers = append(containers, c)
	}
	if len(containers) == 1 {
		containers[0].Ports = r.containerPorts()
	}
	if n := files.size(); n > maxFilesBytes {
		return nil, nil, fmt.Errorf("the files of %s hold %d bytes, more than the %d a ConfigMap can hold: keep large files in the image", r.app, n, maxFilesBytes)
	}
	pod := r.podSpec(containers, files)
	// The workload's annotations go on the pods too, where what reads them (a metrics scraper, a mesh's
	// injector) looks, as score-k8s puts them.
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: r.labels(), Annotations: r.deploymentAnnotations()}, Spec: pod}
	cm := files.configMap(r)
	if cm != nil {
		if tmpl.Annotations == nil {
			tmpl.Annotations = map[string]string{}
		}
		tmpl.Annotations[AnnotationFilesChecksum] = files.checksum()
	}
	dep := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: r.meta(r.app),
		Spec: appsv1.DeploymentSpec{
			Replicas: &r.in.Replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{LabelName: r.app}},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType},
			Template: tmpl,
		},
	}
	dep.Annotations = r.deploymentAnnotations()
	return dep, cm, nil
}

// deploymentAnnotations are the workload's annotations except Argo CD Image Updater's, which belong to the
// Application.
func (r *renderer) deploymentAnnotations() map[string]string {
	var out map[string]string
	for k, v := range r.w.Metadata.Annotations {
		if isImageUpdaterAnnotation(k) {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	return out
}

// podSpec is the restricted pod: non-root with a numeric user, the runtime's seccomp profile, no service
// account token, no service links, and a writable /tmp beside a read-only root filesystem.
func (r *renderer) podSpec(containers []corev1.Container, files *fileSet) corev1.PodSpec {
	user := int64(RunAsUser)
	no, yes := false, true
	tmpLimit := resource.MustParse("64Mi")
	volumes := []corev1.Volume{{Name: tmpVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &tmpLimit}}}}
	if v := files.volume(r); v != nil {
		volumes = append(volumes, *v)
	}
	volumes = append(volumes, r.emptyDirs()...)
	return corev1.PodSpec{
		AutomountServiceAccountToken: &no,
		EnableServiceLinks:           &no,
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   &yes,
			RunAsUser:      &user,
			RunAsGroup:     &user,
			FSGroup:        &user,
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: containers,
		Volumes:    volumes,
	}
}

func (r *renderer) container(name string, c Container, files *fileSet) (corev1.Container, error) {
	env := &envBuilder{r: r}
	vars, err := env.variables(c.Variables)
	if err != nil {
		return corev1.Container{}, err
	}
	command, err := env.args("command", c.Command)
	if err != nil {
		return corev1.Container{}, err
	}
	args, err := env.args("args", c.Args)
	if err != nil {
		return corev1.Container{}, err
	}
	res, err := computeResources(c.Resources)
	if err != nil {
		return corev1.Container{}, err
	}
	mounts, err := files.add(r, name, c.Files)
	if err != nil {
		return corev1.Container{}, err
	}
	vols, err := volumeMounts(c.Volumes)
	if err != nil {
		return corev1.Container{}, err
	}
	mounts = append(mounts, vols...)
	image := c.Image
	if image == OwnImage {
		image = ownImageName(r.app)
	}
	no, yes := false, true
	return corev1.Container{
		Name:           name,
		Image:          image,
		Command:        command,
		Args:           args,
		Env:            append(env.helperVars(), vars...),
		Resources:      res,
		LivenessProbe:  probe(c.LivenessProbe),
		ReadinessProbe: probe(c.ReadinessProbe),
		VolumeMounts:   append([]corev1.VolumeMount{{Name: tmpVolume, MountPath: "/tmp"}}, mounts...),
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: &no,
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			ReadOnlyRootFilesystem:   &yes,
			RunAsNonRoot:             &yes,
		},
	}, nil
}

// containerPorts lists the service's target ports on the only container, for readers and tools; the
// Service targets them by number either way.
func (r *renderer) containerPorts() []corev1.ContainerPort {
	if r.w.Service == nil {
		return nil
	}
	var ports []corev1.ContainerPort
	seen := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(r.w.Service.Ports)) {
		p := r.w.Service.Ports[name]
		target, proto := targetPort(p), protocol(p)
		key := strconv.Itoa(target) + "/" + string(proto)
		if seen[key] {
			continue
		}
		seen[key] = true
		ports = append(ports, corev1.ContainerPort{ContainerPort: int32(target), Protocol: proto})
	}
	return ports
}

func targetPort(p ServicePort) int {
	if p.TargetPort != 0 {
		return p.TargetPort
	}
	return p.Port
}

func protocol(p ServicePort) corev1.Protocol {
	if p.Protocol == "UDP" {
		return corev1.ProtocolUDP
	}
	return corev1.ProtocolTCP
}

// envBuilder renders a container's variables, command and args. A value that is exactly one secret output
// becomes a secretKeyRef; a secret output inside a longer value becomes a helper variable, referenced as
// $(NAME), which Kubernetes expands when it starts the container.
type envBuilder struct {
	r       *renderer
	helpers map[string]corev1.EnvVar
}

func (b *envBuilder) variables(vars map[string]string) ([]corev1.EnvVar, error) {
	out := make([]corev1.EnvVar, 0, len(vars))
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		if strings.HasPrefix(name, secretEnvPrefix) {
			return nil, fmt.Errorf("variable %s: names starting with %s are reserved for secret outputs", name, secretEnvPrefix)
		}
		vals, err := b.resolve(vars[name])
		if err != nil {
			return nil, fmt.Errorf("variable %s: %w", name, err)
		}
		if len(vals) == 1 && vals[0].secret != nil {
			out = append(out, corev1.EnvVar{Name: name, ValueFrom: secretSource(vals[0].secret)})
			continue
		}
		out = append(out, corev1.EnvVar{Name: name, Value: b.join(vals)})
	}
	return out, nil
}

func (b *envBuilder) args(field string, list []string) ([]string, error) {
	var out []string
	for i, s := range list {
		vals, err := b.resolve(s)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", field, i, err)
		}
		out = append(out, b.join(vals))
	}
	return out, nil
}

func (b *envBuilder) resolve(s string) ([]value, error) {
	t, err := parseTemplate(s)
	if err != nil {
		return nil, err
	}
	return t.resolveAll(b.r.resolve)
}

// join renders resolved values as one string for Kubernetes, which reads "$(NAME)" as a variable and "$$"
// as "$": literal text has every "$" doubled, and secrets become references to helper variables.
func (b *envBuilder) join(vals []value) string {
	var sb strings.Builder
	for _, v := range vals {
		if v.secret == nil {
			sb.WriteString(strings.ReplaceAll(v.text, "$", "$$"))
			continue
		}
		sb.WriteString("$(" + b.helper(v.secret) + ")")
	}
	return sb.String()
}

// helper returns the name of the variable holding a secret key, declaring it on first use.
func (b *envBuilder) helper(s *secretRef) string {
	name := secretEnvPrefix + envName(s.name) + "_" + envName(s.key)
	if b.helpers == nil {
		b.helpers = map[string]corev1.EnvVar{}
	}
	b.helpers[name] = corev1.EnvVar{Name: name, ValueFrom: secretSource(s)}
	return name
}

// helperVars are the helper variables, sorted, to be declared before the variables that use them.
func (b *envBuilder) helperVars() []corev1.EnvVar {
	out := make([]corev1.EnvVar, 0, len(b.helpers))
	for _, name := range slices.Sorted(maps.Keys(b.helpers)) {
		out = append(out, b.helpers[name])
	}
	return out
}

func secretSource(s *secretRef) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: s.name}, Key: s.key,
	}}
}

// envName upper-cases a name and turns anything but letters and digits into '_'.
func envName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, s)
}

// computeResources applies the defaults to what score.yaml leaves out and raises a limit that would be
// below its request, which the API server would refuse.
func computeResources(cr *ContainerResources) (corev1.ResourceRequirements, error) {
	var req, lim Amounts
	if cr != nil && cr.Requests != nil {
		req = *cr.Requests
	}
	if cr != nil && cr.Limits != nil {
		lim = *cr.Limits
	}
	out := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
	for _, x := range []struct {
		name           corev1.ResourceName
		req, lim       string
		defReq, defLim string
	}{
		{corev1.ResourceCPU, req.CPU, lim.CPU, DefaultCPURequest, DefaultCPULimit},
		{corev1.ResourceMemory, req.Memory, lim.Memory, DefaultMemoryRequest, DefaultMemoryLimit},
	} {
		rq, lm, err := requestAndLimit(x.req, x.lim, x.defReq, x.defLim)
		if err != nil {
			return out, fmt.Errorf("resources %s: %w", x.name, err)
		}
		out.Requests[x.name], out.Limits[x.name] = rq, lm
	}
	return out, nil
}

func requestAndLimit(req, lim, defReq, defLim string) (resource.Quantity, resource.Quantity, error) {
	rq, err := resource.ParseQuantity(cmp.Or(req, defReq))
	if err != nil {
		return rq, rq, fmt.Errorf("request %q: %w", req, err)
	}
	lm, err := resource.ParseQuantity(cmp.Or(lim, defLim))
	if err != nil {
		return rq, lm, fmt.Errorf("limit %q: %w", lim, err)
	}
	switch {
	case req == "" && rq.Cmp(lm) > 0:
		rq = lm // a small explicit limit lowers the default request
	case rq.Cmp(lm) > 0 && lim == "":
		lm = rq // a large explicit request raises the default limit
	case rq.Cmp(lm) > 0:
		return rq, lm, fmt.Errorf("request %s is above limit %s", rq.String(), lm.String())
	}
	return rq, lm, nil
}

// probe renders a Score probe; exec wins when both kinds are given, as the spec prefers it.
func probe(p *Probe) *corev1.Probe {
	if p == nil {
		return nil
	}
	if p.Exec != nil {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: p.Exec.Command}}}
	}
	h := p.HTTPGet
	get := &corev1.HTTPGetAction{Path: h.Path, Port: intstr.FromInt32(int32(h.Port)), Host: h.Host, Scheme: corev1.URIScheme(h.Scheme)}
	for _, hd := range h.HTTPHeaders {
		get.HTTPHeaders = append(get.HTTPHeaders, corev1.HTTPHeader{Name: hd.Name, Value: hd.Value})
	}
	return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: get}}
}

// service renders the Service from service.ports, or nil without ports.
func (r *renderer) service() *corev1.Service {
	if r.w.Service == nil || len(r.w.Service.Ports) == 0 {
		return nil
	}
	var ports []corev1.ServicePort
	for _, name := range slices.Sorted(maps.Keys(r.w.Service.Ports)) {
		p := r.w.Service.Ports[name]
		ports = append(ports, corev1.ServicePort{
			Name: name, Port: int32(p.Port), TargetPort: intstr.FromInt32(int32(targetPort(p))), Protocol: protocol(p),
		})
	}
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: r.meta(r.app),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: map[string]string{LabelName: r.app},
			Ports:    ports,
		},
	}
}

// volumeName is the pod volume of a volume resource: "vol-<resource>", or a hash of it when that is too long
// for a volume name.
func volumeName(resource string) string {
	if n := "vol-" + resource; len(n) <= 63 {
		return n
	}
	h := sha256.Sum256([]byte(resource))
	return "vol-" + hex.EncodeToString(h[:8])
}

// volumeMounts mounts a container's volume resources: each is one emptyDir of the pod, shared by every
// container that mounts it.
func volumeMounts(vols Volumes) ([]corev1.VolumeMount, error) {
	var out []corev1.VolumeMount
	for _, target := range slices.Sorted(maps.Keys(vols)) {
		v := vols[target]
		res, err := VolumeSource(v.Source)
		if err != nil {
			return nil, fmt.Errorf("volume %s: %w", target, err)
		}
		sub := ""
		if v.Path != "" {
			if sub, err = SourcePath(v.Path); err != nil {
				return nil, fmt.Errorf("volume %s: path: %w", target, err)
			}
		}
		out = append(out, corev1.VolumeMount{Name: volumeName(res), MountPath: target, SubPath: sub, ReadOnly: v.ReadOnly})
	}
	return out, nil
}

// emptyDirs are the pod volumes of the volume resources some container mounts, sorted by resource.
func (r *renderer) emptyDirs() []corev1.Volume {
	used := map[string]bool{}
	for _, c := range r.w.Containers {
		for _, v := range c.Volumes {
			if res, err := VolumeSource(v.Source); err == nil {
				used[res] = true
			}
		}
	}
	var out []corev1.Volume
	for _, res := range slices.Sorted(maps.Keys(used)) {
		out = append(out, corev1.Volume{Name: volumeName(res), VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	}
	return out
}
