package kubetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Cluster is a dynamic client for tests against the API server Run starts: its REST mapper learns the
// kinds InstallCRD adds, and it records the server's warnings (PodSecurity reports violations that way).
type Cluster struct {
	Dyn      dynamic.Interface
	mapper   *restmapper.DeferredDiscoveryRESTMapper
	warnings *warningRecorder
}

// Object is a decoded manifest with the rendered file it came from, for error messages.
type Object struct {
	File string
	Obj  *unstructured.Unstructured
}

// NewCluster returns a Cluster for cfg.
func NewCluster(t testing.TB, cfg *rest.Config) *Cluster {
	t.Helper()
	cfg = rest.CopyConfig(cfg)
	rec := &warningRecorder{}
	cfg.WarningHandler = rec
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &Cluster{Dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)), warnings: rec}
}

// Resource is the client for obj's kind, in obj's namespace if the kind is namespaced.
func (c *Cluster) Resource(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("mapping %s: %w", gvk, err)
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return c.Dyn.Resource(m.Resource).Namespace(obj.GetNamespace()), nil
	}
	return c.Dyn.Resource(m.Resource), nil
}

// DryRunApply is `kubectl apply --server-side --dry-run=server` as fieldManager; it returns the server's
// warnings.
func (c *Cluster) DryRunApply(ctx context.Context, obj *unstructured.Unstructured, fieldManager string) ([]string, error) {
	res, err := c.Resource(obj)
	if err != nil {
		return nil, err
	}
	c.warnings.take()
	_, err = res.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: fieldManager, Force: true, DryRun: []string{metav1.DryRunAll}})
	return c.warnings.take(), err
}

// InstallCRD installs a minimal CRD for kind, whose schema keeps unknown fields (the renderers' strict
// decoding is what checks the shape), waits until it is established, and lets the mapper learn it.
func (c *Cluster) InstallCRD(t testing.TB, ctx context.Context, group, version, kind, plural, scope string) {
	t.Helper()
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": plural + "." + group},
		"spec": map[string]any{
			"group": group,
			"scope": scope,
			"names": map[string]any{"kind": kind, "plural": plural, "singular": strings.ToLower(kind), "listKind": kind + "List"},
			"versions": []any{map[string]any{
				"name": version, "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
			}},
		},
	}}
	if _, err := c.Dyn.Resource(crds).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatalf("installing the %s CRD: %v", kind, err)
	}
	for {
		got, err := c.Dyn.Resource(crds).Get(ctx, crd.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Fatalf("reading CRD %s: %v", crd.GetName(), err)
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		if slices.ContainsFunc(conds, func(c any) bool {
			m, _ := c.(map[string]any)
			return m["type"] == "Established" && m["status"] == "True"
		}) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("CRD %s not established: %v", crd.GetName(), ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	c.mapper.Reset()
}

// CreateNamespace creates (for real) a namespace with labels; one that exists already is fine.
func (c *Cluster) CreateNamespace(t testing.TB, ctx context.Context, name string, labels map[string]any) {
	t.Helper()
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}}}
	if labels != nil {
		unstructured.SetNestedMap(ns.Object, labels, "metadata", "labels")
	}
	nsRes := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	if _, err := c.Dyn.Resource(nsRes).Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}

// AssertNothingPersisted checks that dryRun=All really was a dry run: none of objs exists.
func (c *Cluster) AssertNothingPersisted(t testing.TB, ctx context.Context, objs []Object) {
	t.Helper()
	for _, o := range objs {
		res, err := c.Resource(o.Obj)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := res.Get(ctx, o.Obj.GetName(), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s %s/%s: got %v after a dry run, want NotFound", o.Obj.GetKind(), o.Obj.GetNamespace(), o.Obj.GetName(), err)
		}
	}
}

// warningRecorder keeps the Warning headers of responses.
type warningRecorder struct {
	mu   sync.Mutex
	list []string
}

func (w *warningRecorder) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func (w *warningRecorder) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.list
	w.list = nil
	return out
}
