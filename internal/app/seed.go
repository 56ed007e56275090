package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/goldenpathidp/goldenpath/internal/change"
	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// AdminTokenFile is where the first start leaves the admin token (mode 0600) for the CLI on this machine.
const AdminTokenFile = "admin.token"

// createPlatformRepo creates the platform repository with its first commit — platform.yaml, the READMEs
// and the built-in templates — in one step, when it does not exist yet.
func (a *App) createPlatformRepo(ctx context.Context) error {
	cfgYAML := a.cfg.PlatformYAML
	if cfgYAML == nil {
		cfgYAML = platform.DefaultYAML(a.cfg.Domain)
	}
	templates, err := builtinTemplateChanges()
	if err != nil {
		return err
	}
	changes := append([]forge.Change{
		{Path: platform.Path, Content: cfgYAML},
		{Path: "README.md", Content: []byte(repoReadme)},
		{Path: contract.Root + "/README.md", Content: []byte(contractsReadme)},
	}, templates...)
	_, created, err := a.Forge.CreateRepoWithCommit(ctx, PlatformRepo, change.MainBranch, forge.CommitOptions{
		Message: "Seed the platform repository", Author: forge.Signature{Name: "goldenpath", Email: "goldenpath@localhost"},
		Changes: changes,
	})
	if created {
		a.log.Info("seeded the platform repository")
	}
	return err
}

// seed creates the first admin user of a new data directory.
func (a *App) seed(ctx context.Context) error {
	users, err := a.Store.ListUsers(ctx)
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.Name != botUser {
			return nil // people exist: not a first start
		}
	}
	if _, err := a.Auth.AddUser(ctx, store.User{Name: "admin", DisplayName: "goldenpath admin", Roles: []string{store.RoleAdmin}, Teams: []string{"platform"}}); err != nil {
		return fmt.Errorf("creating the admin user: %w", err)
	}
	tok, _, err := a.Auth.IssueToken(ctx, "admin", "created by the first start", 0)
	if err != nil {
		return err
	}
	a.AdminToken = tok
	if err := os.WriteFile(filepath.Join(a.cfg.DataDir, AdminTokenFile), []byte(tok+"\n"), 0o600); err != nil {
		return fmt.Errorf("saving the admin token: %w", err)
	}
	return nil
}

const repoReadme = `# platform

The platform repository: goldenpath reads desired state from ` + "`main`" + `.

- ` + "`platform.yaml`" + ` — domain, environments, size classes, local backend settings.
- ` + "`docs/20-contracts/<kind>-requests/<name>/<KIND>-REQUEST.yaml`" + ` — resource requests (contracts).

Change anything here through a change request (` + "`goldenpath request ...`" + `, or push a branch and
` + "`goldenpath change open BRANCH`" + `). Nothing becomes desired until it is approved and merged.
`

const contractsReadme = `# Contracts

One directory per request kind (ecr-requests, rds-requests, s3-requests, secret-requests, eks-requests), one
directory per request name, one YAML document per environment in the request's file. Schemas:
` + "`goldenpath schema RDSRequest`" + `.
`

// installationID returns this data directory's identity, creating it on first start.
func installationID(ctx context.Context, st store.Store) (string, error) {
	id, err := st.GetMeta(ctx, "installation.id")
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id = hex.EncodeToString(b)
	return id, st.SetMeta(ctx, "installation.id", id)
}
