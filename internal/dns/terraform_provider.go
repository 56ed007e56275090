package dns

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/goldenpathidp/goldenpath/internal/atomicfile"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
)

// Terraform is the provider for `dns.provider: terraform`: it keeps the records as the rendered module tree
// under a directory (a checkout of the repository the platform team's CI applies from), and reads them back
// from those files. Every record in the files is goldenpath's, so Records reports each with an ownership
// record for opts.OwnerID — plans against Terraform read like plans against any other provider.
type Terraform struct {
	dir  string
	opts TerraformOptions
	mu   sync.Mutex
}

var _ Provider = (*Terraform)(nil)

// NewTerraform returns the provider writing under dir.
func NewTerraform(dir string, opts TerraformOptions) *Terraform {
	return &Terraform{dir: dir, opts: opts}
}

// Records parses envs/<env>/route53.tf of every environment; a missing file is an environment without records.
func (t *Terraform) Records(ctx context.Context, zone string) ([]Record, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.records(zone)
}

func (t *Terraform) records(zone string) ([]Record, error) {
	zone = normalizeName(zone)
	if zone != normalizeName(t.opts.Zone) {
		return nil, fmt.Errorf("terraform: zone %q is not the configured %q", zone, t.opts.Zone)
	}
	var out []Record
	for _, env := range t.opts.Environments {
		file := filepath.Join(t.dir, filepath.FromSlash(EnvFile(env)))
		src, err := os.ReadFile(file)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("terraform: %w", err)
		}
		rs, err := ParseTerraformEnv(file, src)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			r.Environment = env
			out = append(out, r, ownershipRecord(r, zone, t.opts.OwnerID))
		}
	}
	return out, nil
}

// ApplyChanges applies the plan to the records in the files and renders the tree again; each file is replaced
// atomically. The CI that runs terraform apply carries the change to Route53.
func (t *Terraform) ApplyChanges(ctx context.Context, zone string, plan Plan) error {
	if !plan.HasChanges() {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	current, err := t.records(zone)
	if err != nil {
		return err
	}
	envOf := map[key]string{}
	for _, r := range current {
		envOf[r.key()] = r.Environment
	}
	for _, u := range plan.Update { // an update keeps its environment when the new record names none
		if u.New.Environment == "" {
			envOf[u.New.Normalize().key()] = envOf[u.Old.Normalize().key()]
		}
	}
	next, err := applyPlan(current, plan, normalizeName(zone))
	if err != nil {
		return fmt.Errorf("terraform: applying plan: %w", err)
	}
	labelRecords(next, envOf)
	files, err := RenderTerraform(next, t.opts)
	if err != nil {
		return err
	}
	return t.write(ctx, files)
}

func (t *Terraform) write(ctx context.Context, files map[string][]byte) error {
	for name, data := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := filepath.Join(t.dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("terraform: %w", err)
		}
		if err := atomicfile.Write(p, data, 0o600); err != nil {
			return fmt.Errorf("terraform: writing %s: %w", name, err)
		}
	}
	return nil
}

// labelRecords gives each record the environment it lives in (its own, else the one it had) and the source its
// ownership record names: the files keep both beside the record, not in TXT records.
func labelRecords(records []Record, envOf map[key]string) {
	resources := map[key]string{}
	for _, r := range records {
		if o, k, ok := asOwnership(r); ok {
			resources[k] = o.resource
		}
	}
	for i := range records {
		if records[i].Environment == "" {
			records[i].Environment = envOf[records[i].key()]
		}
		if res, ok := resources[records[i].key()]; ok {
			records[i].Resource = res
		}
	}
}

// ParseTerraformEnv reads the records of an envs/<env>/route53.tf that RenderTerraform wrote: the records
// argument of its module "route53" block, which must be a literal list.
func ParseTerraformEnv(filename string, src []byte) ([]Record, error) {
	f, diags := hclparse.NewParser().ParseHCL(src, filename)
	if diags.HasErrors() {
		return nil, fmt.Errorf("terraform: %w", diags)
	}
	content, diags := f.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "module", LabelNames: []string{"name"}}, {Type: "output", LabelNames: []string{"name"}}}})
	if diags.HasErrors() {
		return nil, fmt.Errorf("terraform: %w", diags)
	}
	for _, b := range content.Blocks {
		if b.Type != "module" || b.Labels[0] != "route53" {
			continue
		}
		attrs, diags := b.Body.JustAttributes()
		if diags.HasErrors() {
			return nil, fmt.Errorf("terraform: %w", diags)
		}
		a, ok := attrs["records"]
		if !ok {
			return nil, nil
		}
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() {
			return nil, fmt.Errorf("terraform: %s: records must be a literal list: %w", filename, diags)
		}
		return recordsFromCty(filename, v)
	}
	return nil, fmt.Errorf("terraform: %s has no module \"route53\" block", filename)
}

func recordsFromCty(filename string, v cty.Value) ([]Record, error) {
	if !v.Type().IsTupleType() && !v.Type().IsListType() {
		return nil, fmt.Errorf("terraform: %s: records is not a list", filename)
	}
	var out []Record
	for i, e := range v.AsValueSlice() {
		r, err := recordFromCty(e)
		if err != nil {
			return nil, fmt.Errorf("terraform: %s: records[%d]: %w", filename, i, err)
		}
		out = append(out, r.Normalize())
	}
	return out, nil
}

func recordFromCty(e cty.Value) (Record, error) {
	if !e.Type().IsObjectType() {
		return Record{}, errors.New("not an object")
	}
	str := func(o cty.Value, name string) string {
		if !o.Type().HasAttribute(name) || o.GetAttr(name).IsNull() || o.GetAttr(name).Type() != cty.String {
			return ""
		}
		return o.GetAttr(name).AsString()
	}
	r := Record{Name: str(e, "name"), Type: str(e, "type"), Resource: str(e, "source"), TTL: DefaultTTL}
	if r.Name == "" || r.Type == "" {
		return Record{}, errors.New("name and type are required")
	}
	if e.Type().HasAttribute("ttl") && e.GetAttr("ttl").Type() == cty.Number {
		ttl, _ := e.GetAttr("ttl").AsBigFloat().Int64()
		r.TTL = int(ttl)
	}
	if e.Type().HasAttribute("records") {
		for _, t := range e.GetAttr("records").AsValueSlice() {
			if t.Type() != cty.String {
				return Record{}, errors.New("records must be strings")
			}
			v := t.AsString()
			if r.Type == TypeTXT {
				v = joinTerraformTXT(v)
			}
			r.Targets = append(r.Targets, v)
		}
	}
	if e.Type().HasAttribute("alias") && e.GetAttr("alias").Type().IsObjectType() {
		a := e.GetAttr("alias")
		r.Alias = &Alias{DNSName: str(a, "name"), HostedZoneID: str(a, "zone_id"), EvaluateTargetHealth: true}
		if a.Type().HasAttribute("evaluate_target_health") && a.GetAttr("evaluate_target_health").Type() == cty.Bool {
			r.Alias.EvaluateTargetHealth = a.GetAttr("evaluate_target_health").True()
		}
		r.TTL = 0
	}
	return r, nil
}
