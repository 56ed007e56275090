package aws

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/reconcile"
)

// repoNames counts the names handed out: kumo may keep repositories process-wide, and -count runs a test again.
var repoNames atomic.Int64

// repoName is a repository-name-safe name unique to this test run.
func repoName(t *testing.T) string {
	n := strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-"))
	return fmt.Sprintf("%s-%d", strings.Trim(n, "-"), repoNames.Add(1))
}

type recorder struct {
	steps  []string
	events []string
}

func (r *recorder) Step(_ context.Context, name string) error {
	r.steps = append(r.steps, name)
	return nil
}
func (r *recorder) Event(_ context.Context, reason, msg string) {
	r.events = append(r.events, reason+": "+msg)
}

func ecrRequest(t *testing.T) *contract.Request {
	return &contract.Request{Kind: contract.ECR, Metadata: contract.Metadata{Name: repoName(t), Owner: "alice", Team: "payments",
		Environment: "dev", Labels: map[string]string{"app": "checkout"}}, Spec: contract.Spec{Size: "small", ScanOnPush: true, TagImmutability: true}}
}

func ecrPlatform() *platform.Config {
	return &platform.Config{SizeClasses: platform.SizeClasses{ECR: map[string]platform.ECRSize{"small": {MaxImages: 25}}}}
}

func TestECRCreatesTheRepository(t *testing.T) {
	ctx := context.Background()
	api, fake := ecrClient(t)
	r := ecrRequest(t)
	p := NewECR(api, Config{Region: "us-east-1", Tags: map[string]string{"cost-center": "42", TagTeam: "not-this"}})
	out, err := p.Apply(ctx, r, ecrPlatform(), &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	name := RepositoryName(r)
	if !strings.HasSuffix(out["repositoryUri"], "/"+name) || out["registryId"] == "" || out["repository"] != name {
		t.Errorf("outputs: got %v, want the repository URI ending in /%s and a registry ID", out, name)
	}
	desc, err := api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	repo := desc.Repositories[0]
	if repo.ImageTagMutability != types.ImageTagMutabilityImmutable || repo.ImageScanningConfiguration == nil || !repo.ImageScanningConfiguration.ScanOnPush {
		t.Errorf("settings: got mutability %s, scanning %+v; want IMMUTABLE and scan on push", repo.ImageTagMutability, repo.ImageScanningConfiguration)
	}
	if repo.EncryptionConfiguration == nil || repo.EncryptionConfiguration.EncryptionType != types.EncryptionTypeAes256 {
		t.Errorf("encryption: got %+v, want AES256 when no KMS key is configured", repo.EncryptionConfiguration)
	}
	tags, err := api.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: repo.RepositoryArn})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{TagRequestID: string(r.ID()), TagOwner: "alice", TagTeam: "payments", TagEnvironment: "dev", TagApp: "checkout", "cost-center": "42"}
	if got := tagMap(tags.Tags); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tags: got %v, want %v (goldenpath's own tags win over the configured ones)", got, want)
	}
	pol, err := api.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(aws.ToString(pol.LifecyclePolicyText), `"countNumber":25`) {
		t.Errorf("lifecycle policy: got %s, want one keeping 25 images (size class small)", aws.ToString(pol.LifecyclePolicyText))
	}
	if n := fake.Calls("CreateRepository"); n != 1 {
		t.Errorf("CreateRepository calls: got %d, want 1", n)
	}
}

func TestECRUsesTheConfiguredKMSKey(t *testing.T) {
	ctx := context.Background()
	api, _ := ecrClient(t)
	r := ecrRequest(t)
	key := "arn:aws:kms:us-east-1:000000000000:key/1234"
	if _, err := NewECR(api, Config{KMSKey: key}).Apply(ctx, r, ecrPlatform(), &recorder{}); err != nil {
		t.Fatal(err)
	}
	desc, err := api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{RepositoryName(r)}})
	if err != nil {
		t.Fatal(err)
	}
	if e := desc.Repositories[0].EncryptionConfiguration; e == nil || e.EncryptionType != types.EncryptionTypeKms || aws.ToString(e.KmsKey) != key {
		t.Errorf("encryption: got %+v, want KMS with %s", e, key)
	}
}

