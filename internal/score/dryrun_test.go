package score

import (
	"context"
	"maps"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/kubetest"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// TestServerSideDryRun applies every rendered manifest of every scenario to a real kube-apiserver with
// server-side apply and dryRun=All, in namespaces that enforce the restricted Pod Security Standard, so the
// API server's validation and admission judge them. Deployments must draw no PodSecurity warning and their
// pods must be admitted. It skips when kube-apiserver is not built, except under CI=true, where it builds it.
func TestServerSideDryRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, cfg := kubetest.Run(t)
	k := kubetest.NewCluster(t, cfg)
	k.InstallCRD(t, ctx, "argoproj.io", "v1alpha1", "Application", "applications", "Namespaced")
	createNamespace(t, ctx, k, DefaultArgoCDNamespace)

	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			objs := clusterObjects(t, sc.render(t))
			createNamespace(t, ctx, k, sc.in.Namespace)
			for _, o := range objs {
				warnings, err := k.DryRunApply(ctx, o.Obj, fieldManager)
				if err != nil {
					t.Errorf("%s: %s %s/%s rejected by the API server: %v", o.File, o.Obj.GetKind(), o.Obj.GetNamespace(), o.Obj.GetName(), err)
				}
				for _, w := range warnings {
					if strings.Contains(w, `"`+ApplicationFinalizer+`": prefer a domain-qualified finalizer name`) {
						continue // Argo CD's own finalizer name, which its documentation asks for
					}
					t.Errorf("%s: %s %s: API server warning: %s", o.File, o.Obj.GetKind(), o.Obj.GetName(), w)
				}
				if o.Obj.GetKind() == "Deployment" {
					if err := dryRunPod(ctx, k, o.Obj); err != nil {
						t.Errorf("%s: a pod of Deployment %s is not admitted under restricted Pod Security: %v", o.File, o.Obj.GetName(), err)
					}
				}
			}
			k.AssertNothingPersisted(t, ctx, objs)
		})
	}

	// The checks above can fail: the same server refuses what breaks its rules.
	deployment := func(t *testing.T) *unstructured.Unstructured {
		for _, o := range clusterObjects(t, scenarios()[0].render(t)) {
			if o.Obj.GetKind() == "Deployment" {
				return o.Obj
			}
		}
		t.Fatal("no Deployment rendered")
		return nil
	}
	t.Run("refuses a pod that may run as root", func(t *testing.T) {
		dep := deployment(t)
		unstructured.RemoveNestedField(dep.Object, "spec", "template", "spec", "securityContext", "runAsNonRoot")
		unstructured.RemoveNestedField(dep.Object, "spec", "template", "spec", "securityContext", "runAsUser")
		c := containerAt(t, dep, 0)
		delete(c["securityContext"].(map[string]any), "runAsNonRoot")
		setContainer(t, dep, 0, c)
		warnings, err := k.DryRunApply(ctx, dep, fieldManager)
		if err != nil || !slices.ContainsFunc(warnings, func(w string) bool { return strings.Contains(w, "PodSecurity") }) {
			t.Errorf("got warnings %q, error %v; want a PodSecurity warning", warnings, err)
		}
		if err := dryRunPod(ctx, k, dep); !apierrors.IsForbidden(err) {
			t.Errorf("got %v, want the pod forbidden by PodSecurity", err)
		}
	})
	t.Run("refuses an invalid port", func(t *testing.T) {
		dep := deployment(t)
		c := containerAt(t, dep, 0)
		c["ports"] = []any{map[string]any{"containerPort": int64(70000)}}
		setContainer(t, dep, 0, c)
		if _, err := k.DryRunApply(ctx, dep, fieldManager); !apierrors.IsInvalid(err) {
			t.Errorf("got %v, want containerPort 70000 refused as Invalid", err)
		}
	})
}

func containerAt(t *testing.T, dep *unstructured.Unstructured, i int) map[string]any {
	t.Helper()
	cs, _, err := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	if err != nil || len(cs) <= i {
		t.Fatalf("no container %d: %v", i, err)
	}
	return cs[i].(map[string]any)
}

func setContainer(t *testing.T, dep *unstructured.Unstructured, i int, c map[string]any) {
	t.Helper()
	cs, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	cs[i] = c
	if err := unstructured.SetNestedSlice(dep.Object, cs, "spec", "template", "spec", "containers"); err != nil {
		t.Fatal(err)
	}
}

const fieldManager = "goldenpath-score-test"

// dryRunPod creates, as a dry run, a pod from a Deployment's template: Pod Security enforcement judges pods.
func dryRunPod(ctx context.Context, k *kubetest.Cluster, dep *unstructured.Unstructured) error {
	tmpl, _, err := unstructured.NestedMap(dep.Object, "spec", "template")
	if err != nil {
		return err
	}
	pod := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": tmpl["metadata"], "spec": tmpl["spec"]}}
	pod.SetName(dep.GetName() + "-dry-run")
	pod.SetNamespace(dep.GetNamespace())
	pods := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	_, err = k.Dyn.Resource(pods).Namespace(dep.GetNamespace()).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	return err
}

// createNamespace creates (for real) a namespace enforcing the restricted Pod Security Standard, with the
// default service account pod admission looks for (no controller manager runs to create it).
func createNamespace(t *testing.T, ctx context.Context, k *kubetest.Cluster, name string) {
	t.Helper()
	k.CreateNamespace(t, ctx, name, map[string]any{"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted"})
	sa := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": "default"}}}
	saRes := schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
	if _, err := k.Dyn.Resource(saRes).Namespace(name).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating the default service account in %s: %v", name, err)
	}
}

// clusterObjects reads the API objects of the rendered files as Argo CD would apply them: each file decoded
// strictly first, the kustomization's image pin applied to the Deployment, the kustomization itself left
// out (it is kustomize's input, not an API object).
func clusterObjects(t *testing.T, files map[string][]byte) []kubetest.Object {
	t.Helper()
	var out []kubetest.Object
	var images []KustomizeImage
	for _, p := range slices.Sorted(maps.Keys(files)) {
		objs, err := Decode(p, files[p])
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if path.Base(p) == KustomizationFile {
			images = objs[0].(*Kustomization).Images
			continue
		}
		js, err := yaml.YAMLToJSON(files[p])
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(js); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out = append(out, kubetest.Object{File: p, Obj: u})
	}
	for _, o := range out {
		if o.Obj.GetKind() == "Deployment" {
			pinImages(t, o.Obj, images)
		}
	}
	return out
}

// pinImages does what kustomize's images transformer does to the Deployment. kustomize itself cannot run
// here: the overlay also lists the Ingress that internal/edge renders, which this package's render lacks.
func pinImages(t *testing.T, dep *unstructured.Unstructured, images []KustomizeImage) {
	t.Helper()
	cs, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	for i, c := range cs {
		m := c.(map[string]any)
		for _, img := range images {
			if m["image"] != img.Name {
				continue
			}
			ref := img.NewName + ":" + img.NewTag
			if img.Digest != "" {
				ref = img.NewName + "@" + img.Digest
			}
			m["image"] = ref
		}
		cs[i] = m
	}
	if err := unstructured.SetNestedSlice(dep.Object, cs, "spec", "template", "spec", "containers"); err != nil {
		t.Fatal(err)
	}
}
