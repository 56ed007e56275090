package score

import (
	_ "embed"
	"encoding/base64"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/goldenpathidp/goldenpath/internal/strictyaml"
)

// schemaJSON is the JSON Schema score.yaml is checked against.
//
//go:embed schema.json
var schemaJSON []byte

var compiledSchema = sync.OnceValues(func() (*strictyaml.Schema, error) {
	return strictyaml.Compile("https://goldenpath.io/schemas/score/v1b1.json", schemaJSON, map[string]string{
		`^score\.dev/v1b1$`: "is not supported: goldenpath reads score.dev/v1b1",
		`^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$`: "is not a valid name: an RFC 1123 label of 2-63 lowercase letters, digits and '-', " +
			"not starting or ending with '-'",
		`^[A-Za-z0-9][A-Za-z0-9-]{0,61}[A-Za-z0-9]$`: "is not a valid type or class: 2-63 letters, digits and '-', not starting or ending with '-'",
		`^\d+(?:m|\.\d+)?$`:                          "is not a CPU amount such as 2, 0.5 or 250m",
		`^0?[0-7]{3}$`:                               "is not an octal file mode such as 0644",
		`^(0\.\d+|[1-9]\d*(\.\d+)?)(K|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$`: "is not a memory amount such as 128Mi, 1.5Gi or 500M",
	})
})

// Parse reads a score.yaml strictly: the Score JSON Schema first, then what goldenpath can render. Errors
// are strictyaml.Errors, each naming the file, line, field and rule.
func Parse(file string, data []byte) (*Workload, error) {
	docs, err := strictyaml.Parse(file, data)
	if err != nil {
		return nil, err
	}
	if len(docs) != 1 {
		return nil, &strictyaml.FieldError{File: file, Rule: fmt.Sprintf("must hold exactly one YAML document, found %d", len(docs))}
	}
	doc := docs[0]
	schema, err := compiledSchema()
	if err != nil {
		return nil, fmt.Errorf("compiling the Score schema: %w", err)
	}
	if err := doc.Validate(schema); err != nil {
		return nil, err
	}
	w := &Workload{File: file}
	if err := doc.Decode(w); err != nil {
		return nil, err
	}
	c := &checker{doc: doc, w: w, types: resourceTypes()}
	c.check()
	return w, c.errs.Err()
}

// checker holds goldenpath's own checks of a schema-valid workload.
type checker struct {
	doc   *strictyaml.Document
	w     *Workload
	types map[string]resourceType
	errs  strictyaml.Errors
}

// errAt records a problem at the field with the given path segments.
func (c *checker) errAt(path []string, format string, args ...any) {
	c.errs = append(c.errs, &strictyaml.FieldError{
		File: c.doc.File, Field: strings.Join(path, "."), Line: c.doc.Line(path...), Rule: fmt.Sprintf(format, args...),
	})
}

func (c *checker) check() {
	c.checkNames()
	for _, name := range slices.Sorted(maps.Keys(c.w.Resources)) {
		c.checkResource(name, c.w.Resources[name])
	}
	for _, name := range slices.Sorted(maps.Keys(c.w.Containers)) {
		c.checkContainer(name, c.w.Containers[name])
	}
	c.checkImages()
	slices.SortStableFunc(c.errs, func(a, b *strictyaml.FieldError) int { return a.Line - b.Line })
}

