package aws

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/reconcile"
)

// awsEnv gives the SDK's default credential chain static keys, as a laptop's environment would.
func awsEnv(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// awsPlatform is platform.yaml with environment dev on backend aws at endpoint.
func awsPlatform(endpoint string) *platform.Config {
	pc := ecrPlatform()
	pc.Environments = []platform.Environment{{Name: "dev", Backend: platform.BackendAWS,
		AWS: &platform.AWS{Region: "us-east-1", Endpoint: endpoint, Tags: map[string]string{"cost-center": "42"}}}}
	return pc
}

func TestBackendProvisionsECRWithTheEnvironmentsSettings(t *testing.T) {
	awsEnv(t)
	ctx := context.Background()
	url, fake := ecrEndpoint(t)
	pc := awsPlatform(url)
	r := ecrRequest(t)
	p := Provisioners()[contract.ECR]
	out, err := p.Apply(ctx, r, pc, &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	name := RepositoryName(r)
	if !strings.HasSuffix(out["repositoryUri"], "/"+name) || out["registryId"] == "" || out["repository"] != name {
		t.Errorf("outputs: got %v, want the repository URI ending in /%s and a registry ID", out, name)
	}
	api := ecr.New(ecr.Options{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), BaseEndpoint: aws.String(url)})
	desc, err := api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{name}})
	if err != nil {
		t.Fatalf("the repository is not in the emulator: %v", err)
	}
	tags, err := api.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: desc.Repositories[0].RepositoryArn})
	if err != nil {
		t.Fatal(err)
	}
	if got := tagMap(tags.Tags); got["cost-center"] != "42" || got[TagRequestID] != string(r.ID()) {
		t.Errorf("tags: got %v, want the environment's cost-center=42 and the request ID", got)
	}
	// A second request in the same environment reuses the client; a re-apply adopts.
	if _, err := p.Apply(ctx, r, pc, &recorder{}); err != nil {
		t.Fatal(err)
	}
	if n := fake.Calls("CreateRepository"); n != 1 {
		t.Errorf("CreateRepository calls: got %d, want 1", n)
	}
	if b := p.(*ECRBackend); len(b.clients) != 1 {
		t.Errorf("cached clients: got %d, want 1 for one environment's settings", len(b.clients))
	}
	if err := p.Delete(ctx, r, pc, &recorder{}); err != nil {
		t.Fatal(err)
	}
	if n := fake.Calls("DeleteRepository"); n != 1 {
		t.Errorf("DeleteRepository calls: got %d, want 1", n)
	}
}

func TestBackendConfigKeyFollowsTheEnvironment(t *testing.T) {
	r := ecrRequest(t)
	p := Provisioners()[contract.ECR]
	a, b := awsPlatform("http://127.0.0.1:1"), awsPlatform("http://127.0.0.1:1")
	b.Environments[0].AWS.KMSKeyID = "alias/gp"
	if p.ConfigKey(r, a) == p.ConfigKey(r, b) {
		t.Errorf("ConfigKey did not change with the environment's kmsKeyId: %q", p.ConfigKey(r, a))
	}
	c := awsPlatform("http://127.0.0.1:1")
	c.Environments[0].AWS.AssumeRoleARN, c.Environments[0].AWS.ExternalID = "arn:aws:iam::123456789012:role/gp", "one"
	d := awsPlatform("http://127.0.0.1:1")
	d.Environments[0].AWS.AssumeRoleARN, d.Environments[0].AWS.ExternalID = "arn:aws:iam::123456789012:role/gp", "two"
	if p.ConfigKey(r, c) == p.ConfigKey(r, d) {
		t.Errorf("ConfigKey did not change with the environment's externalId: %q", p.ConfigKey(r, c))
	}
	if d := p.Describe(r, b); len(d) != 1 || !strings.Contains(d[0].Settings[3].Value, "alias/gp") {
		t.Errorf("Describe: got %+v, want the environment's KMS key", d)
	}
}

func TestBackendRefusesAnEnvironmentWithoutAWSSettings(t *testing.T) {
	r := ecrRequest(t)
	pc := ecrPlatform()
	pc.Environments = []platform.Environment{{Name: "dev", Backend: platform.BackendAWS}}
	_, err := Provisioners()[contract.ECR].Apply(context.Background(), r, pc, &recorder{})
	var e *reconcile.Error
	if !errors.As(err, &e) || e.Class != reconcile.ClassPermanent || !strings.Contains(e.Message, "aws.region") {
		t.Fatalf("got %v, want a permanent error naming aws.region", err)
	}
}

func TestBackendRefusesOtherKinds(t *testing.T) {
	ps := Provisioners()
	for _, k := range contract.Kinds() {
		if k.Kind == contract.ECR {
			continue
		}
		p, ok := ps[k.Kind]
		if !ok {
			t.Errorf("%s: no provisioner", k.Kind)
			continue
		}
		r := &contract.Request{Kind: k.Kind, Metadata: contract.Metadata{Name: "web", Environment: "dev", Owner: "alice", Team: "payments"}}
		_, err := p.Apply(context.Background(), r, awsPlatform("http://127.0.0.1:1"), &recorder{})
		var e *reconcile.Error
		if !errors.As(err, &e) || e.Class != reconcile.ClassPermanent || e.Reason != "NotProvisionableWithAWS" ||
			!strings.Contains(e.Message, string(k.Kind)+" is not yet provisionable with backend aws; use backend local for this environment") {
			t.Errorf("%s: got %v, want the permanent NotProvisionableWithAWS error", k.Kind, err)
		}
		if err := p.Delete(context.Background(), r, awsPlatform("http://127.0.0.1:1"), &recorder{}); err != nil {
			t.Errorf("%s: Delete: %v, want nil (nothing was created)", k.Kind, err)
		}
	}
}
