package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// bulkReconcile merges n contracts in one commit to main and times until every one is Ready.
func bulkReconcile(ctx context.Context, n int) error {
	a, dir, err := startApp(ctx, func(string) string { return "" })
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	defer a.Close()
	if _, _, err := people(ctx, a); err != nil {
		return err
	}
	kinds := []contract.Kind{contract.ECR, contract.S3, contract.Secret}
	var changes []forge.Change
	for i := 0; i < n; i++ {
		k := kinds[i%len(kinds)]
		name := fmt.Sprintf("bulk-%04d", i)
		changes = append(changes, forge.Change{Path: contract.PathFor(k, name), Content: []byte(doc(k, name))})
	}
	// goldenpath commits to main too (its rendered files at start): a commit that finds main moved is made
	// again on the new tip, and only the last attempt is timed.
	var t0 time.Time
	attempt := 0
	for ; ; attempt++ {
		main, err := a.Platform.ResolveRef(ctx, "main")
		if err != nil {
			return err
		}
		t0 = time.Now()
		_, err = a.Platform.Commit(ctx, forge.CommitOptions{Branch: "main", Parent: main, Message: "bulk", Author: forge.Signature{Name: "bench", Email: "bench@localhost"}, Changes: changes})
		if err == nil {
			break
		}
		if !errors.Is(err, forge.ErrConflict) || attempt == 20 {
			return err
		}
	}
	commit := time.Since(t0)
	a.Reconciler.Notify()
	for {
		ready, err := a.Store.ListRequests(ctx, store.RequestFilter{Phase: store.PhaseReady})
		if err != nil {
			return err
		}
		if len(ready) == n {
			break
		}
		if time.Since(t0) > 5*time.Minute {
			return fmt.Errorf("only %d of %d Ready after 5 minutes", len(ready), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	total := time.Since(t0)
	all, _ := a.Store.ListRequests(ctx, store.RequestFilter{})
	fmt.Printf("bulk: %d requests (ECR, S3, secret) merged in one commit (%s; made again %d time(s) because goldenpath moved main first) → all Ready in %s (%.0f requests/s); records: %d, lost: %d\n\n",
		n, commit.Round(time.Millisecond), attempt, total.Round(time.Millisecond), float64(n)/total.Seconds(), len(all), n-len(all))
	return nil
}
