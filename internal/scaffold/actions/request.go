package actions

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
)

// Requests files contracts through goldenpath's request flow on behalf of a task's user.
type Requests interface {
	// File opens a change request for r (in a dry run it only validates r against platform.yaml).
	File(ctx context.Context, user scaffold.User, r *contract.Request, dryRun bool) (Filed, error)
}

// Filed is a filed request.
type Filed struct {
	RequestID    string
	ContractPath string
	ChangeNumber int64
	ChangeURL    string
}

func requestOutput() map[string]any {
	return object(map[string]any{
		"requestId":    str("The request's ID, e.g. rds.dev.orders"),
		"contractPath": str("Path of the contract in the platform repository"),
		"changeNumber": num("The change request's number"),
		"changeUrl":    str("URL of the change request"),
	})
}

// RequestCreate is goldenpath:request:create.
func RequestCreate(req Requests) scaffold.Action {
	return &action{
		id:          "goldenpath:request:create",
		description: "Files a resource request (a contract on a branch of the platform repository plus a change request).",
		input: object(map[string]any{
			"kind":        str("ECRRequest, RDSRequest, S3Request, SecretRequest or EKSRequest (or ecr, rds, s3, secret, eks)"),
			"name":        str("Request name (a DNS label)"),
			"environment": str("Environment (default dev)"),
			"owner":       str("Owning user, or an OwnerPicker group ref (default: the task's user)"),
			"team":        str("Owning team (default: the owner group, or the user's first team)"),
			"description": str("What it is for"),
			"spec":        map[string]any{"type": "object", "title": "The contract's spec"},
		}, "kind", "name"),
		output: requestOutput(),
		examples: []scaffold.Example{{Description: "Request a small PostgreSQL database", Example: `- id: db
  action: goldenpath:request:create
  input:
    kind: RDSRequest
    name: ${{ parameters.name }}
    environment: dev
    spec: {engine: postgres, size: small}`}},
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			spec, _ := expr.AsMap(ac.Input["spec"])
			return file(ctx, ac, req, ac.String("kind", ""), ac.String("name", ""), ac.String("environment", "dev"),
				ac.String("owner", ""), ac.String("team", ""), ac.String("description", ""), spec)
		},
	}
}

// file builds, validates and files a contract from an action's input.
func file(ctx context.Context, ac *scaffold.ActionContext, req Requests, kind, name, env, owner, team, desc string, spec map[string]any) error {
	info, err := contract.LookupKind(kind)
	if err != nil {
		return fmt.Errorf("input.kind: %w", err)
	}
	owner, team, err = ownership(ac.User, owner, team)
	if err != nil {
		return err
	}
	if spec == nil {
		spec = map[string]any{}
	}
	doc := map[string]any{
		"apiVersion": contract.APIVersion, "kind": string(info.Kind),
		"metadata": map[string]any{"name": name, "owner": owner, "team": team, "environment": env},
		"spec":     spec,
	}
	if desc != "" {
		doc["metadata"].(map[string]any)["description"] = desc
	}
	raw, _ := json.Marshal(doc)
	r, err := contract.ParseOne("step "+ac.StepID, raw)
	if err != nil {
		return err
	}
	filed, err := req.File(ctx, ac.User, r, ac.DryRun)
	if err != nil {
		return err
	}
	ac.Output("requestId", filed.RequestID)
	ac.Output("contractPath", filed.ContractPath)
	ac.Output("changeNumber", filed.ChangeNumber)
	ac.Output("changeUrl", filed.ChangeURL)
	if ac.DryRun {
		ac.Logf("Dry run: %s is valid; it would be filed at %s", filed.RequestID, filed.ContractPath)
	} else {
		ac.Logf("Filed %s in change request #%d (%s); it is provisioned once approved and merged", filed.RequestID, filed.ChangeNumber, filed.ChangeURL)
	}
	return nil
}

// ownership turns OwnerPicker-style values into a contract's owner (a user) and team.
func ownership(u scaffold.User, owner, team string) (string, string, error) {
	kind, name := splitRef(owner)
	switch {
	case owner == "":
		owner = u.Name
	case kind == "group":
		if team == "" {
			team = name
		}
		owner = u.Name
	default:
		owner = name
	}
	_, team = splitRef(team)
	if team == "" && len(u.Teams) > 0 {
		team = u.Teams[0]
	}
	if team == "" {
		return "", "", fmt.Errorf("input.team: is required: %s belongs to no team and no owner group was given", u.Name)
	}
	return owner, team, nil
}

