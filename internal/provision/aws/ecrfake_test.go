package aws

import (
	"bytes"
	"context"
	"encoding/json"
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
// answers no tags). It speaks the AWS JSON 1.1 protocol for the tag calls itself, remembers the tags given
// to CreateRepository, forgets them on DeleteRepository, forwards every other call to kumo, and counts
// the calls per operation.
type ecrTagger struct {
	kumo string // kumo's base URL

	mu    sync.Mutex
	tags  map[string]map[string]string // repository ARN -> tags
	calls map[string]int
}

type fakeTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// ecrClient returns the real SDK client talking to kumo through an ecrTagger.
func ecrClient(t *testing.T) (*ecr.Client, *ecrTagger) {
	t.Helper()
	k := kumo.NewServer()
	t.Cleanup(k.Close)
	f := &ecrTagger{kumo: k.URL, tags: map[string]map[string]string{}, calls: map[string]int{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return ecr.New(ecr.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(srv.URL),
	}), f
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
	for k, v := range header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write(resp)
	if status != http.StatusOK {
		return
	}
	var out struct {
		Repository struct {
			RepositoryArn string `json:"repositoryArn"`
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
			f.mu.Unlock()
		}
	}
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

// TestECRTaggerSpeaksTheSDKShapes drives the fake's tag calls with the SDK's own serializers and
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
	if _, err := api.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	got, err = api.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: arn})
	if err != nil || len(got.Tags) != 0 {
		t.Errorf("tags after delete: got %v, %v; want none", got, err)
	}
}
