package edge

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/kubetest"
	"github.com/goldenpathidp/goldenpath/internal/manifest"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// TestServerSideDryRun applies every rendered manifest of every scenario to a real kube-apiserver with
// server-side apply and dryRun=All, so the API server's own validation (and its admission chain) judges
// them. It skips when the binary is not built, except under CI=true, where it builds it first.
func TestServerSideDryRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, cfg := kubetest.Run(t)
	k := kubetest.NewCluster(t, cfg)
	// Minimal CRDs for the custom kinds Render writes; their shape is checked by Decode.
	k.InstallCRD(t, ctx, "cert-manager.io", "v1", "ClusterIssuer", "clusterissuers", "Cluster")
	k.InstallCRD(t, ctx, "configuration.konghq.com", "v1", "KongPlugin", "kongplugins", "Namespaced")
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			files := renderScenario(t, sc.platform)
			objs := decodeUnstructured(t, files)
			for _, o := range objs { // the cluster's bootstrap owns the namespaces
				if ns := o.Obj.GetNamespace(); ns != "" {
					k.CreateNamespace(t, ctx, ns, nil)
				}
			}
			applied := 0
			for _, o := range objs {
				if _, err := k.DryRunApply(ctx, o.Obj, fieldManager); err != nil {
					t.Errorf("%s: %s %s/%s rejected by the API server: %v", o.File, o.Obj.GetKind(), o.Obj.GetNamespace(), o.Obj.GetName(), err)
					continue
				}
				applied++
			}
			t.Logf("%d objects from %d files accepted by server-side apply (dryRun=All)", applied, len(files))
			k.AssertNothingPersisted(t, ctx, objs)
		})
	}

	// The check above can fail: the same API server rejects a manifest that breaks its rules.
	t.Run("rejects an invalid Ingress", func(t *testing.T) {
		files := renderScenario(t, "platform-oss.yaml")
		var ing *unstructured.Unstructured
		for _, o := range decodeUnstructured(t, files) {
			if o.Obj.GetKind() == "Ingress" {
				ing = o.Obj
				break
			}
		}
		rules, _, _ := unstructured.NestedSlice(ing.Object, "spec", "rules")
		rules[0].(map[string]any)["host"] = "Not_A_Host"
		if err := unstructured.SetNestedSlice(ing.Object, rules, "spec", "rules"); err != nil {
			t.Fatal(err)
		}
		_, err := k.DryRunApply(ctx, ing, fieldManager)
		if !apierrors.IsInvalid(err) {
			t.Errorf("got %v, want the API server to refuse host Not_A_Host as Invalid", err)
		}
	})
}

const fieldManager = "goldenpath-edge-test"

// decodeUnstructured reads every Kubernetes object of the rendered files, strictly decoding each file first.
// Kustomizations are kustomize's input, not API objects, and are left out.
func decodeUnstructured(t *testing.T, files map[string][]byte) []kubetest.Object {
	t.Helper()
	var out []kubetest.Object
	for _, p := range slices.Sorted(maps.Keys(files)) {
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
			out = append(out, kubetest.Object{File: p, Obj: u})
		}
	}
	return out
}
