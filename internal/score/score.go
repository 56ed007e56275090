// Package score reads Score workloads (score.yaml, score.dev/v1b1) and renders them, for one app and one
// environment, into the GitOps tree Argo CD deploys from: a restricted Deployment, a Service, a kustomization
// that pins the image, and an Argo CD Application whose Argo CD Image Updater annotations come from the
// workload's own annotations.
//
// Parse is strict: the file is checked against the Score JSON Schema, then against what goldenpath can
// provide (resource types, their params and outputs, placeholders, image update annotations), and every
// problem names the file, line, field and rule. Render is pure and deterministic. Secret outputs of
// resources (a database password, an S3 secret key) are never rendered: they become references to the
// Kubernetes Secret the caller names, so no secret value reaches git.
package score

import (
	"encoding/json"
	"fmt"
	"strings"
)

// APIVersion is the only Score version goldenpath reads.
const APIVersion = "score.dev/v1b1"

// OwnImage as a container's image (or an image-list entry's image) means "the image built from the app's
// repository": Render replaces it with Inputs.Image pinned to Inputs.Tag or Inputs.Digest.
const OwnImage = "."

// Workload is a parsed score.yaml.
type Workload struct {
	APIVersion string               `json:"apiVersion"`
	Metadata   Metadata             `json:"metadata"`
	Service    *Service             `json:"service,omitempty"`
	Containers map[string]Container `json:"containers"`
	Resources  map[string]Resource  `json:"resources,omitempty"`

	// File is the file the workload was read from, for messages.
	File string `json:"-"`
	// Images is the Argo CD Image Updater policy read from the metadata annotations; nil when the workload
	// has none.
	Images *ImagePolicy `json:"-"`
}

// Metadata is the workload's name and annotations; Score allows other keys, kept in Extra so placeholders
// such as ${metadata.team} can read them.
type Metadata struct {
	Name        string
	Annotations map[string]string
	Extra       map[string]any
}

// UnmarshalJSON keeps the keys Score leaves open (additionalProperties) instead of refusing them.
func (m *Metadata) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	for k, v := range raw {
		var err error
		switch k {
		case "name":
			err = json.Unmarshal(v, &m.Name)
		case "annotations":
			err = json.Unmarshal(v, &m.Annotations)
		default:
			var x any
			err = json.Unmarshal(v, &x)
			if m.Extra == nil {
				m.Extra = map[string]any{}
			}
			m.Extra[k] = x
		}
		if err != nil {
			return fmt.Errorf("metadata.%s: %w", k, err)
		}
	}
	return nil
}

// MarshalJSON writes the metadata back in Score's shape.
func (m Metadata) MarshalJSON() ([]byte, error) {
	out := make(map[string]any, len(m.Extra)+2)
	for k, v := range m.Extra {
		out[k] = v
	}
	out["name"] = m.Name
	if len(m.Annotations) > 0 {
		out["annotations"] = m.Annotations
	}
	return json.Marshal(out)
}

// Service lists the ports the workload serves, by name.
type Service struct {
	Ports map[string]ServicePort `json:"ports,omitempty"`
}

// ServicePort is one published port. TargetPort defaults to Port and Protocol to TCP.
type ServicePort struct {
	Port       int    `json:"port"`
	TargetPort int    `json:"targetPort,omitempty"`
	Protocol   string `json:"protocol,omitempty"`
}

// Container is one container of the workload.
type Container struct {
	Image          string              `json:"image"`
	Command        []string            `json:"command,omitempty"`
	Args           []string            `json:"args,omitempty"`
	Variables      map[string]string   `json:"variables,omitempty"`
	Files          Files               `json:"files,omitempty"`
	Volumes        Volumes             `json:"volumes,omitempty"`
	Before         map[string]Before   `json:"before,omitempty"`
	Resources      *ContainerResources `json:"resources,omitempty"`
	LivenessProbe  *Probe              `json:"livenessProbe,omitempty"`
	ReadinessProbe *Probe              `json:"readinessProbe,omitempty"`
}

