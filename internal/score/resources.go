package score

import (
	"fmt"
	"maps"
	"math"
	"slices"
)

// The resource types goldenpath provides. postgres and s3 are backed by an RDSRequest and an S3Request of
// the app; route and dns are served by the edge (internal/edge), which renders the Ingress; a volume is an
// emptyDir of the pod; service and service-port point at another app's Service; environment holds the
// app's values for the environment (its repository's .env files).
const (
	TypePostgres    = "postgres"
	TypeS3          = "s3"
	TypeRoute       = "route"
	TypeDNS         = "dns"
	TypeVolume      = "volume"
	TypeService     = "service"
	TypeServicePort = "service-port"
	TypeEnvironment = "environment"
)

// Keys of the Kubernetes Secret (Inputs.SecretRefs) that holds a resource's secret outputs. The caller
// creates that Secret; Render only references it.
const (
	SecretKeyPassword        = "password"        // postgres
	SecretKeyAccessKeyID     = "accessKeyId"     // s3
	SecretKeySecretAccessKey = "secretAccessKey" // s3
)

// Auth values of a route's auth param, the edge's vocabulary.
const (
	AuthSSO    = "sso"
	AuthPublic = "public"
)

// output is where one output of a resource type comes from.
type output struct {
	key      string // key in Inputs.Outputs[resource], or in the Secret when secret
	secret   bool   // read from the resource's Secret, never rendered as text
	computed bool   // worked out by Render (a route's or dns's host)
}

// param is one param a resource type accepts.
type param struct {
	kind     string   // "string" or "port"
	required bool     // must be given
	enum     []string // allowed values of a string param
}

// resourceType is what goldenpath knows of one Score resource type.
type resourceType struct {
	outputs map[string]output
	params  map[string]param
	// anyOutput: every output name is the key of a value the caller gives (an environment's values).
	anyOutput bool
	// volume: mounted through containers.*.volumes (source: ${resources.<name>}), with no outputs.
	volume bool
}

// resourceTypes lists the supported types. Output names follow score-k8s' default provisioners, with
// goldenpath's own names (those of the request's outputs) as aliases.
func resourceTypes() map[string]resourceType {
	return map[string]resourceType{
		TypePostgres: {outputs: map[string]output{
			"host":     {key: "host"},
			"port":     {key: "port"},
			"name":     {key: "database"},
			"database": {key: "database"},
			"username": {key: "username"},
			"password": {key: SecretKeyPassword, secret: true},
		}},
		TypeS3: {outputs: map[string]output{
			"bucket":            {key: "bucket"},
			"endpoint":          {key: "endpoint"},
			"region":            {key: "region"},
			"access_key_id":     {key: SecretKeyAccessKeyID, secret: true},
			"aws_access_key_id": {key: SecretKeyAccessKeyID, secret: true},
			"accessKeyId":       {key: SecretKeyAccessKeyID, secret: true},
			"secret_key":        {key: SecretKeySecretAccessKey, secret: true},
			"aws_secret_key":    {key: SecretKeySecretAccessKey, secret: true},
			"secretAccessKey":   {key: SecretKeySecretAccessKey, secret: true},
		}},
		TypeRoute: {
			outputs: map[string]output{"host": {computed: true}},
			params: map[string]param{
				"host": {kind: "string", required: true},
				"path": {kind: "string"},
				"port": {kind: "port"},
				"auth": {kind: "string", enum: []string{AuthPublic, AuthSSO}},
			},
		},
		TypeDNS: {
			outputs: map[string]output{"host": {computed: true}},
			params:  map[string]param{"host": {kind: "string"}},
		},
		TypeVolume: {volume: true},
		TypeService: {
			outputs: map[string]output{"name": {key: "name"}, "hostname": {key: "hostname"}, "port": {key: "port"}},
			params:  map[string]param{"workload": {kind: "name"}, "port": {kind: "string"}},
		},
		TypeServicePort: {
			outputs: map[string]output{"hostname": {key: "hostname"}, "port": {key: "port"}, "name": {key: "name"}},
			params:  map[string]param{"workload": {kind: "name", required: true}, "port": {kind: "string", required: true}},
		},
		TypeEnvironment: {anyOutput: true},
	}
}

// supportedTypes lists the supported type names, sorted, for messages.
func supportedTypes() []string {
	return slices.Sorted(maps.Keys(resourceTypes()))
}

// checkParam checks one param's value against its declaration.
func checkParam(name string, p param, v any) error {
	switch p.kind {
	case "name":
		s, ok := v.(string)
		if !ok || !rfc1123Label.MatchString(s) {
			return fmt.Errorf("param %s must be an app name (a DNS label of lowercase letters, digits and '-'), got %v", name, v)
		}
	case "port":
		f, ok := v.(float64)
		if !ok || f != math.Trunc(f) || f < 1 || f > 65535 {
			return fmt.Errorf("param %s must be a port number from 1 to 65535, got %v", name, v)
		}
	default:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("param %s must be a string, got %v", name, v)
		}
		if len(p.enum) > 0 && !slices.Contains(p.enum, s) {
			return fmt.Errorf("param %s must be one of %s, got %q", name, quoteList(p.enum), s)
		}
	}
	return nil
}

// OutputKey says where a resource type's output comes from: the key of the value the caller provides
// (Inputs.Outputs, or the Secret's key when secret), for runtimes that resolve outputs themselves. ok is
// false for an output the type does not have; a type with any outputs (environment) keys them by name.
func OutputKey(typ, output string) (key string, secret, ok bool) {
	rt, known := resourceTypes()[typ]
	if !known {
		return "", false, false
	}
	if rt.anyOutput {
		return output, false, true
	}
	o, ok := rt.outputs[output]
	if !ok || o.computed {
		return "", false, false
	}
	return o.key, o.secret, true
}
