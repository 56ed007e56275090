package plan

import (
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/contract"
)

func req(t *testing.T, name, size string) *contract.Request {
	t.Helper()
	r, err := contract.ParseOne("f.yaml", []byte("apiVersion: goldenpath.io/v1\nkind: S3Request\nmetadata: {name: "+name+
		", owner: alice, team: payments, environment: dev}\nspec: {size: "+size+"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDiff(t *testing.T) {
	keep, grow, gone, added := req(t, "keep", "small"), req(t, "grow", "small"), req(t, "gone", "small"), req(t, "added", "small")
	base := map[contract.ID]*contract.Request{keep.ID(): keep, grow.ID(): grow, gone.ID(): gone}
	desired := map[contract.ID]*contract.Request{keep.ID(): req(t, "keep", "small"), grow.ID(): req(t, "grow", "large"), added.ID(): added}
	got := Diff(base, desired, func(r *contract.Request) []Resource {
		return []Resource{{Type: "bucket", Name: r.Metadata.Name + "-dev"}}
	})
	var lines []string
	for _, e := range got {
		lines = append(lines, string(e.Action)+" "+string(e.RequestID)+" "+strings.Join(e.Changes, ",")+" "+e.Resources[0].Name)
	}
	want := []string{"create s3.dev.added  added-dev", "delete s3.dev.gone  gone-dev", "update s3.dev.grow spec.size: small → large grow-dev"}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}
