// Package platform reads platform.yaml, the platform team's configuration that lives at the root of the
// platform repository: the domain, the environments with their backend and approval policy, the size classes
// per kind and the settings of the local backend.
package platform

import (
	_ "embed"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/strictyaml"
)

// Path is where platform.yaml lives in the platform repository.
const Path = "platform.yaml"

// Backends an environment may name.
const (
	BackendLocal     = "local"
	BackendAWS       = "aws"
	BackendTerraform = "terraform"
)

// Config is platform.yaml.
type Config struct {
	APIVersion   string        `json:"apiVersion"`
	Kind         string        `json:"kind"`
	Domain       string        `json:"domain"`
	Environments []Environment `json:"environments"`
	SizeClasses  SizeClasses   `json:"sizeClasses"`
	Local        Local         `json:"local"`
	DNS          DNS           `json:"dns"`
	Tooling      []Tool        `json:"tooling,omitempty"`
	Kong         Kong          `json:"kong"`
	SSO          SSO           `json:"sso"`
	TLS          TLS           `json:"tls"`
	Delivery     Delivery      `json:"delivery"`
}

// Delivery says how deployments happen after the GitOps tree changes.
type Delivery struct {
	Mode         string       `json:"mode,omitempty"` // local | apply | argocd
	ArgoCD       ArgoCDNotify `json:"argocd"`
	PollInterval string       `json:"pollInterval,omitempty"`
}

// ArgoCDNotify is where Argo CD hears of write-back commits.
type ArgoCDNotify struct {
	WebhookURL string `json:"webhookURL,omitempty"`
}

// Gateway is where an environment's traffic enters (Kong's load balancer).
type Gateway struct {
	Address           string `json:"address,omitempty"`           // hostname (CNAME/alias) or IP (A/AAAA)
	AliasHostedZoneID string `json:"aliasHostedZoneId,omitempty"` // Route53 zone of the load balancer, for alias records
}

// DNS says where the domain's records are kept and how goldenpath manages them.
type DNS struct {
	Provider string      `json:"provider,omitempty"` // embedded | route53 | terraform
	OwnerID  string      `json:"ownerId,omitempty"`
	Policy   string      `json:"policy,omitempty"` // sync | upsert-only | create-only
	TTL      int         `json:"ttl,omitempty"`
	Route53  Route53Zone `json:"route53"`
}

// Route53Zone configures the route53 provider.
type Route53Zone struct {
	Region       string `json:"region,omitempty"`
	HostedZoneID string `json:"hostedZoneId,omitempty"`
}

// Tool is a platform tooling service behind the gateway.
type Tool struct {
	Name        string       `json:"name"`
	Environment string       `json:"environment"`
	Host        string       `json:"host,omitempty"`
	Auth        string       `json:"auth,omitempty"` // sso | public
	Service     *ToolService `json:"service,omitempty"`
}

// ToolService is the Kubernetes service a tool runs as.
type ToolService struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	Port      int    `json:"port"`
}

// Kong configures the gateway's rendering.
type Kong struct {
	Edition   string `json:"edition,omitempty"` // oss | enterprise
	Namespace string `json:"namespace,omitempty"`
}

// SSO is the OIDC issuer in front of tooling.
type SSO struct {
	Issuer   string `json:"issuer,omitempty"`
	ClientID string `json:"clientId,omitempty"`
}

// TLS configures certificate issuance.
type TLS struct {
	Email      string `json:"email,omitempty"`
	ACMEServer string `json:"acmeServer,omitempty"`
}

// Environment is one deployment environment.
type Environment struct {
	Name      string  `json:"name"`
	Backend   string  `json:"backend,omitempty"`
	Approvals int     `json:"approvals,omitempty"`
	Gateway   Gateway `json:"gateway"`
	// Deployments is direct (a write-back commit) or change-request.
	Deployments string `json:"deployments,omitempty"`
	// AWS holds the aws backend's settings; backend aws requires it (with a region).
	AWS *AWS `json:"aws,omitempty"`
}

