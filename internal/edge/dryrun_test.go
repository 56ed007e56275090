package edge

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/kubetest"
	"github.com/goldenpathidp/goldenpath/internal/manifest"
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
	"sigs.k8s.io/yaml"
)

// TestServerSideDryRun applies every rendered manifest of every scenario to a real kube-apiserver with
// server-side apply and dryRun=All, so the API server's own validation (and its admission chain) judges
// them. It skips when the binary is not built, except under CI=true, where it builds it first.
func TestServerSideDryRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, cfg := kubetest.Run(t)
	k := newKube(t, cfg)

	installCRDs(t, ctx, k)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			files := renderScenario(t, sc.platform)
			objs := decodeUnstructured(t, files)
			createNamespaces(t, ctx, k, objs)
			applied := 0
			for _, o := range objs {
				if err := k.dryRunApply(ctx, o.obj); err != nil {
					t.Errorf("%s: %s %s/%s rejected by the API server: %v", o.file, o.obj.GetKind(), o.obj.GetNamespace(), o.obj.GetName(), err)
					continue
				}
				applied++
			}
			t.Logf("%d objects from %d files accepted by server-side apply (dryRun=All)", applied, len(files))
			assertNothingPersisted(t, ctx, k, objs)
		})
	}

	// The check above can fail: the same API server rejects a manifest that breaks its rules.
	t.Run("rejects an invalid Ingress", func(t *testing.T) {
		files := renderScenario(t, "platform-oss.yaml")
		var ing *unstructured.Unstructured
		for _, o := range decodeUnstructured(t, files) {
			if o.obj.GetKind() == "Ingress" {
				ing = o.obj
				break
			}
		}
		rules, _, _ := unstructured.NestedSlice(ing.Object, "spec", "rules")
		rules[0].(map[string]any)["host"] = "Not_A_Host"
		if err := unstructured.SetNestedSlice(ing.Object, rules, "spec", "rules"); err != nil {
			t.Fatal(err)
		}
		err := k.dryRunApply(ctx, ing)
		if !apierrors.IsInvalid(err) {
			t.Errorf("got %v, want the API server to refuse host Not_A_Host as Invalid", err)
		}
	})
}

// kube is a dynamic client with a REST mapper that learns new kinds (the CRDs) when reset.
type kube struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

func newKube(t *testing.T, cfg *rest.Config) *kube {
	t.Helper()
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &kube{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}
}

func (k *kube) resource(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	m, err := k.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("mapping %s: %w", gvk, err)
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return k.dyn.Resource(m.Resource).Namespace(obj.GetNamespace()), nil
	}
	return k.dyn.Resource(m.Resource), nil
}

// dryRunApply is `kubectl apply --server-side --dry-run=server`.
func (k *kube) dryRunApply(ctx context.Context, obj *unstructured.Unstructured) error {
	res, err := k.resource(obj)
	if err != nil {
		return err
	}
	_, err = res.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{
		FieldManager: "goldenpath-edge-test", Force: true, DryRun: []string{metav1.DryRunAll},
	})
	return err
}

// installCRDs installs minimal CRDs for the custom kinds Render writes; their shape is checked by Decode.
func installCRDs(t *testing.T, ctx context.Context, k *kube) {
	t.Helper()
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	for _, c := range []struct{ group, kind, plural, scope string }{
		{"cert-manager.io", "ClusterIssuer", "clusterissuers", "Cluster"},
		{"configuration.konghq.com", "KongPlugin", "kongplugins", "Namespaced"},
	} {
		crd := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apiextensions.k8s.io/v1",
			"kind":       "CustomResourceDefinition",
			"metadata":   map[string]any{"name": c.plural + "." + c.group},
			"spec": map[string]any{
				"group": c.group,
				"scope": c.scope,
				"names": map[string]any{"kind": c.kind, "plural": c.plural, "singular": strings.ToLower(c.kind), "listKind": c.kind + "List"},
				"versions": []any{map[string]any{
					"name": "v1", "served": true, "storage": true,
					"schema": map[string]any{"openAPIV3Schema": map[string]any{
						"type": "object", "x-kubernetes-preserve-unknown-fields": true,
					}},
				}},
			},
		}}
		if _, err := k.dyn.Resource(crds).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
			t.Fatalf("installing the %s CRD: %v", c.kind, err)
		}
		waitEstablished(t, ctx, k, crds, crd.GetName())
	}
	k.mapper.Reset()
}

func waitEstablished(t *testing.T, ctx context.Context, k *kube, crds schema.GroupVersionResource, name string) {
	t.Helper()
	for {
		crd, err := k.dyn.Resource(crds).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("reading CRD %s: %v", name, err)
		}
		conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, c := range conds {
			if m, _ := c.(map[string]any); m["type"] == "Established" && m["status"] == "True" {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("CRD %s not established: %v", name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type fileObject struct {
	file string
	obj  *unstructured.Unstructured
}

// decodeUnstructured reads every Kubernetes object of the rendered files, strictly decoding each file first.
// Kustomizations are kustomize's input, not API objects, and are left out.
func decodeUnstructured(t *testing.T, files map[string][]byte) []fileObject {
	t.Helper()
	var out []fileObject
	for _, p := range sortedKeys(files) {
		if _, err := Decode(p, files[p]); err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if filepath.Base(p) == "kustomization.yaml" {
			continue
		}
		docs, err := manifest.SplitDocuments(files[p])
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, doc := range docs {
			js, err := yaml.YAMLToJSON(doc)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			u := &unstructured.Unstructured{}
			if err := u.UnmarshalJSON(js); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			out = append(out, fileObject{file: p, obj: u})
		}
	}
	return out
}

// createNamespaces creates (for real) the namespaces the objects live in: the cluster's bootstrap owns them.
func createNamespaces(t *testing.T, ctx context.Context, k *kube, objs []fileObject) {
	t.Helper()
	nsRes := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	seen := map[string]bool{}
	for _, o := range objs {
		ns := o.obj.GetNamespace()
		if ns == "" || seen[ns] {
			continue
		}
		seen[ns] = true
		n := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns},
		}}
		if _, err := k.dyn.Resource(nsRes).Create(ctx, n, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("creating namespace %s: %v", ns, err)
		}
	}
}

// assertNothingPersisted checks that dryRun=All really was a dry run.
func assertNothingPersisted(t *testing.T, ctx context.Context, k *kube, objs []fileObject) {
	t.Helper()
	for _, o := range objs {
		res, err := k.resource(o.obj)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := res.Get(ctx, o.obj.GetName(), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s %s/%s: got %v after a dry run, want NotFound", o.obj.GetKind(), o.obj.GetNamespace(), o.obj.GetName(), err)
		}
	}
}
