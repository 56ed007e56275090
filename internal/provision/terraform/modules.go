// Package terraform is the terraform backend: goldenpath renders Terraform into the platform repository for
// the team's own CI to apply. This file holds the modules the rendered roots call, one per contract kind,
// written beside the DNS module (modules/aws_route53) on every render of the repository.
package terraform

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
)

// The module sources are plain .tf files under modules/, at the paths they take in the platform repository.
//
//go:embed modules
var modulesFS embed.FS

// ModuleNames are the modules, one per contract kind, in the order of the contract kinds.
func ModuleNames() []string {
	return []string{"aws_ecr", "aws_s3", "aws_secret", "aws_rds", "aws_eks"}
}

// ModuleDirs are the modules' directories in the platform repository (modules/<name>).
func ModuleDirs() []string {
	dirs := make([]string, 0, len(ModuleNames()))
	for _, n := range ModuleNames() {
		dirs = append(dirs, path.Join("modules", n))
	}
	return dirs
}

// ModuleFiles returns every module's files (main.tf, variables.tf, outputs.tf, README.md) by their
// slash-separated path in the platform repository.
func ModuleFiles() (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, dir := range ModuleDirs() {
		err := fs.WalkDir(modulesFS, dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := modulesFS.ReadFile(p)
			files[p] = b
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("reading the terraform module %s: %w", dir, err)
		}
	}
	return files, nil
}