// AWS is the aws backend's settings for one environment.
type AWS struct {
	Region        string            `json:"region,omitempty"`
	Account       string            `json:"account,omitempty"`       // account (ECR registry ID) resources go to; empty: the credentials' own
	AssumeRoleARN string            `json:"assumeRoleArn,omitempty"` // role assumed on top of the SDK's default credential chain
	ExternalID    string            `json:"externalId,omitempty"`    // external ID for assuming AssumeRoleARN
	Tags          map[string]string `json:"tags,omitempty"`          // extra tags on every resource
	KMSKeyID      string            `json:"kmsKeyId,omitempty"`      // encrypt with this KMS key instead of AES256
	// Endpoint overrides the AWS service endpoint, for emulators (kumo, LocalStack) only; empty in real use.
	Endpoint string `json:"endpoint,omitempty"`
}

var (
	awsAccountID = regexp.MustCompile(`^[0-9]{12}$`)
	awsRoleARN   = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$`)
)

// AWSProblem is one broken rule of an aws block: the field under aws and what is wrong with it.
type AWSProblem struct{ Field, Message string }

// Problems lists what is wrong with a. The region is required only when the environment's backend is aws.
// These are the only rules for AWS settings: the aws backend checks its own settings with them too.
func (a AWS) Problems(backendAWS bool) []AWSProblem {
	var ps []AWSProblem
	if a.Region == "" && backendAWS {
		ps = append(ps, AWSProblem{"region", "is required with backend aws (e.g. eu-west-1)"})
	}
	if a.Account != "" && !awsAccountID.MatchString(a.Account) {
		ps = append(ps, AWSProblem{"account", fmt.Sprintf("%q is not an AWS account ID (12 digits)", a.Account)})
	}
	if a.AssumeRoleARN != "" && !awsRoleARN.MatchString(a.AssumeRoleARN) {
		ps = append(ps, AWSProblem{"assumeRoleArn", fmt.Sprintf("%q is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)", a.AssumeRoleARN)})
	}
	if a.ExternalID != "" && a.AssumeRoleARN == "" {
		ps = append(ps, AWSProblem{"externalId", "is set without aws.assumeRoleArn"})
	}
	if a.Endpoint != "" {
		if u, err := url.Parse(a.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			ps = append(ps, AWSProblem{"endpoint", fmt.Sprintf("%q is not an http(s) URL", a.Endpoint)})
		}
	}
	return ps
}

// checkAWS validates the aws block of the environment at field (environments[i]).
func (e Environment) checkAWS(doc *strictyaml.Document, field string) strictyaml.Errors {
	if e.AWS == nil {
		if e.Backend == BackendAWS {
			return strictyaml.Errors{doc.Errorf(field+".aws.region", "is required with backend aws (e.g. aws: {region: eu-west-1})")}
		}
		return nil
	}
	var errs strictyaml.Errors
	for _, p := range e.AWS.Problems(e.Backend == BackendAWS) {
		errs = append(errs, doc.Errorf(field+".aws."+p.Field, "%s", p.Message))
	}
	return errs
}

// SizeClasses maps, per kind, a class name (small, medium, ...) to concrete settings.
type SizeClasses struct {
	RDS map[string]RDSSize `json:"rds,omitempty"`
	S3  map[string]S3Size  `json:"s3,omitempty"`
	ECR map[string]ECRSize `json:"ecr,omitempty"`
	EKS map[string]EKSSize `json:"eks,omitempty"`
}

type RDSSize struct {
	InstanceClass  string `json:"instanceClass"`
	StorageGB      int    `json:"storageGB"`
	MaxConnections int    `json:"maxConnections"`
}

type S3Size struct {
	QuotaGB int `json:"quotaGB"`
}

type ECRSize struct {
	MaxImages int `json:"maxImages"`
}

type EKSSize struct {
	NodeInstanceType string `json:"nodeInstanceType"`
	NodeCount        int    `json:"nodeCount"`
}

// Local configures the embedded backend.
type Local struct {
	Postgres Postgres `json:"postgres"`
}

// Postgres names the server that backs RDSRequests locally. The URL carries no password: platform.yaml is in git.
type Postgres struct {
	URL string `json:"url,omitempty"`
}

//go:embed schema.json
var schemaJSON []byte

// Schema returns the published JSON Schema of platform.yaml.
func Schema() []byte { return schemaJSON }

var compiled = sync.OnceValues(func() (*strictyaml.Schema, error) {
	return strictyaml.Compile("https://goldenpath.io/schemas/v1/platform.json", schemaJSON, map[string]string{
		`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`: "is not a DNS domain: lowercase labels of letters, digits and '-' separated by dots, e.g. goldenpathidp.io",
		`^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$`:                    "is not a valid environment name: a lowercase DNS label of at most 32 characters that starts with a letter",
		`^[a-z][a-z0-9-]{0,30}$`:                               "is not a valid size class name: lowercase letters, digits and '-', starting with a letter",
	})
})

// Parse decodes and validates platform.yaml. Errors are strictyaml.Errors naming file, field, line and rule.
func Parse(file string, data []byte) (*Config, error) {
	docs, err := strictyaml.Parse(file, data)
	if err != nil {
		return nil, err
	}
	if len(docs) != 1 {
		return nil, &strictyaml.FieldError{File: file, Rule: fmt.Sprintf("must hold exactly one YAML document, found %d", len(docs))}
	}
	doc := docs[0]
	s, err := compiled()
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(s); err != nil {
		return nil, err
	}
	var c Config
	if err := doc.Decode(&c); err != nil {
		return nil, err
	}
	c.applyDefaults()
	if errs := c.check(doc); len(errs) > 0 {
		return nil, errs
	}
	return &c, nil
}

func (c *Config) applyDefaults() {
	if c.DNS.Provider == "" {
		c.DNS.Provider = "embedded"
	}
	if c.DNS.OwnerID == "" {
		c.DNS.OwnerID = "goldenpath"
	}
	if c.DNS.Policy == "" {
		c.DNS.Policy = "sync"
	}
	if c.DNS.TTL == 0 {
		c.DNS.TTL = 300
	}
	if c.Kong.Edition == "" {
		c.Kong.Edition = "oss"
	}
	if c.Kong.Namespace == "" {
		c.Kong.Namespace = "kong-system"
	}
	if c.SSO.Issuer == "" {
		c.SSO.Issuer = "https://keycloak.dev." + c.Domain + "/realms/platform"
	}
	if c.SSO.ClientID == "" {
		c.SSO.ClientID = "goldenpath"
	}
	if c.TLS.Email == "" {
		c.TLS.Email = "platform-team@" + c.Domain
	}
	if c.TLS.ACMEServer == "" {
		c.TLS.ACMEServer = "https://acme-v02.api.letsencrypt.org/directory"
	}
	if c.Tooling == nil && len(c.Environments) > 0 {
		env := c.Environments[0].Name
		if _, ok := c.Environment("dev"); ok {
			env = "dev"
		}
		c.Tooling = defaultTooling(env)
	}
	for i := range c.Tooling {
		t := &c.Tooling[i]
		if t.Auth == "" {
			t.Auth = "sso"
		}
		if t.Host == "" {
			t.Host = t.Name + "." + c.EnvironmentDomain(t.Environment)
		}
	}
	if c.Delivery.Mode == "" {
		c.Delivery.Mode = "local"
	}
	if c.Delivery.PollInterval == "" {
		c.Delivery.PollInterval = "2m"
	}
	for i := range c.Environments {
		if c.Environments[i].Backend == "" {
			c.Environments[i].Backend = BackendLocal
		}
		if c.Environments[i].Approvals == 0 {
			c.Environments[i].Approvals = 1
		}
		if c.Environments[i].Deployments == "" {
			c.Environments[i].Deployments = "direct"
			if c.Environments[i].Approvals > 1 {
				c.Environments[i].Deployments = "change-request"
			}
		}
	}
}

// check enforces the rules a JSON Schema cannot express.
func (c *Config) check(doc *strictyaml.Document) strictyaml.Errors {
	var errs strictyaml.Errors
	seen := map[string]int{}
	for i, e := range c.Environments {
		field := fmt.Sprintf("environments[%d]", i)
		if j, dup := seen[e.Name]; dup {
			errs = append(errs, doc.Errorf(field+".name", "environment %q is already defined at environments[%d]", e.Name, j))
		}
		seen[e.Name] = i
		errs = append(errs, e.checkAWS(doc, field)...)
		if e.Backend == BackendTerraform {
			errs = append(errs, doc.Errorf(field+".backend", "backend %q is not available in this version of goldenpath; use %q", e.Backend, BackendLocal))
		}
	}
	for i, t := range c.Tooling {
		if _, ok := c.Environment(t.Environment); !ok {
			errs = append(errs, doc.Errorf(fmt.Sprintf("tooling[%d].environment", i), "environment %q is not defined (defined: %s)",
				t.Environment, strings.Join(c.EnvironmentNames(), ", ")))
		}
	}
	if _, err := time.ParseDuration(c.Delivery.PollInterval); err != nil {
		errs = append(errs, doc.Errorf("delivery.pollInterval", "must be a duration such as 2m: %v", err))
	}
	if u := c.Local.Postgres.URL; u != "" {
		if err := checkPostgresURL(u); err != nil {
			errs = append(errs, doc.Errorf("local.postgres.url", "%v", err))
		}
	}
	return errs
}

func checkPostgresURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a URL: %v", err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return fmt.Errorf("scheme must be postgres:// or postgresql://, got %q", u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("must name a host, e.g. postgres://postgres@127.0.0.1:5432/postgres")
	}
	if _, has := u.User.Password(); has || u.Query().Has("password") {
		return fmt.Errorf("must not contain a password, because platform.yaml is stored in git; set GOLDENPATH_POSTGRES_PASSWORD (or GOLDENPATH_POSTGRES_URL) where goldenpath runs")
	}
	return nil
}

// defaultTooling is the seed plan's tooling table (§2.1): Argo CD, Backstage (the goldenpath portal) and
// Grafana behind SSO, Keycloak public, all in dev (or the first environment when there is no dev).
func defaultTooling(env string) []Tool {
	return []Tool{
		{Name: "argocd", Environment: env, Auth: "sso", Service: &ToolService{Name: "argocd-server", Namespace: "argocd", Port: 80}},
		{Name: "backstage", Environment: env, Auth: "sso", Service: &ToolService{Name: "goldenpath", Namespace: "platform", Port: 7070}},
		{Name: "grafana", Environment: env, Auth: "sso", Service: &ToolService{Name: "grafana", Namespace: "monitoring", Port: 80}},
		{Name: "keycloak", Environment: env, Auth: "public", Service: &ToolService{Name: "keycloak", Namespace: "keycloak", Port: 80}},
	}
}

// EnvironmentDomain is the DNS suffix of an environment's hosts: "<env>.<domain>", and the bare domain for
// prod (the seed plan's record table: *.dev.<domain>, *.staging.<domain>, *.<domain>).
func (c *Config) EnvironmentDomain(env string) string {
	if env == "prod" || env == "production" {
		return c.Domain
	}
	return env + "." + c.Domain
}

// Environment returns the named environment.
func (c *Config) Environment(name string) (Environment, bool) {
	for _, e := range c.Environments {
		if e.Name == name {
			return e, true
		}
	}
	return Environment{}, false
}

// EnvironmentNames lists the environments in file order.
func (c *Config) EnvironmentNames() []string {
	names := make([]string, len(c.Environments))
	for i, e := range c.Environments {
		names[i] = e.Name
	}
	return names
}

// SizeClassNames lists the classes defined for a kind key ("rds", "s3", "ecr", "eks"), sorted by size order
// (small, medium, large, xlarge first, then the rest alphabetically).
func (c *Config) SizeClassNames(kindKey string) []string {
	var names []string
	switch kindKey {
	case "rds":
		names = keys(c.SizeClasses.RDS)
	case "s3":
		names = keys(c.SizeClasses.S3)
	case "ecr":
		names = keys(c.SizeClasses.ECR)
	case "eks":
		names = keys(c.SizeClasses.EKS)
	}
	order := []string{"small", "medium", "large", "xlarge"}
	sort.Slice(names, func(i, j int) bool {
		oi, oj := slices.Index(order, names[i]), slices.Index(order, names[j])
		if oi < 0 {
			oi = len(order)
		}
		if oj < 0 {
			oj = len(order)
		}
		if oi != oj {
			return oi < oj
		}
		return names[i] < names[j]
	})
	return names
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// PostgresURL returns the admin URL for RDSRequests, letting the server's environment override platform.yaml
// (so a password never has to be in git). It returns "" when no server is configured.
func (c *Config) PostgresURL(getenv func(string) string) string {
	if u := getenv("GOLDENPATH_POSTGRES_URL"); u != "" {
		return u
	}
	raw := c.Local.Postgres.URL
	if raw == "" {
		return ""
	}
	pw := getenv("GOLDENPATH_POSTGRES_PASSWORD")
	if pw == "" {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	name := "postgres"
	if u.User != nil && u.User.Username() != "" {
		name = u.User.Username()
	}
	u.User = url.UserPassword(name, pw)
	return u.String()
}

// Redact hides any password in a URL for display.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// DefaultYAML is the platform.yaml seeded into a new platform repository.
func DefaultYAML(domain string) []byte {
	return []byte(strings.ReplaceAll(defaultYAML, "{{domain}}", domain))
}

const defaultYAML = `# platform.yaml — the platform team's configuration, read by goldenpath from main of this repository.
# Change it through a change request like any other file; goldenpath validates it strictly
# (goldenpath schema platform prints the JSON Schema).
apiVersion: goldenpath.io/v1
kind: Platform
domain: {{domain}}
environments:
  - name: dev
    backend: local
    approvals: 1
  - name: staging
    backend: local
    approvals: 1
  - name: prod
    backend: local
    approvals: 2
sizeClasses:
  rds:
    small:  {instanceClass: db.t4g.micro,  storageGB: 20,  maxConnections: 20}
    medium: {instanceClass: db.t4g.medium, storageGB: 50,  maxConnections: 50}
    large:  {instanceClass: db.r6g.large,  storageGB: 200, maxConnections: 100}
    xlarge: {instanceClass: db.r6g.xlarge, storageGB: 500, maxConnections: 200}
  s3:
    small:  {quotaGB: 5}
    medium: {quotaGB: 50}
    large:  {quotaGB: 500}
    xlarge: {quotaGB: 0}
  ecr:
    small:  {maxImages: 50}
    medium: {maxImages: 200}
    large:  {maxImages: 1000}
    xlarge: {maxImages: 0}
  eks:
    small:  {nodeInstanceType: t3.medium, nodeCount: 2}
    medium: {nodeInstanceType: m6i.large, nodeCount: 3}
    large:  {nodeInstanceType: m6i.xlarge, nodeCount: 5}
    xlarge: {nodeInstanceType: m6i.2xlarge, nodeCount: 10}
# DNS, routes and TLS (docs/edge.md). Each environment may set gateway.address: its load balancer's hostname
# or IP, which its DNS records point to; without one, records point to goldenpath up's dev gateway.
dns:
  provider: embedded   # embedded | route53 | terraform
  policy: sync         # sync | upsert-only | create-only
kong:
  edition: oss         # oss: SSO through oauth2-proxy (openid-connect is Enterprise-only) | enterprise
# How a new image is deployed (docs/delivery.md); the default runs apps locally behind the dev gateway:
#   delivery: {mode: local}   # local | apply (GOLDENPATH_KUBECONFIG) | argocd (argocd.webhookURL)
local:
  # The PostgreSQL server that backs RDSRequests in the local backend. No password here (this file is in git):
  # give it to the server with GOLDENPATH_POSTGRES_PASSWORD, or set the whole URL with GOLDENPATH_POSTGRES_URL.
  postgres:
    url: ""
`