var (
	rfc1123Label  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$`)
	annotationKey = regexp.MustCompile(`^(([a-z0-9][a-z0-9-]{0,61}[a-z0-9])(\.[a-z0-9][a-z0-9-]{0,61}[a-z0-9])*/)?[A-Za-z0-9][A-Za-z0-9._-]{0,61}[A-Za-z0-9]$`)
)

// checkNames checks the map keys Score constrains: container, port and resource names are RFC 1123 labels,
// annotation keys are Kubernetes-style, variable names have no '='.
func (c *checker) checkNames() {
	type names struct {
		what string
		at   []string
		keys []string
	}
	labels := []names{
		{"container", []string{"containers"}, slices.Sorted(maps.Keys(c.w.Containers))},
		{"resource", []string{"resources"}, slices.Sorted(maps.Keys(c.w.Resources))},
	}
	if c.w.Service != nil {
		labels = append(labels, names{"service port", []string{"service", "ports"}, slices.Sorted(maps.Keys(c.w.Service.Ports))})
	}
	for _, l := range labels {
		for _, k := range l.keys {
			if !rfc1123Label.MatchString(k) {
				c.errAt(append(l.at, k), "%s name %q is not an RFC 1123 label of 2-63 lowercase letters, digits and '-', "+
					"not starting or ending with '-'", l.what, k)
			}
		}
	}
	c.checkAnnotationKeys([]string{"metadata", "annotations"}, slices.Sorted(maps.Keys(c.w.Metadata.Annotations)))
	for _, name := range slices.Sorted(maps.Keys(c.w.Resources)) {
		if a, ok := c.w.Resources[name].Metadata["annotations"].(map[string]any); ok {
			c.checkAnnotationKeys([]string{"resources", name, "metadata", "annotations"}, slices.Sorted(maps.Keys(a)))
		}
	}
	for _, cn := range slices.Sorted(maps.Keys(c.w.Containers)) {
		for _, v := range slices.Sorted(maps.Keys(c.w.Containers[cn].Variables)) {
			if v == "" || strings.Contains(v, "=") {
				c.errAt([]string{"containers", cn, "variables", v}, "variable name %q must not be empty or contain '='", v)
			}
		}
	}
}

func (c *checker) checkAnnotationKeys(at []string, keys []string) {
	for _, k := range keys {
		if len(k) > 316 || !annotationKey.MatchString(k) {
			c.errAt(append(at, k), "annotation key %q must be a name of letters, digits, '.', '_' and '-' (starting and "+
				"ending with a letter or digit), optionally after a DNS prefix and '/'", k)
		}
	}
}

func (c *checker) checkResource(name string, r Resource) {
	at := []string{"resources", name}
	rt, ok := c.types[r.Type]
	if !ok {
		c.errAt(append(at, "type"), "resource %q has type %q, which goldenpath does not provide (supported types: %s)",
			name, r.Type, quoteList(supportedTypes()))
		return
	}
	if r.Class != "" && r.Class != "default" {
		c.errAt(append(at, "class"), "class %q is not provided for type %s: leave class out or use \"default\"", r.Class, r.Type)
	}
	if r.ID != "" {
		c.errAt(append(at, "id"), "shared resources (id) are not supported: each app gets its own %s", r.Type)
	}
	c.checkParams(name, r, rt)
}

func (c *checker) checkParams(name string, r Resource, rt resourceType) {
	at := []string{"resources", name, "params"}
	for _, p := range slices.Sorted(maps.Keys(r.Params)) {
		decl, ok := rt.params[p]
		if !ok {
			if len(rt.params) == 0 {
				c.errAt(append(at, p), "resources of type %s take no params", r.Type)
			} else {
				c.errAt(append(at, p), "unknown param for type %s (supported params: %s)", r.Type, quoteList(slices.Sorted(maps.Keys(rt.params))))
			}
			continue
		}
		if err := checkParam(p, decl, r.Params[p]); err != nil {
			c.errAt(append(at, p), "%v", err)
			continue
		}
		if s, ok := r.Params[p].(string); ok {
			c.checkParamTemplate(append(at, p), r.Type, s)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(rt.params)) {
		if _, given := r.Params[p]; rt.params[p].required && !given {
			c.errAt(at, "param %s is required for type %s", p, r.Type)
		}
	}
	if r.Type == TypeRoute {
		c.checkRoutePort(name, r)
	}
}

// checkParamTemplate allows metadata and, in a route's params, a dns resource's host: the edge's inputs must
// be plain text, known before anything else is rendered.
func (c *checker) checkParamTemplate(at []string, typ, s string) {
	t, ok := c.template(at, s)
	if !ok {
		return
	}
	for _, ref := range t.refs() {
		if ref[0] != "resources" {
			c.checkRef(at, ref, false)
			continue
		}
		target, exists := c.w.Resources[ref[1]]
		if typ != TypeRoute || len(ref) != 3 || !exists || target.Type != TypeDNS || ref[2] != "host" {
			allowed := "metadata"
			if typ == TypeRoute {
				allowed = "metadata and a dns resource's host"
			}
			c.errAt(at, "%s cannot be used in params: a %s's params may use %s", refString(ref), typ, allowed)
		}
	}
}

// checkRoutePort makes sure a route sends its traffic to a port the workload's Service publishes.
func (c *checker) checkRoutePort(name string, r Resource) {
	at := []string{"resources", name, "params", "port"}
	var ports []int
	if c.w.Service != nil {
		for _, p := range c.w.Service.Ports {
			ports = append(ports, p.Port)
		}
	}
	f, given := r.Params["port"].(float64)
	switch {
	case len(ports) == 0:
		c.errAt(at, "route %q needs a service port to send traffic to: add service.ports", name)
	case !given && len(ports) > 1:
		c.errAt(at, "route %q must name its port: the service publishes %d ports", name, len(ports))
	case given && !containsInt(ports, int(f)):
		c.errAt(at, "route %q sends traffic to port %d, which service.ports does not publish", name, int(f))
	}
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// template parses a string with placeholders, recording a syntax error at path.
func (c *checker) template(at []string, s string) (template, bool) {
	t, err := parseTemplate(s)
	if err != nil {
		c.errAt(at, "%v", err)
		return nil, false
	}
	return t, true
}

// checkTemplate checks every placeholder of s.
func (c *checker) checkTemplate(at []string, s string, allowSecret bool) {
	t, ok := c.template(at, s)
	if !ok {
		return
	}
	for _, ref := range t.refs() {
		c.checkRef(at, ref, allowSecret)
	}
}

// checkRef checks that a placeholder names something that exists.
func (c *checker) checkRef(at []string, ref []string, allowSecret bool) {
	switch ref[0] {
	case "metadata":
		if _, err := c.w.metadataValue(ref[1:]); err != nil {
			c.errAt(at, "%s: %v", refString(ref), err)
		}
	case "resources":
		c.checkResourceRef(at, ref, allowSecret)
	default:
		c.errAt(at, "%s: placeholders read metadata (${metadata.name}) or resource outputs (${resources.<name>.<output>})", refString(ref))
	}
}

func (c *checker) checkResourceRef(at []string, ref []string, allowSecret bool) {
	if len(ref) != 3 {
		hint := ""
		if r, ok := c.w.Resources[ref[1]]; ok && len(ref) == 2 && r.Type == TypeVolume {
			hint = " (a volume is mounted with containers.<name>.volumes, not used as a value)"
		}
		c.errAt(at, "%s: a resource placeholder names a resource and one output, e.g. ${resources.db.host}%s", refString(ref), hint)
		return
	}
	r, ok := c.w.Resources[ref[1]]
	if !ok {
		c.errAt(at, "%s: there is no resource %q in resources", refString(ref), ref[1])
		return
	}
	rt, ok := c.types[r.Type]
	if !ok {
		return // reported with the resource
	}
	switch {
	case rt.volume:
		c.errAt(at, "%s: a volume resource has no outputs: mount it with containers.<name>.volumes (source: ${resources.%s})", refString(ref), ref[1])
		return
	case rt.anyOutput:
		return // any value the environment sets
	}
	out, ok := rt.outputs[ref[2]]
	if !ok {
		c.errAt(at, "%s: a %s resource has no output %q (its outputs: %s)", refString(ref), r.Type, ref[2], quoteList(slices.Sorted(maps.Keys(rt.outputs))))
		return
	}
	if out.secret && !allowSecret {
		c.errAt(at, "%s is a secret output: it can be used in variables, command and args (as a Secret reference), "+
			"never in file contents or params, which are written to git", refString(ref))
	}
}

// metadataValue reads ${metadata.<path>}: the name, an annotation, or another metadata key.
func (w *Workload) metadataValue(path []string) (string, error) {
	if len(path) == 0 {
		return "", fmt.Errorf("name a metadata key, e.g. ${metadata.name}")
	}
	switch path[0] {
	case "name":
		if len(path) == 1 {
			return w.Metadata.Name, nil
		}
	case "annotations":
		if len(path) == 2 {
			if v, ok := w.Metadata.Annotations[path[1]]; ok {
				return v, nil
			}
			return "", fmt.Errorf("there is no annotation %q in metadata.annotations", path[1])
		}
	default:
		return extraValue(w.Metadata.Extra, path)
	}
	return "", fmt.Errorf("metadata has no value at %s", strings.Join(path, "."))
}

func extraValue(m map[string]any, path []string) (string, error) {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return "", fmt.Errorf("metadata has no value at %s", strings.Join(path, "."))
		}
		if v, ok = mm[p]; !ok {
			return "", fmt.Errorf("metadata has no key %s", strings.Join(path, "."))
		}
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", fmt.Errorf("metadata.%s is not a string, number or boolean", strings.Join(path, "."))
}

func (c *checker) checkContainer(name string, ct Container) {
	at := []string{"containers", name}
	for _, v := range slices.Sorted(maps.Keys(ct.Variables)) {
		c.checkTemplate(append(at, "variables", v), ct.Variables[v], true)
	}
	for i, s := range ct.Command {
		c.checkTemplate(append(at, "command", strconv.Itoa(i)), s, true)
	}
	for i, s := range ct.Args {
		c.checkTemplate(append(at, "args", strconv.Itoa(i)), s, true)
	}
	c.checkFiles(at, ct)
	c.checkVolumes(at, ct)
	if len(ct.Before) > 0 {
		c.errAt(append(at, "before"), "container ordering (before) is not supported")
	}
	for _, p := range []struct {
		field string
		probe *Probe
	}{{"livenessProbe", ct.LivenessProbe}, {"readinessProbe", ct.ReadinessProbe}} {
		if p.probe != nil && p.probe.HTTPGet == nil && p.probe.Exec == nil {
			c.errAt(append(at, p.field), "a probe needs httpGet or exec")
		}
	}
}

func (c *checker) checkFiles(at []string, ct Container) {
	for _, target := range slices.Sorted(maps.Keys(ct.Files)) {
		f := ct.Files[target]
		fat := append(append([]string{}, at...), "files", target)
		sources := 0
		for _, given := range []bool{f.Content != nil, f.BinaryContent != "", f.Source != ""} {
			if given {
				sources++
			}
		}
		switch {
		case !strings.HasPrefix(target, "/"):
			c.errAt(fat, "file target %q must be an absolute path", target)
		case f.Target != "" && f.Target != target:
			c.errAt(append(fat, "target"), "a file listed by its target path must not set target")
		case sources != 1:
			c.errAt(fat, "a file needs exactly one of content, binaryContent and source")
		case f.Source != "":
			if _, err := SourcePath(f.Source); err != nil {
				c.errAt(append(fat, "source"), "%v", err)
			}
		case f.BinaryContent != "":
			if _, err := base64.StdEncoding.DecodeString(f.BinaryContent); err != nil {
				c.errAt(append(fat, "binaryContent"), "is not standard base64: %v", err)
			}
		case !f.NoExpand:
			c.checkTemplate(append(fat, "content"), *f.Content, false)
		}
	}
}

// checkVolumes checks that each volume mounts a volume resource, at an absolute path, from a relative path
// inside it.
func (c *checker) checkVolumes(at []string, ct Container) {
	for _, target := range slices.Sorted(maps.Keys(ct.Volumes)) {
		v := ct.Volumes[target]
		vat := append(append([]string{}, at...), "volumes", target)
		switch {
		case !strings.HasPrefix(target, "/"):
			c.errAt(vat, "volume target %q must be an absolute path", target)
			continue
		case v.Target != "" && v.Target != target:
			c.errAt(append(vat, "target"), "a volume listed by its target path must not set target")
			continue
		}
		name, err := VolumeSource(v.Source)
		if err != nil {
			c.errAt(append(vat, "source"), "%v", err)
			continue
		}
		res, ok := c.w.Resources[name]
		switch {
		case !ok:
			c.errAt(append(vat, "source"), "there is no resource %q in resources: declare it with type volume", name)
		case res.Type != TypeVolume:
			c.errAt(append(vat, "source"), "resource %q has type %s: only a volume resource can be mounted", name, res.Type)
		}
		if v.Path != "" {
			if _, err := SourcePath(v.Path); err != nil {
				c.errAt(append(vat, "path"), "path %q must be a relative path inside the volume, without '..'", v.Path)
			}
		}
	}
}

// VolumeSource reads a volume's source: ${resources.<name>} (or, in Score's older form, the bare resource
// name), and returns the resource's name.
func VolumeSource(source string) (string, error) {
	if rfc1123Label.MatchString(source) {
		return source, nil
	}
	t, err := parseTemplate(source)
	if err != nil {
		return "", err
	}
	if len(t) != 1 || len(t[0].ref) != 2 || t[0].ref[0] != "resources" {
		return "", fmt.Errorf("source %q must name a volume resource as ${resources.<name>}", source)
	}
	return t[0].ref[1], nil
}

// SourcePath cleans a file's source path, read from the app's repository relative to score.yaml (the
// repository's root), and refuses one that leaves the repository.
func SourcePath(source string) (string, error) {
	p := path.Clean(strings.ReplaceAll(source, `\`, "/"))
	switch {
	case source == "" || strings.Contains(source, "\x00"):
		return "", fmt.Errorf("source %q is not a path", source)
	case path.IsAbs(p):
		return "", fmt.Errorf("source %q must be a path relative to score.yaml, inside the app's repository", source)
	case p == ".." || strings.HasPrefix(p, "../"):
		return "", fmt.Errorf("source %q leaves the app's repository: it must be a path inside it, relative to score.yaml", source)
	case p == ".":
		return "", fmt.Errorf("source %q names the repository itself, not a file", source)
	}
	return p, nil
}

// FileSources lists the repository files the workload's files read (their cleaned source paths), sorted.
func (w *Workload) FileSources() []string {
	var out []string
	for _, c := range w.Containers {
		for _, f := range c.Files {
			if p, err := SourcePath(f.Source); f.Source != "" && err == nil && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return out
}

// UsesOwnImage reports whether any container runs the image built from the app's repository ("."); a
// workload whose containers all name their images has nothing to build or pin.
func (w *Workload) UsesOwnImage() bool { return w.usesOwnImage() }

// checkImages reads the image update policy from the annotations and checks it against the containers.
func (c *checker) checkImages() {
	p, err := ParseImagePolicy(c.w.Metadata.Annotations)
	if err != nil {
		for _, e := range policyErrors(err) {
			c.errAt([]string{"metadata", "annotations", e.Annotation}, "%s", e.Rule)
		}
		return
	}
	c.w.Images = p
	if p == nil {
		return
	}
	for _, u := range p.Images {
		if u.Image == OwnImage && !c.w.usesOwnImage() {
			c.errAt([]string{"metadata", "annotations", AnnotationImageList},
				"alias %s names image %q, but no container runs image %q", u.Alias, OwnImage, OwnImage)
		}
		if u.Image != OwnImage && c.w.containerImageName(u.Image) == "" {
			c.errAt([]string{"metadata", "annotations", AnnotationImageList},
				"alias %s names image %q, which no container runs", u.Alias, u.Image)
		}
	}
}

// containerImageName returns the image (without tag or digest) of the first container, by name, that runs
// repository repo, or "".
func (w *Workload) containerImageName(repo string) string {
	for _, name := range slices.Sorted(maps.Keys(w.Containers)) {
		if img := w.Containers[name].Image; img != OwnImage && repository(img) == repo {
			return repository(img)
		}
	}
	return ""
}

// repository strips the tag and digest from an image reference ("host:5000/a/b:1.2@sha256:..." →
// "host:5000/a/b").
func repository(image string) string {
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	slash := strings.LastIndexByte(image, '/')
	if i := strings.LastIndexByte(image, ':'); i > slash {
		image = image[:i]
	}
	return image
}