// splitRef reads "[kind:][namespace/]name" into a lower-case kind and the name.
func splitRef(ref string) (string, string) {
	kind, rest, ok := strings.Cut(ref, ":")
	if !ok {
		kind, rest = "", ref
	}
	if i := strings.LastIndex(rest, "/"); i >= 0 {
		rest = rest[i+1:]
	}
	return strings.ToLower(kind), rest
}

// workflow maps one of the seed plan's request workflows onto a contract.
type workflow struct {
	kind contract.Kind
	name []string          // inputs that carry the request name, in order of preference
	spec map[string]string // input → spec field
	env  string            // input carrying the environment
}

var workflows = map[string]workflow{
	"rds-request-apply.yml": {kind: contract.RDS, name: []string{"app_name", "name"}, env: "environment",
		spec: map[string]string{"db_engine": "engine", "db_size": "size", "db_name": "databaseName", "engine_version": "engineVersion"}},
	"ecr-request-apply.yml": {kind: contract.ECR, name: []string{"repo_name", "app_name", "name"}, env: "environment",
		spec: map[string]string{"size": "size", "tag_immutability": "tagImmutability", "scan_on_push": "scanOnPush"}},
	"s3-request-apply.yml": {kind: contract.S3, name: []string{"bucket_name", "app_name", "name"}, env: "environment",
		spec: map[string]string{"size": "size", "versioning": "versioning", "encryption": "encryption"}},
	"secret-request-apply.yml": {kind: contract.Secret, name: []string{"secret_name", "name"}, env: "environment",
		spec: map[string]string{"description": "description", "rotation_days": "rotationDays"}},
	"eks-request-apply.yml": {kind: contract.EKS, name: []string{"cluster_name", "name"}, env: "environment",
		spec: map[string]string{"size": "size", "ttl": "ttl", "kubernetes_version": "kubernetesVersion"}},
}

func workflowNames() []string {
	names := make([]string, 0, len(workflows))
	for n := range workflows {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ActionsDispatch is github:actions:dispatch, mapped onto goldenpath's request flow: the seed plan's
// request workflows become a contract plus a change request instead of a GitHub Actions run.
func ActionsDispatch(req Requests) scaffold.Action {
	return &action{
		id: "github:actions:dispatch",
		description: "Runs one of the platform's request workflows (" + strings.Join(workflowNames(), ", ") +
			") as goldenpath's request flow: a contract plus a change request.",
		input: object(map[string]any{
			"repoUrl":         str("Repository of the workflow (kept for compatibility; goldenpath runs the mapped workflow itself)"),
			"workflowId":      str("Workflow file, e.g. rds-request-apply.yml"),
			"branchOrTagName": str("Branch or tag (kept for compatibility)"),
			"workflowInputs":  map[string]any{"type": "object", "title": "Workflow inputs (at most 10)", "maxProperties": 10},
			"token":           str("Token (unused)"),
		}, "repoUrl", "workflowId", "branchOrTagName"),
		output: requestOutput(),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			id := ac.String("workflowId", "")
			wf, ok := workflows[id]
			if !ok {
				return fmt.Errorf("input.workflowId: goldenpath does not know workflow %q; it runs %s (other GitHub workflows need GitHub Actions)",
					id, strings.Join(workflowNames(), ", "))
			}
			inputs, _ := expr.AsMap(ac.Input["workflowInputs"])
			name, env, owner, team := "", "dev", "", ""
			spec := map[string]any{}
			for k, v := range inputs {
				s := fmt.Sprint(v)
				switch {
				case contains(wf.name, k):
					if name == "" || k == wf.name[0] {
						name = s
					}
				case k == wf.env:
					env = s
				case k == "owner":
					owner = s
				case k == "team":
					team = s
				case wf.spec[k] != "":
					if s != "" && s != "<nil>" {
						spec[wf.spec[k]] = typed(s)
					}
				default:
					return fmt.Errorf("input.workflowInputs.%s: %s has no such input (inputs: %s)", k, id, strings.Join(inputNames(wf), ", "))
				}
			}
			if name == "" {
				return fmt.Errorf("input.workflowInputs: %s needs %s", id, wf.name[0])
			}
			ac.Logf("Running %s as a %s request", id, wf.kind)
			return file(ctx, ac, req, string(wf.kind), name, env, owner, team, "", spec)
		},
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func inputNames(wf workflow) []string {
	names := append([]string{}, wf.name...)
	names = append(names, wf.env, "owner", "team")
	for k := range wf.spec {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// typed turns workflow input strings (GitHub passes strings) back into booleans and numbers.
func typed(s string) any {
	if b, err := strconv.ParseBool(s); err == nil && (s == "true" || s == "false") {
		return b
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return s
}
