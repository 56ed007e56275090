package aws

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/sivchari/kumo"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   Config
		field string
	}{
		{"no region", Config{}, "region"},
		{"bad account", Config{Region: "eu-west-1", Account: "12345"}, "account"},
		{"bad role", Config{Region: "eu-west-1", AssumeRole: assumeRole("goldenpath", "")}, "assumeRoleArn"},
		{"external id alone", Config{Region: "eu-west-1", AssumeRole: assumeRole("", "x")}, "externalId"},
		{"valid", Config{Region: "eu-west-1", Account: "123456789012", AssumeRole: assumeRole("arn:aws:iam::123456789012:role/gp", "x")}, ""},
	} {
		err := tc.cfg.Validate()
		if tc.field == "" && err != nil || tc.field != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.field+":")) {
			t.Errorf("%s: got %v, want an error about %q", tc.name, err, tc.field)
		}
	}
}

func assumeRole(arn, ext string) AssumeRole { return AssumeRole{ARN: arn, ExternalID: ext} }

// TestConfigAssumesTheRole checks that the credentials come from STS AssumeRole (kumo's), called with the
// configured role, external ID and the base credentials of the default chain.
func TestConfigAssumesTheRole(t *testing.T) {
	k := kumo.NewServer()
	t.Cleanup(k.Close)
	var mu sync.Mutex
	var form url.Values
	var auth string
	spy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		form, _ = url.ParseQuery(string(body))
		auth = r.Header.Get("Authorization")
		mu.Unlock()
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, k.URL+r.URL.RequestURI(), strings.NewReader(string(body)))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(spy.Close)

	c := Config{Region: "us-east-1", AssumeRole: assumeRole("arn:aws:iam::123456789012:role/goldenpath", "ext-42")}
	cfg, err := c.AWSConfig(context.Background(),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("BASEKEY", "base-secret", "")),
		config.WithBaseEndpoint(spy.URL))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if form.Get("Action") != "AssumeRole" || form.Get("RoleArn") != c.AssumeRole.ARN || form.Get("ExternalId") != "ext-42" || form.Get("RoleSessionName") != "goldenpath" {
		t.Errorf("STS call: got %v, want AssumeRole of %s with external ID ext-42", form, c.AssumeRole.ARN)
	}
	if !strings.Contains(auth, "Credential=BASEKEY/") {
		t.Errorf("STS call signed with %q, want the default chain's credentials (BASEKEY)", auth)
	}
	if creds.AccessKeyID == "" || creds.AccessKeyID == "BASEKEY" || !creds.CanExpire {
		t.Errorf("credentials: got %+v, want the assumed role's temporary ones", creds)
	}
}
