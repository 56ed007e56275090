package aws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/sivchari/kumo"
)

// ecrTagger sits in front of kumo, whose ECR accepts tags and forgets them (its ListTagsForResource always
// answers no tags) and has no PutImageTagMutability or PutImageScanningConfiguration. It speaks the AWS
// JSON 1.1 protocol for those calls itself: it remembers the tags given to CreateRepository, forgets them
// on DeleteRepository, and lays the settings changed later over kumo's DescribeRepositories answers. It
// forwards every other call to kumo and counts the calls per operation.
type ecrTagger struct {
	kumo string // kumo's base URL

	mu    sync.Mutex
	tags  map[string]map[string]string // repository ARN -> tags
	later map[string]map[string]any    // repository name -> settings changed after creation
	calls map[string]int
}

type fakeTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// ecrClient returns the real SDK client talking to kumo through an ecrTagger.
func ecrClient(t *testing.T) (*ecr.Client, *ecrTagger) {
	t.Helper()
	url, f := ecrEndpoint(t)
	return ecr.New(ecr.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(url),
	}), f
}

// ecrEndpoint starts kumo behind an ecrTagger and returns the tagger's URL, an ECR endpoint.
func ecrEndpoint(t *testing.T) (string, *ecrTagger) {
	t.Helper()
	k := kumo.NewServer()
	t.Cleanup(k.Close)
	f := &ecrTagger{kumo: k.URL, tags: map[string]map[string]string{}, later: map[string]map[string]any{}, calls: map[string]int{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv.URL, f
}

// Calls is how many times op was called.
func (f *ecrTagger) Calls(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// decode reads a request body strictly, so that a member the SDK sends and the fake does not know fails.
func decode(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeAWSError(w http.ResponseWriter, code, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"__type": code, "message": msg})
}

func (f *ecrTagger) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonEC2ContainerRegistry_V20150921.")
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeAWSError(w, "ValidationException", err.Error())
		return
	}
	f.mu.Lock()
	f.calls[op]++
	f.mu.Unlock()
	switch op {
	case "TagResource":
		var in struct {
			ResourceArn string    `json:"resourceArn"`
			Tags        []fakeTag `json:"tags"`
		}
		if err := decode(body, &in); err != nil {
			writeAWSError(w, "ValidationException", err.Error())
			return
		}
		f.setTags(in.ResourceArn, in.Tags)
		writeJSON(w, http.StatusOK, struct{}{})
		return
	case "UntagResource":
		var in struct {
			ResourceArn string   `json:"resourceArn"`
			TagKeys     []string `json:"tagKeys"`
		}
		if err := decode(body, &in); err != nil {
			writeAWSError(w, "ValidationException", err.Error())
			return
		}
		f.mu.Lock()
		for _, k := range in.TagKeys {
			delete(f.tags[in.ResourceArn], k)
		}
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, struct{}{})
		return
	case "PutImageTagMutability", "PutImageScanningConfiguration":
		var in struct {
			RegistryID                 string `json:"registryId"`
			RepositoryName             string `json:"repositoryName"`
			ImageTagMutability         string `json:"imageTagMutability,omitempty"`
			ImageScanningConfiguration *struct {
				ScanOnPush bool `json:"scanOnPush"`
			} `json:"imageScanningConfiguration,omitempty"`
		}
		if err := decode(body, &in); err != nil {
			writeAWSError(w, "ValidationException", err.Error())
			return
		}
		f.mu.Lock()
		if f.later[in.RepositoryName] == nil {
			f.later[in.RepositoryName] = map[string]any{}
		}
		if in.ImageTagMutability != "" {
			f.later[in.RepositoryName]["imageTagMutability"] = in.ImageTagMutability
		}
		if in.ImageScanningConfiguration != nil {
			f.later[in.RepositoryName]["imageScanningConfiguration"] = in.ImageScanningConfiguration
		}
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, in)
		return
	case "ListTagsForResource":
		var in struct {
			ResourceArn string `json:"resourceArn"`
		}
		if err := decode(body, &in); err != nil {
			writeAWSError(w, "ValidationException", err.Error())
			return
		}
		out := struct {
			Tags []fakeTag `json:"tags"`
		}{Tags: []fakeTag{}}
		f.mu.Lock()
		for k, v := range f.tags[in.ResourceArn] {
			out.Tags = append(out.Tags, fakeTag{Key: k, Value: v})
		}
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
		return
	}
	status, header, resp, err := f.forward(r, body)
	if err != nil {
		writeAWSError(w, "InternalFailure", err.Error())
		return
	}
	if status == http.StatusOK && op == "DescribeRepositories" && notFound(body, resp) {
		// AWS answers a lookup by name of a missing repository with an error; kumo with an empty list.
		writeAWSError(w, "RepositoryNotFoundException", "The repository does not exist in the registry.")
		return
	}
	if status == http.StatusOK && op == "DescribeRepositories" {
		resp = f.overlay(resp)
	}
	for k, v := range header {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(status)
	_, _ = w.Write(resp)
	if status != http.StatusOK {
		return
	}
	var out struct {
		Repository struct {
			RepositoryArn  string `json:"repositoryArn"`
			RepositoryName string `json:"repositoryName"`
		} `json:"repository"`
	}
	switch op {
	case "CreateRepository":
		var in struct {
			Tags []fakeTag `json:"tags"`
		}
		if json.Unmarshal(body, &in) == nil && json.Unmarshal(resp, &out) == nil {
			f.setTags(out.Repository.RepositoryArn, in.Tags)
		}
	case "DeleteRepository":
		if json.Unmarshal(resp, &out) == nil {
			f.mu.Lock()
			delete(f.tags, out.Repository.RepositoryArn)
			delete(f.later, out.Repository.RepositoryName)
			f.mu.Unlock()
		}
	}
}

