package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/strictyaml"
	"go.yaml.in/yaml/v3"
)

// Request is one contract document.
type Request struct {
	APIVersion string   `json:"apiVersion"`
	Kind       Kind     `json:"kind"`
	Metadata   Metadata `json:"metadata"`
	Spec       Spec     `json:"spec"`

	// Where the request was read from; not part of the document.
	File string `json:"-"`
	doc  *strictyaml.Document
}

// Metadata identifies a request and its owners.
type Metadata struct {
	Name        string            `json:"name"`
	Owner       string            `json:"owner"`
	Team        string            `json:"team"`
	Environment string            `json:"environment"`
	Description string            `json:"description,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// Spec holds the fields of every kind; the kind's JSON Schema decides which ones a document may set, so a
// field of another kind is an "unknown field" error before it ever reaches this struct.
type Spec struct {
	Size string `json:"size,omitempty"`

	// ECRRequest
	TagImmutability bool `json:"tagImmutability,omitempty"`
	ScanOnPush      bool `json:"scanOnPush,omitempty"`

	// RDSRequest
	Engine        string `json:"engine,omitempty"`
	EngineVersion string `json:"engineVersion,omitempty"`
	DatabaseName  string `json:"databaseName,omitempty"`

	// S3Request
	Versioning bool   `json:"versioning,omitempty"`
	Encryption string `json:"encryption,omitempty"`

	// SecretRequest
	Description  string `json:"description,omitempty"`
	RotationDays int    `json:"rotationDays,omitempty"`

	// EKSRequest
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	TTL               string `json:"ttl,omitempty"`
}

// MaxTTL bounds how long an ephemeral cluster may live.
const MaxTTL = 168 * time.Hour

// ID is the request's stable identity.
func (r *Request) ID() ID { return MakeID(r.Kind, r.Metadata.Environment, r.Metadata.Name) }

// Path is where the request belongs in the platform repository.
func (r *Request) Path() string { return PathFor(r.Kind, r.Metadata.Name) }

// Info returns the kind's information.
func (r *Request) Info() KindInfo { i, _ := r.Kind.Info(); return i }

// DatabaseName is the database an RDSRequest gets.
func (r *Request) DatabaseName() string {
	if r.Spec.DatabaseName != "" {
		return r.Spec.DatabaseName
	}
	return strings.ReplaceAll(r.Metadata.Name, "-", "_")
}

// Identifier limits of the backends names are derived for. PostgreSQL cuts longer identifiers silently
// (NAMEDATALEN-1), so two requests could share a database; S3 refuses longer bucket names.
const (
	MaxPostgresIdentifier = 63
	MaxBucketName         = 63
)

// PostgresName is the database, and the login role owning it, that an RDSRequest gets on its server:
// "<databaseName>_<environment>", with '-' in the environment replaced by '_'.
func (r *Request) PostgresName() string {
	return r.DatabaseName() + "_" + strings.ReplaceAll(r.Metadata.Environment, "-", "_")
}

// BucketName is the bucket an S3Request gets: "<name>-<environment>".
func (r *Request) BucketName() string { return r.Metadata.Name + "-" + r.Metadata.Environment }

// checkDerivedNames refuses requests whose derived backend names would be too long, naming the field to shorten.
func (r *Request) checkDerivedNames() error {
	switch r.Kind {
	case RDS:
		if n := r.PostgresName(); len(n) > MaxPostgresIdentifier {
			field := "metadata.name"
			if r.Spec.DatabaseName != "" {
				field = "spec.databaseName"
			}
			return r.Errorf(field, "the database and role name %q (%s, '_', environment) is %d bytes; PostgreSQL identifiers are at most %d bytes and longer ones are cut short silently: shorten %s",
				n, field, len(n), MaxPostgresIdentifier, field)
		}
	case S3:
		if n := r.BucketName(); len(n) > MaxBucketName {
			return r.Errorf("metadata.name", "the bucket name %q (name, '-', environment) is %d bytes; S3 bucket names are at most %d bytes: shorten metadata.name",
				n, len(n), MaxBucketName)
		}
	}
	return nil
}

// TTLDuration parses an EKSRequest's ttl.
func (r *Request) TTLDuration() time.Duration {
	d, _ := time.ParseDuration(r.Spec.TTL)
	return d
}

// Errorf reports a problem with a field of this request, naming its file and line when it was read from one.
func (r *Request) Errorf(field, format string, args ...any) *strictyaml.FieldError {
	if r.doc != nil {
		return r.doc.Errorf(field, format, args...)
	}
	return &strictyaml.FieldError{File: r.File, Field: field, Rule: fmt.Sprintf(format, args...)}
}

// Parse decodes every document of a contract file. file is the path shown in errors; when checkPath is true
// it must also be the canonical path of every document in it (as in the platform repository).
func Parse(file string, data []byte, checkPath bool) ([]*Request, error) {
	docs, err := strictyaml.Parse(file, data)
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, &strictyaml.FieldError{File: file, Rule: "holds no contract document"}
	}
	schemas, err := compiledSchemas()
	if err != nil {
		return nil, err
	}
	var out []*Request
	var errs strictyaml.Errors
	for _, d := range docs {
		r, err := decode(d, schemas)
		if err != nil {
			fe, _ := strictyaml.AsErrors(err)
			errs = append(errs, fe...)
			continue
		}
		r.File = file
		if checkPath && file != r.Path() {
			errs = append(errs, d.Errorf("metadata.name", "a %s named %q must be in %s, not %s", r.Kind, r.Metadata.Name, r.Path(), file))
			continue
		}
		out = append(out, r)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

func decode(d *strictyaml.Document, schemas map[Kind]*strictyaml.Schema) (*Request, error) {
	if v := d.String("apiVersion"); v != APIVersion {
		return nil, d.Errorf("apiVersion", "must be %q, got %q", APIVersion, v)
	}
	k := Kind(d.String("kind"))
	s, ok := schemas[k]
	if !ok {
		return nil, d.Errorf("kind", "unknown kind %q: want one of %s", k, strings.Join(KindNames(), ", "))
	}
	if err := d.Validate(s); err != nil {
		return nil, err
	}
	r := &Request{doc: d}
	if err := d.Decode(r); err != nil {
		return nil, err
	}
	if r.Kind == RDS && r.Spec.Engine == "" {
		r.Spec.Engine = "postgres"
	}
	if r.Kind == S3 && r.Spec.Encryption == "" {
		r.Spec.Encryption = "AES256"
	}
	if r.Kind == EKS && r.Spec.KubernetesVersion == "" {
		r.Spec.KubernetesVersion = "1.34"
	}
	if err := r.checkDerivedNames(); err != nil {
		return nil, err
	}
	if r.Kind == EKS {
		if d := r.TTLDuration(); d <= 0 || d > MaxTTL {
			return nil, r.Errorf("spec.ttl", "must be more than 0 and at most %s, got %q", strings.TrimSuffix(MaxTTL.String(), "0m0s"), r.Spec.TTL)
		}
	}
	return r, nil
}

// ParseOne decodes a file that must hold exactly one request (e.g. `goldenpath request create -f`).
func ParseOne(file string, data []byte) (*Request, error) {
	rs, err := Parse(file, data, false)
	if err != nil {
		return nil, err
	}
	if len(rs) != 1 {
		return nil, &strictyaml.FieldError{File: file, Rule: fmt.Sprintf("must hold exactly one request, found %d", len(rs))}
	}
	return rs[0], nil
}

// Validate checks the request against platform.yaml: the environment exists and the size class is defined.
func (r *Request) Validate(cfg *platform.Config) strictyaml.Errors {
	var errs strictyaml.Errors
	if _, ok := cfg.Environment(r.Metadata.Environment); !ok {
		errs = append(errs, r.Errorf("metadata.environment", "environment %q is not defined in platform.yaml (defined: %s)",
			r.Metadata.Environment, strings.Join(cfg.EnvironmentNames(), ", ")))
	}
	info := r.Info()
	if info.Sized {
		classes := cfg.SizeClassNames(info.Short)
		if !contains(classes, r.Spec.Size) {
			errs = append(errs, r.Errorf("spec.size", "size class %q is not defined for %s in platform.yaml (defined: %s)",
				r.Spec.Size, r.Kind, strings.Join(classes, ", ")))
		}
	}
	return errs
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// CheckUpdate reports fields that may not change between the merged request old and its new version.
func CheckUpdate(old, new *Request) strictyaml.Errors {
	var errs strictyaml.Errors
	if old.Kind == RDS {
		if old.Spec.Engine != new.Spec.Engine {
			errs = append(errs, new.Errorf("spec.engine", "is immutable: it was %q; request a new database instead", old.Spec.Engine))
		}
		if old.DatabaseName() != new.DatabaseName() {
			errs = append(errs, new.Errorf("spec.databaseName", "is immutable: it was %q; renaming would orphan the data", old.DatabaseName()))
		}
	}
	if old.Kind == EKS && old.Spec.KubernetesVersion != new.Spec.KubernetesVersion {
		errs = append(errs, new.Errorf("spec.kubernetesVersion", "is immutable for an ephemeral cluster: it was %q; request a new cluster instead", old.Spec.KubernetesVersion))
	}
	return errs
}

// Marshal renders the request as a canonical YAML document (keys in schema order, no defaults added).
func (r *Request) Marshal() []byte {
	raw, _ := json.Marshal(r)
	var n yaml.Node
	// JSON is YAML; decoding into a node keeps json's field order.
	_ = yaml.Unmarshal(raw, &n)
	styleBlock(&n)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	_ = enc.Encode(&n)
	return b.Bytes()
}

func styleBlock(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		styleBlock(c)
	}
}

// RenderFile renders the documents of one contract file, sorted by environment.
func RenderFile(rs []*Request) []byte {
	sorted := append([]*Request(nil), rs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Metadata.Environment < sorted[j].Metadata.Environment })
	var b bytes.Buffer
	for i, r := range sorted {
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(r.Marshal())
	}
	return b.Bytes()
}

// IsContractPath tells whether a repository path is under the contracts root and is YAML.
func IsContractPath(p string) bool {
	return strings.HasPrefix(p, Root+"/") && (path.Ext(p) == ".yaml" || path.Ext(p) == ".yml")
}