// Before orders a container after another one (Score's "before"); parsed, not rendered.
type Before struct {
	Ready string `json:"ready"`
}

// ContainerResources are the container's compute requests and limits.
type ContainerResources struct {
	Limits   *Amounts `json:"limits,omitempty"`
	Requests *Amounts `json:"requests,omitempty"`
}

// Amounts are CPU and memory quantities as Score writes them ("250m", "1.5Gi").
type Amounts struct {
	CPU    string `json:"cpu,omitempty"`
	Memory string `json:"memory,omitempty"`
}

// Probe is an HTTP or exec health check; when both are given, exec wins (as the spec asks).
type Probe struct {
	HTTPGet *HTTPProbe `json:"httpGet,omitempty"`
	Exec    *ExecProbe `json:"exec,omitempty"`
}

// HTTPProbe is an HTTP GET against the container.
type HTTPProbe struct {
	Host        string       `json:"host,omitempty"`
	Scheme      string       `json:"scheme,omitempty"`
	Path        string       `json:"path"`
	Port        int          `json:"port"`
	HTTPHeaders []HTTPHeader `json:"httpHeaders,omitempty"`
}

// HTTPHeader is one header an HTTP probe sends.
type HTTPHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ExecProbe runs a command in the container.
type ExecProbe struct {
	Command []string `json:"command"`
}

// File is a file mounted into a container, from inline content (the only kind goldenpath renders).
type File struct {
	Target        string  `json:"target,omitempty"`
	Mode          string  `json:"mode,omitempty"`
	Source        string  `json:"source,omitempty"`
	Content       *string `json:"content,omitempty"` // nil when absent; "" is an empty file
	BinaryContent string  `json:"binaryContent,omitempty"`
	NoExpand      bool    `json:"noExpand,omitempty"`
}

// Files are a container's files by target path. Score writes them as a map (current) or as an array of
// files with a target (deprecated); both read into the map.
type Files map[string]File

// UnmarshalJSON accepts both of Score's forms.
func (f *Files) UnmarshalJSON(data []byte) error {
	return unmarshalByTarget(data, (*map[string]File)(f), func(x File) string { return x.Target })
}

// Volume mounts a volume resource into a container.
type Volume struct {
	Source   string `json:"source"`
	Path     string `json:"path,omitempty"`
	Target   string `json:"target,omitempty"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// Volumes are a container's volumes by target path, read from either of Score's forms like Files.
type Volumes map[string]Volume

// UnmarshalJSON accepts both of Score's forms.
func (v *Volumes) UnmarshalJSON(data []byte) error {
	return unmarshalByTarget(data, (*map[string]Volume)(v), func(x Volume) string { return x.Target })
}

func unmarshalByTarget[T any](data []byte, out *map[string]T, target func(T) string) error {
	if len(data) > 0 && data[0] == '[' {
		var list []T
		if err := json.Unmarshal(data, &list); err != nil {
			return err
		}
		*out = make(map[string]T, len(list))
		for _, x := range list {
			if _, dup := (*out)[target(x)]; dup {
				return fmt.Errorf("target %q is listed twice", target(x))
			}
			(*out)[target(x)] = x
		}
		return nil
	}
	return json.Unmarshal(data, (*map[string]T)(out))
}

// Resource is a dependency of the workload, provisioned by goldenpath (postgres, s3) or the edge (route,
// dns).
type Resource struct {
	Type     string         `json:"type"`
	Class    string         `json:"class,omitempty"`
	ID       string         `json:"id,omitempty"`
	Metadata map[string]any `json:"metadata,omitempty"`
	Params   map[string]any `json:"params,omitempty"`
}

// usesOwnImage reports whether any container runs the image built from the app's repository.
func (w *Workload) usesOwnImage() bool {
	for _, c := range w.Containers {
		if c.Image == OwnImage {
			return true
		}
	}
	return false
}

// quoteList renders names as `"a", "b" and "c"` for messages.
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}