func TestECRAdoptsItsOwnRepositoryOnRerun(t *testing.T) {
	ctx := context.Background()
	api, fake := ecrClient(t)
	r := ecrRequest(t)
	p := NewECR(api, Config{})
	first, err := p.Apply(ctx, r, ecrPlatform(), &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	again, err := p.Apply(ctx, r, ecrPlatform(), rec)
	if err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	if n := fake.Calls("CreateRepository"); n != 1 {
		t.Errorf("CreateRepository calls after two Applies: got %d, want 1 (the second adopts)", n)
	}
	if fmt.Sprint(first) != fmt.Sprint(again) {
		t.Errorf("outputs: first %v, second %v; want the same", first, again)
	}
	for _, s := range rec.steps {
		if strings.HasPrefix(s, "create") {
			t.Errorf("second Apply recorded step %q; want no create step", s)
		}
	}
}

func TestECRRefusesARepositoryItDidNotCreate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tags  []types.Tag
		owner string
	}{
		{"another request's", []types.Tag{{Key: aws.String(TagRequestID), Value: aws.String("ECRRequest/dev/someone-else")}}, "ECRRequest/dev/someone-else"},
		{"untagged", nil, "nobody"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			api, fake := ecrClient(t)
			r := ecrRequest(t)
			name := RepositoryName(r)
			if _, err := api.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(name), Tags: tc.tags}); err != nil {
				t.Fatal(err)
			}
			_, err := NewECR(api, Config{}).Apply(ctx, r, ecrPlatform(), &recorder{})
			var re *reconcile.Error
			if !errors.As(err, &re) || re.Class != reconcile.ClassPermanent || re.Reason != "NameTaken" || !strings.Contains(err.Error(), tc.owner) {
				t.Fatalf("Apply over a %s repository: got %v, want a permanent NameTaken naming %s", tc.name, err, tc.owner)
			}
			if n := fake.Calls("CreateRepository"); n != 1 {
				t.Errorf("CreateRepository calls: got %d, want only the test's own", n)
			}
			if n := fake.Calls("PutLifecyclePolicy") + fake.Calls("PutImageTagMutability") + fake.Calls("PutImageScanningConfiguration"); n != 0 {
				t.Errorf("calls changing the repository: got %d, want none (never take it over)", n)
			}
			// Deleting the request leaves the other owner's repository alone.
			if err := NewECR(api, Config{}).Delete(ctx, r, ecrPlatform(), &recorder{}); err != nil {
				t.Fatal(err)
			}
			if _, err := api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{name}}); err != nil {
				t.Errorf("the other owner's repository after Delete: %v; want it still there", err)
			}
		})
	}
}

func TestECRDeletes(t *testing.T) {
	ctx := context.Background()
	api, _ := ecrClient(t)
	r := ecrRequest(t)
	p := NewECR(api, Config{})
	if err := p.Delete(ctx, r, ecrPlatform(), &recorder{}); err != nil {
		t.Fatalf("deleting a repository that does not exist: %v; want success", err)
	}
	if _, err := p.Apply(ctx, r, ecrPlatform(), &recorder{}); err != nil {
		t.Fatal(err)
	}
	if err := p.Delete(ctx, r, ecrPlatform(), &recorder{}); err != nil {
		t.Fatal(err)
	}
	_, err := api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{RepositoryName(r)}})
	var nf *types.RepositoryNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("after Delete: got %v, want RepositoryNotFoundException", err)
	}
	if err := p.Delete(ctx, r, ecrPlatform(), &recorder{}); err != nil {
		t.Errorf("deleting again: %v; want success", err)
	}
}

func TestECRRemovesTheLifecyclePolicyWhenUnlimited(t *testing.T) {
	ctx := context.Background()
	api, _ := ecrClient(t)
	r := ecrRequest(t)
	p := NewECR(api, Config{})
	if _, err := p.Apply(ctx, r, ecrPlatform(), &recorder{}); err != nil {
		t.Fatal(err)
	}
	unlimited := &platform.Config{}
	for range 2 { // the second time there is no policy to remove, which is not an error
		if _, err := p.Apply(ctx, r, unlimited, &recorder{}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := api.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(RepositoryName(r))})
	var nf *types.LifecyclePolicyNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("lifecycle policy after applying a size class without maxImages: got %v, want none", err)
	}
}

