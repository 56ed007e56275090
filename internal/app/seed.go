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

// seed creates what a new data directory needs: the platform repository's first commit and the admin user.
func (a *App) seed(ctx context.Context) error {
	if _, err := a.Platform.ResolveRef(ctx, change.MainBranch); errors.Is(err, forge.ErrNotFound) {
		cfgYAML := a.cfg.PlatformYAML
		if cfgYAML == nil {
			cfgYAML = platform.DefaultYAML(a.cfg.Domain)
		}
		_, err := a.Platform.Commit(ctx, forge.CommitOptions{
			Branch: change.MainBranch, Message: "Seed the platform repository",
			Author: forge.Signature{Name: "goldenpath", Email: "goldenpath@localhost"},
			Changes: []forge.Change{
				{Path: platform.Path, Content: cfgYAML},
				{Path: "README.md", Content: []byte(repoReadme)},
				{Path: contract.Root + "/README.md", Content: []byte(contractsReadme)},
			},
		})
		if err != nil {
			return fmt.Errorf("seeding the platform repository: %w", err)
		}
		a.log.Info("seeded the platform repository")
	} else if err != nil {
		return err
	}
	users, err := a.Store.ListUsers(ctx)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return nil
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
