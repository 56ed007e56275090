package dns

import (
	"fmt"
	"path"
	"slices"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// ModuleDir is where the Route53 module lives in the rendered tree (the seed plan's modules/aws_route53).
const ModuleDir = "modules/aws_route53"

// TerraformOptions configures the Terraform output.
type TerraformOptions struct {
	Zone         string   // the domain, e.g. goldenpathidp.io
	Environments []string // each gets envs/<env>/route53.tf, even without records
	// ZoneEnvironment is the environment whose module call creates the hosted zone; the others look it up by
	// name. Default: the first environment (dev in the seed plan, set up first).
	ZoneEnvironment string
	// OwnerID is the owner the Terraform provider reports for every record in the files (they are all
	// goldenpath's: it writes them whole).
	OwnerID string
}

func (o TerraformOptions) zoneEnv() string {
	if o.ZoneEnvironment != "" || len(o.Environments) == 0 {
		return o.ZoneEnvironment
	}
	return o.Environments[0]
}

// EnvFile is the path of an environment's Route53 file in the rendered tree.
func EnvFile(env string) string { return path.Join("envs", env, "route53.tf") }

// RenderTerraform renders the Route53 module and one module call per environment holding that environment's
// records (grouped by Record.Environment): files by slash-separated path. Ownership records are left out —
// Terraform's state says what it owns. Rendering is pure; the files parse with hcl/v2.
func RenderTerraform(records []Record, opts TerraformOptions) (map[string][]byte, error) {
	zone := normalizeName(opts.Zone)
	if why := checkName(zone); why != "" {
		return nil, fmt.Errorf("terraform: zone %q %s", opts.Zone, why)
	}
	if len(opts.Environments) == 0 {
		return nil, fmt.Errorf("terraform: at least one environment is required")
	}
	if !slices.Contains(opts.Environments, opts.zoneEnv()) {
		return nil, fmt.Errorf("terraform: the zone environment %q is not one of %v", opts.zoneEnv(), opts.Environments)
	}
	byEnv := map[string][]Record{}
	for _, r := range normalizeAll(records) {
		if _, _, ok := asOwnership(r); ok {
			continue
		}
		if !slices.Contains(opts.Environments, r.Environment) {
			return nil, fmt.Errorf("terraform: record %s %s: environment %q is not one of %v", r.Name, r.Type, r.Environment, opts.Environments)
		}
		byEnv[r.Environment] = append(byEnv[r.Environment], r)
	}
	if err := Validate(records, zone); err != nil {
		return nil, fmt.Errorf("terraform: %w", err)
	}
	files := map[string][]byte{
		ModuleDir + "/main.tf":      []byte(moduleMain),
		ModuleDir + "/variables.tf": []byte(moduleVariables),
		ModuleDir + "/outputs.tf":   []byte(moduleOutputs),
		ModuleDir + "/README.md":    []byte(moduleReadme),
	}
	for _, env := range opts.Environments {
		rs := byEnv[env]
		slices.SortFunc(rs, func(a, b Record) int { return compareKeys(a.key(), b.key()) })
		files[EnvFile(env)] = renderEnv(zone, env, env == opts.zoneEnv(), rs)
	}
	return files, nil
}

func compareKeys(a, b key) int {
	if a.name != b.name {
		if a.name < b.name {
			return -1
		}
		return 1
	}
	switch {
	case a.typ < b.typ:
		return -1
	case a.typ > b.typ:
		return 1
	}
	return 0
}

// renderEnv writes envs/<env>/route53.tf: the seed plan's wildcard_dev example, fed from goldenpath's records
// through the module instead of one resource per record.
func renderEnv(zone, env string, createZone bool, records []Record) []byte {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	body.AppendUnstructuredTokens(comment(fmt.Sprintf(`# Route53 records of the %s environment, rendered by goldenpath from platform.yaml and the apps'
# routes. Do not edit: goldenpath rewrites this file on every change. Terraform state owns these records, so
# no external-dns ownership TXT records are written.
`, env)))
	body.AppendNewline()
	mod := body.AppendNewBlock("module", []string{"route53"}).Body()
	mod.SetAttributeValue("source", cty.StringVal("../../"+ModuleDir))
	mod.AppendNewline()
	mod.SetAttributeValue("domain_name", cty.StringVal(zone))
	mod.SetAttributeValue("create_zone", cty.BoolVal(createZone))
	mod.AppendNewline()
	elems := make([]hclwrite.Tokens, 0, len(records))
	for _, r := range records {
		elems = append(elems, recordTokens(r))
	}
	mod.SetAttributeRaw("records", listTokens(elems))
	for _, out := range []string{"zone_id", "name_servers"} {
		body.AppendNewline()
		o := body.AppendNewBlock("output", []string{out}).Body()
		o.SetAttributeTraversal("value", traversal("module", "route53", out))
	}
	return hclwrite.Format(f.Bytes())
}

// listTokens writes a list one element a line with trailing commas, the way terraform fmt leaves
// hand-written lists (hclwrite's own tuple keeps them on one line).
func listTokens(elems []hclwrite.Tokens) hclwrite.Tokens {
	tok := func(t hclsyntax.TokenType, s string) *hclwrite.Token {
		return &hclwrite.Token{Type: t, Bytes: []byte(s)}
	}
	if len(elems) == 0 {
		return hclwrite.Tokens{tok(hclsyntax.TokenOBrack, "["), tok(hclsyntax.TokenCBrack, "]")}
	}
	out := hclwrite.Tokens{tok(hclsyntax.TokenOBrack, "["), tok(hclsyntax.TokenNewline, "\n")}
	for _, e := range elems {
		out = append(out, e...)
		out = append(out, tok(hclsyntax.TokenComma, ","), tok(hclsyntax.TokenNewline, "\n"))
	}
	return append(out, tok(hclsyntax.TokenCBrack, "]"))
}

func recordTokens(r Record) hclwrite.Tokens {
	attrs := []hclwrite.ObjectAttrTokens{
		attr("name", cty.StringVal(r.Name)),
		attr("type", cty.StringVal(r.Type)),
	}
	if r.Alias != nil {
		alias := hclwrite.TokensForObject([]hclwrite.ObjectAttrTokens{
			attr("name", cty.StringVal(r.Alias.DNSName)),
			attr("zone_id", cty.StringVal(r.Alias.HostedZoneID)),
			attr("evaluate_target_health", cty.BoolVal(r.Alias.EvaluateTargetHealth)),
		})
		attrs = append(attrs, hclwrite.ObjectAttrTokens{Name: hclwrite.TokensForIdentifier("alias"), Value: alias})
	} else {
		vals := make([]cty.Value, len(r.Targets))
		for i, t := range r.Targets {
			if r.Type == TypeTXT {
				t = splitTerraformTXT(t)
			}
			vals[i] = cty.StringVal(t)
		}
		attrs = append(attrs, attr("ttl", cty.NumberIntVal(int64(r.TTL))), attr("records", cty.ListVal(vals)))
	}
	if r.Resource != "" {
		attrs = append(attrs, attr("source", cty.StringVal(r.Resource)))
	}
	return hclwrite.TokensForObject(attrs)
}

func attr(name string, v cty.Value) hclwrite.ObjectAttrTokens {
	return hclwrite.ObjectAttrTokens{Name: hclwrite.TokensForIdentifier(name), Value: hclwrite.TokensForValue(v)}
}

// splitTerraformTXT marks the 255-byte boundaries of a long TXT value with "" — the AWS provider's way of
// writing several character-strings in one value.
func splitTerraformTXT(v string) string {
	var out string
	for len(v) > 255 {
		out += v[:255] + `""`
		v = v[255:]
	}
	return out + v
}

// joinTerraformTXT undoes splitTerraformTXT.
func joinTerraformTXT(v string) string {
	var out string
	for len(v) > 257 && v[255:257] == `""` {
		out += v[:255]
		v = v[257:]
	}
	return out + v
}
