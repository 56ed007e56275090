package score

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// ServiceWorkload names the app a service or service-port resource points at: its workload param, else the
// resource's own name (Score's community convention: a resource "cart" of type service is workload cart).
func ServiceWorkload(name string, res Resource) string {
	if w, ok := res.Params["workload"].(string); ok && w != "" {
		return w
	}
	return name
}

// ServiceHost is the DNS name of an app's Service, which lives in the app's own namespace: <app>.<namespace>.svc.
func ServiceHost(app, namespace string) string { return app + "." + namespace + ".svc" }

// ServiceOutputs are the outputs of a service or service-port resource pointing at target, an app whose
// Service lives in namespace: name and hostname (its Service's DNS name) and port (the port params.port
// names, or the only one it publishes). note says why port is missing when the target publishes several
// ports and params.port names none.
func ServiceOutputs(target *Workload, namespace string, res Resource) (out map[string]string, note string, err error) {
	if target.Service == nil || len(target.Service.Ports) == 0 {
		return nil, "", fmt.Errorf("workload %s publishes no service ports, so it has no Service to point at", target.Metadata.Name)
	}
	host := ServiceHost(target.Metadata.Name, namespace)
	out = map[string]string{"name": host, "hostname": host}
	names := slices.Sorted(maps.Keys(target.Service.Ports))
	want, _ := res.Params["port"].(string)
	switch {
	case want != "":
		for _, n := range names {
			if p := target.Service.Ports[n]; n == want || strconv.Itoa(p.Port) == want {
				out["port"] = strconv.Itoa(p.Port)
			}
		}
		if out["port"] == "" {
			return nil, "", fmt.Errorf("workload %s publishes no port %q (its ports: %s)", target.Metadata.Name, want, quoteList(names))
		}
	case len(names) == 1:
		out["port"] = strconv.Itoa(target.Service.Ports[names[0]].Port)
	default:
		note = fmt.Sprintf("workload %s publishes %d ports (%s): set params.port to the one to use", target.Metadata.Name, len(names), quoteList(names))
	}
	return out, note, nil
}

var envKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

// ParseEnvFile reads a .env file, as the environment resource's values: KEY=VALUE lines, with blank lines and
// '#' comments, an optional "export ", and values optionally in single quotes (as written) or double quotes
// (with \n, \t, \" and \\ escapes). Errors name the file and line.
func ParseEnvFile(file string, data []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || !envKey.MatchString(k) {
			return nil, fmt.Errorf("%s:%d: want KEY=VALUE with a key of letters, digits, '_', '.' and '-'", file, n)
		}
		val, err := envValue(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %w", file, n, k, err)
		}
		out[k] = val
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return out, nil
}

func envValue(v string) (string, error) {
	switch {
	case strings.HasPrefix(v, "'"):
		if len(v) < 2 || !strings.HasSuffix(v, "'") {
			return "", fmt.Errorf("the value's single quote is not closed")
		}
		return v[1 : len(v)-1], nil
	case strings.HasPrefix(v, `"`):
		if len(v) < 2 || !strings.HasSuffix(v, `"`) {
			return "", fmt.Errorf("the value's double quote is not closed")
		}
		return strings.NewReplacer(`\n`, "\n", `\t`, "\t", `\"`, `"`, `\\`, `\`).Replace(v[1 : len(v)-1]), nil
	}
	if i := strings.Index(v, " #"); i >= 0 {
		v = strings.TrimSpace(v[:i]) // an unquoted value ends at a comment
	}
	return v, nil
}

// Expand resolves the placeholders of s as Render does, for a runtime that takes plain values (the local
// runtime): ${metadata...} from the workload, ${resources.<name>.<output>} through output, and "$$" as "$"
// (so "$${x}" is the text "${x}").
func (w *Workload) Expand(s string, output func(resource, name string) (string, error)) (string, error) {
	t, err := parseTemplate(s)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, seg := range t {
		switch {
		case seg.ref == nil:
			b.WriteString(seg.text)
		case seg.ref[0] == "metadata":
			v, err := w.metadataValue(seg.ref[1:])
			if err != nil {
				return "", fmt.Errorf("%s: %w", refString(seg.ref), err)
			}
			b.WriteString(v)
		case seg.ref[0] == "resources" && len(seg.ref) == 3:
			v, err := output(seg.ref[1], seg.ref[2])
			if err != nil {
				return "", fmt.Errorf("%s: %w", refString(seg.ref), err)
			}
			b.WriteString(v)
		default:
			return "", fmt.Errorf("%s: unknown placeholder", refString(seg.ref))
		}
	}
	return b.String(), nil
}

// NameOf reads metadata.name from a score.yaml that may not be valid, for naming a broken app; "" when it
// has none.
func NameOf(data []byte) string {
	var doc struct {
		Metadata struct {
			Name any `json:"name"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return ""
	}
	if s, ok := doc.Metadata.Name.(string); ok && rfc1123Label.MatchString(s) {
		return s
	}
	return ""
}
