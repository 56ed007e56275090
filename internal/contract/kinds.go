// Package contract defines goldenpath's resource contracts (apiVersion goldenpath.io/v1): ECRRequest,
// RDSRequest, S3Request, SecretRequest and EKSRequest. A contract is a YAML file in the platform repository at
// docs/20-contracts/<kind>-requests/<name>/<KIND>-REQUEST.yaml; this package decodes such files strictly,
// validates them against platform.yaml, publishes their JSON Schemas and renders them back to YAML.
package contract

import (
	"fmt"
	"sort"
	"strings"
)

// APIVersion is the only version this package reads and writes.
const APIVersion = "goldenpath.io/v1"

// Root is the directory of the platform repository that holds contracts.
const Root = "docs/20-contracts"

// Kind names a contract kind.
type Kind string

const (
	ECR    Kind = "ECRRequest"
	RDS    Kind = "RDSRequest"
	S3     Kind = "S3Request"
	Secret Kind = "SecretRequest"
	EKS    Kind = "EKSRequest"
)

// KindInfo is what goldenpath knows about a kind: its short name (used in ids, CLI and size classes), its
// directory and file name in the platform repository, and whether it has size classes.
type KindInfo struct {
	Kind  Kind
	Short string // "rds"
	Dir   string // "rds-requests"
	File  string // "RDS-REQUEST.yaml"
	Sized bool
	Title string // for docs and plans
}

var kinds = []KindInfo{
	{Kind: ECR, Short: "ecr", Dir: "ecr-requests", File: "ECR-REQUEST.yaml", Sized: true, Title: "container image repository"},
	{Kind: RDS, Short: "rds", Dir: "rds-requests", File: "RDS-REQUEST.yaml", Sized: true, Title: "PostgreSQL database"},
	{Kind: S3, Short: "s3", Dir: "s3-requests", File: "S3-REQUEST.yaml", Sized: true, Title: "object storage bucket"},
	{Kind: Secret, Short: "secret", Dir: "secret-requests", File: "SECRET-REQUEST.yaml", Sized: false, Title: "secret"},
	{Kind: EKS, Short: "eks", Dir: "eks-requests", File: "EKS-REQUEST.yaml", Sized: true, Title: "ephemeral Kubernetes cluster"},
}

// Kinds lists every kind in a stable order.
func Kinds() []KindInfo { return append([]KindInfo(nil), kinds...) }

// Info returns what is known about k.
func (k Kind) Info() (KindInfo, bool) {
	for _, i := range kinds {
		if i.Kind == k {
			return i, true
		}
	}
	return KindInfo{}, false
}

// LookupKind accepts a kind name ("RDSRequest"), a short name ("rds") or a directory ("rds-requests"),
// case-insensitively.
func LookupKind(s string) (KindInfo, error) {
	for _, i := range kinds {
		if strings.EqualFold(s, string(i.Kind)) || strings.EqualFold(s, i.Short) || strings.EqualFold(s, i.Dir) {
			return i, nil
		}
	}
	return KindInfo{}, fmt.Errorf("unknown kind %q: want one of %s", s, strings.Join(KindNames(), ", "))
}

// KindNames lists the kind names.
func KindNames() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = string(k.Kind)
	}
	return out
}

// PathFor is where a request of kind k named name lives in the platform repository. Requests of the same
// kind and name in several environments share the file, one YAML document each.
func PathFor(k Kind, name string) string {
	info, _ := k.Info()
	return Root + "/" + info.Dir + "/" + name + "/" + info.File
}

// ID identifies a request: "<short>.<environment>.<name>", e.g. "rds.dev.orders". It is stable, so every
// resource a provisioner creates can be tagged with it and found again after a crash.
type ID string

// MakeID builds the ID of a request.
func MakeID(k Kind, env, name string) ID {
	info, _ := k.Info()
	return ID(info.Short + "." + env + "." + name)
}

// ParseID splits an ID into kind, environment and name.
func ParseID(s string) (Kind, string, string, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
		return "", "", "", fmt.Errorf("invalid request id %q: want <kind>.<environment>.<name>, e.g. rds.dev.orders", s)
	}
	info, err := LookupKind(parts[0])
	if err != nil {
		return "", "", "", fmt.Errorf("invalid request id %q: %w", s, err)
	}
	return info.Kind, parts[1], parts[2], nil
}

// SortRequests orders requests by kind, environment and name.
func SortRequests(rs []*Request) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].ID() < rs[j].ID() })
}
