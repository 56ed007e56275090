package cli

import (
	"maps"
	"slices"
	"strings"
	"unicode"

	"github.com/goldenpathidp/goldenpath/internal/contract"
)

// clientEnv names, per kind, the variables the kind's ordinary clients read (the AWS SDKs and CLI, libpq and
// psql), so that `eval "$(goldenpath request credentials ID -o env)"` is enough to connect. Other outputs
// are named after their key in upper snake case (accessKeyId would be ACCESS_KEY_ID).
var clientEnv = map[contract.Kind]map[string]string{
	contract.S3: {"accessKeyId": "AWS_ACCESS_KEY_ID", "secretAccessKey": "AWS_SECRET_ACCESS_KEY",
		"endpoint": "AWS_ENDPOINT_URL", "region": "AWS_REGION", "bucket": "S3_BUCKET"},
	contract.RDS: {"host": "PGHOST", "port": "PGPORT", "database": "PGDATABASE", "username": "PGUSER", "password": "PGPASSWORD", "url": "DATABASE_URL"},
}

// exportLines renders outputs and secrets as POSIX shell export lines, sorted by variable name, with every
// value single-quoted so that no character in it is interpreted by the shell.
func exportLines(kind contract.Kind, outputs, secrets map[string]string) string {
	vars := map[string]string{}
	for _, m := range []map[string]string{outputs, secrets} {
		for k, v := range m {
			name := clientEnv[kind][k]
			if name == "" {
				name = envName(k)
			}
			vars[name] = v
		}
	}
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		b.WriteString("export " + name + "=" + shellQuote(vars[name]) + "\n")
	}
	return b.String()
}

// envName turns an output key (camelCase, or with dashes, dots or slashes) into an environment variable
// name: secretAccessKey is SECRET_ACCESS_KEY, set-with is SET_WITH.
func envName(key string) string {
	var b strings.Builder
	prev := '_'
	for _, r := range key {
		switch {
		case unicode.IsUpper(r) && (unicode.IsLower(prev) || unicode.IsDigit(prev)):
			b.WriteByte('_')
			b.WriteRune(r)
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(unicode.ToUpper(r))
		default:
			r = '_'
			b.WriteByte('_')
		}
		prev = r
	}
	name := b.String()
	if name == "" || unicode.IsDigit(rune(name[0])) {
		name = "_" + name
	}
	return name
}

// shellQuote quotes s for a POSIX shell: inside single quotes nothing is special but the single quote,
// written as '\”.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
