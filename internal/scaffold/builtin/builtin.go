// Package builtin holds the golden-path templates goldenpath ships: Backstage software templates
// (scaffolder.backstage.io/v1beta3) for a stateless and a stateful Go service, and one form per contract
// kind that files a request through goldenpath's reviewed change flow. goldenpath seeds them into its
// platform repository under templates/<name>/ on first start; from then on the repository copy is the one
// that runs, so a platform team edits templates there like any other file.
//
// Templated skeleton files end in .njk (fetch:template's templateFileExtension: true) and everything else
// is copied verbatim. That is why the Go skeletons can live inside this module: the go tool ignores
// main.go.njk and go.mod.njk, whereas a real go.mod would cut the directory out of the module (and out of
// go:embed), and real .go files would be compiled as a package of their own.
package builtin

import "embed"

// FS holds templates/<name>/template.yaml and each template's files (skeleton/...). The all: prefix keeps
// dotfiles such as .gitignore, .dockerignore and .github/workflows in the embedded tree.
//
//go:embed all:templates
var FS embed.FS

// Names lists the template names in display order: the paved-road services first, then one form per
// contract kind in the order goldenpath lists its kinds. Each name is a directory of FS under templates/
// and the metadata.name of its template.yaml.
func Names() []string {
	return []string{
		"app-template",
		"stateful-app-template",
		"ecr-request",
		"rds-request",
		"s3-request",
		"secret-request",
		"eks-request",
	}
}