func TestAWSErrorClasses(t *testing.T) {
	for _, tc := range []struct {
		err    error
		class  reconcile.Class
		reason string
	}{
		{&smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no", Fault: smithy.FaultClient}, reconcile.ClassPermanent, "AWSAccessDeniedException"},
		{&smithy.GenericAPIError{Code: "ThrottlingException", Message: "slow down", Fault: smithy.FaultClient}, reconcile.ClassTransient, "AWSError"},
		{&smithy.GenericAPIError{Code: "ServerException", Message: "oops", Fault: smithy.FaultServer}, reconcile.ClassTransient, "AWSError"},
		{errors.New("connection refused"), reconcile.ClassTransient, "AWSError"},
	} {
		var re *reconcile.Error
		if err := awsError(tc.err, "creating %s", "x"); !errors.As(err, &re) || re.Class != tc.class || re.Reason != tc.reason || !strings.Contains(err.Error(), "creating x") {
			t.Errorf("%v: got %v (%+v), want class %v reason %s", tc.err, err, re, tc.class, tc.reason)
		}
	}
}

func TestECRUpdatesAnAdoptedRepository(t *testing.T) {
	ctx := context.Background()
	api, fake := ecrClient(t)
	r := ecrRequest(t)
	p := NewECR(api, Config{})
	if _, err := p.Apply(ctx, r, ecrPlatform(), &recorder{}); err != nil {
		t.Fatal(err)
	}
	r.Spec.TagImmutability, r.Spec.ScanOnPush = false, false
	rec := &recorder{}
	if _, err := p.Apply(ctx, r, ecrPlatform(), rec); err != nil {
		t.Fatal(err)
	}
	desc, err := api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{RepositoryName(r)}})
	if err != nil {
		t.Fatal(err)
	}
	if repo := desc.Repositories[0]; repo.ImageTagMutability != types.ImageTagMutabilityMutable || repo.ImageScanningConfiguration == nil || repo.ImageScanningConfiguration.ScanOnPush {
		t.Errorf("after the change: got mutability %s, scanning %+v; want MUTABLE and no scan on push", repo.ImageTagMutability, repo.ImageScanningConfiguration)
	}
	if fake.Calls("PutImageTagMutability") != 1 || fake.Calls("PutImageScanningConfiguration") != 1 || fake.Calls("CreateRepository") != 1 {
		t.Errorf("calls: %v; want one create, one PutImageTagMutability, one PutImageScanningConfiguration", fake.allCalls())
	}
	// Applying again with nothing changed makes no update call.
	if _, err := p.Apply(ctx, r, ecrPlatform(), &recorder{}); err != nil {
		t.Fatal(err)
	}
	if fake.Calls("PutImageTagMutability") != 1 || fake.Calls("PutImageScanningConfiguration") != 1 {
		t.Errorf("calls after an unchanged apply: %v; want no further update", fake.allCalls())
	}
	// A KMS key configured later cannot change the repository: the event says so.
	rec = &recorder{}
	if _, err := NewECR(api, Config{KMSKey: "alias/gp"}).Apply(ctx, r, ecrPlatform(), rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.events) != 1 || !strings.HasPrefix(rec.events[0], "EncryptionUnchanged") {
		t.Errorf("events: got %q, want EncryptionUnchanged", rec.events)
	}
}

func TestECRRetagsAnAdoptedRepository(t *testing.T) {
	ctx := context.Background()
	api, fake := ecrClient(t)
	r := ecrRequest(t)
	cfg := Config{Tags: map[string]string{"cost-center": "42"}}
	if _, err := NewECR(api, cfg).Apply(ctx, r, ecrPlatform(), &recorder{}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewECR(api, cfg).Apply(ctx, r, ecrPlatform(), &recorder{}); err != nil {
		t.Fatal(err)
	}
	if n := fake.Calls("TagResource"); n != 0 {
		t.Errorf("TagResource calls with the tags unchanged: got %d, want 0", n)
	}
	before := NewECR(api, cfg).ConfigKey(r, ecrPlatform())
	r.Metadata.Team = "search"
	cfg = Config{Tags: map[string]string{"cost-center": "43"}}
	if NewECR(api, cfg).ConfigKey(r, ecrPlatform()) == before {
		t.Errorf("ConfigKey did not change with the extra tags; want a re-apply when they change")
	}
	if _, err := NewECR(api, cfg).Apply(ctx, r, ecrPlatform(), &recorder{}); err != nil {
		t.Fatal(err)
	}
	desc, err := api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{RepositoryName(r)}})
	if err != nil {
		t.Fatal(err)
	}
	tags, err := api.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: desc.Repositories[0].RepositoryArn})
	if err != nil {
		t.Fatal(err)
	}
	if m := tagMap(tags.Tags); m[TagTeam] != "search" || m["cost-center"] != "43" || m[TagRequestID] != string(r.ID()) {
		t.Errorf("tags after the team and the extra tag changed: got %v, want team search, cost-center 43", m)
	}
}