// overlay lays the settings changed after creation over a DescribeRepositories answer.
func (f *ecrTagger) overlay(resp []byte) []byte {
	var out struct {
		Repositories []map[string]any `json:"repositories"`
		NextToken    string           `json:"nextToken,omitempty"`
	}
	if json.Unmarshal(resp, &out) != nil {
		return resp
	}
	f.mu.Lock()
	for _, r := range out.Repositories {
		name, _ := r["repositoryName"].(string)
		for k, v := range f.later[name] {
			r[k] = v
		}
	}
	f.mu.Unlock()
	b, err := json.Marshal(out)
	if err != nil {
		return resp
	}
	return b
}

func (f *ecrTagger) setTags(arn string, tags []fakeTag) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tags[arn] == nil {
		f.tags[arn] = map[string]string{}
	}
	for _, t := range tags {
		f.tags[arn][t.Key] = t.Value
	}
}

// forward passes the call to kumo; it returns kumo's answer.
func (f *ecrTagger) forward(r *http.Request, body []byte) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, f.kumo+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out, err
}

// notFound tells whether a DescribeRepositories by name answered fewer repositories than it named.
func notFound(body, resp []byte) bool {
	var in struct {
		RepositoryNames []string `json:"repositoryNames"`
	}
	var out struct {
		Repositories []json.RawMessage `json:"repositories"`
	}
	return json.Unmarshal(body, &in) == nil && json.Unmarshal(resp, &out) == nil && len(out.Repositories) < len(in.RepositoryNames)
}

func tagMap(tags []types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// TestECRTaggerSpeaksTheSDKShapes drives the fake's own calls with the SDK's own serializers and
// deserializers: a member name the fake got wrong fails the strict decode or comes back empty.
func TestECRTaggerSpeaksTheSDKShapes(t *testing.T) {
	ctx := context.Background()
	api, _ := ecrClient(t)
	name := repoName(t)
	created, err := api.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(name),
		Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := created.Repository.RepositoryArn
	if _, err := api.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: arn,
		Tags: []types.Tag{{Key: aws.String("b"), Value: aws.String("2")}, {Key: aws.String("c"), Value: aws.String("3")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.UntagResource(ctx, &ecr.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"c"}}); err != nil {
		t.Fatal(err)
	}
	got, err := api.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	if m := tagMap(got.Tags); len(m) != 2 || m["a"] != "1" || m["b"] != "2" {
		t.Errorf("tags after create with a=1, tag b=2 c=3, untag c: got %v, want a=1 b=2", m)
	}
	if _, err := api.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{RepositoryName: aws.String(name),
		ImageTagMutability: types.ImageTagMutabilityImmutable}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.PutImageScanningConfiguration(ctx, &ecr.PutImageScanningConfigurationInput{RepositoryName: aws.String(name),
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true}}); err != nil {
		t.Fatal(err)
	}
	desc, err := api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	if r := desc.Repositories[0]; r.ImageTagMutability != types.ImageTagMutabilityImmutable || r.ImageScanningConfiguration == nil ||
		!r.ImageScanningConfiguration.ScanOnPush || aws.ToString(r.RepositoryArn) != aws.ToString(arn) {
		t.Errorf("repository after PutImageTagMutability and PutImageScanningConfiguration: got %+v, want IMMUTABLE and scan on push", r)
	}
	if _, err := api.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	_, err = api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{name}})
	var nf *types.RepositoryNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("looking up a deleted repository: got %v, want RepositoryNotFoundException as AWS answers", err)
	}
	got, err = api.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: arn})
	if err != nil || len(got.Tags) != 0 {
		t.Errorf("tags after delete: got %v, %v; want none", got, err)
	}
}

// allCalls is a copy of the call counts.
func (f *ecrTagger) allCalls() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := make(map[string]int, len(f.calls))
	for k, v := range f.calls {
		m[k] = v
	}
	return m
}
