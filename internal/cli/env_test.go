package cli

import (
	"os/exec"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/contract"
)

func TestExportLines(t *testing.T) {
	nasty := `it's $HOME; "quoted" ` + "`date`\nnext line \\ end"
	got := exportLines(contract.S3, map[string]string{"endpoint": "http://127.0.0.1:7071", "bucket": "invoices-dev", "accessKeyId": "AKIA1"},
		map[string]string{"secretAccessKey": nasty, "extra-thing": "x", "someKey2Go": "y"})
	want := "export AWS_ACCESS_KEY_ID='AKIA1'\n" +
		"export AWS_ENDPOINT_URL='http://127.0.0.1:7071'\n" +
		"export AWS_SECRET_ACCESS_KEY='it'\\''s $HOME; \"quoted\" `date`\nnext line \\ end'\n" +
		"export EXTRA_THING='x'\n" +
		"export S3_BUCKET='invoices-dev'\n" +
		"export SOME_KEY2_GO='y'\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to evaluate the lines with")
	}
	out, err := exec.Command(sh, "-c", got+`printf %s "$AWS_SECRET_ACCESS_KEY"`).Output()
	if err != nil || string(out) != nasty {
		t.Errorf("sh read back %q (%v), want %q", out, err, nasty)
	}
}

func TestExportLinesRDS(t *testing.T) {
	got := exportLines(contract.RDS, map[string]string{"host": "127.0.0.1", "port": "5432", "database": "orders", "username": "orders", "engine": "postgres"},
		map[string]string{"password": "pw", "url": "postgres://orders:pw@127.0.0.1:5432/orders"})
	want := "export DATABASE_URL='postgres://orders:pw@127.0.0.1:5432/orders'\nexport ENGINE='postgres'\nexport PGDATABASE='orders'\n" +
		"export PGHOST='127.0.0.1'\nexport PGPASSWORD='pw'\nexport PGPORT='5432'\nexport PGUSER='orders'\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestEnvName(t *testing.T) {
	for key, want := range map[string]string{"secretAccessKey": "SECRET_ACCESS_KEY", "setWith": "SET_WITH", "host": "HOST",
		"set-with": "SET_WITH", "a.b/c": "A_B_C", "9lives": "_9LIVES", "URLPath": "URLPATH", "é": "_"} {
		if got := envName(key); got != want {
			t.Errorf("envName(%q) = %q, want %q", key, got, want)
		}
	}
}
