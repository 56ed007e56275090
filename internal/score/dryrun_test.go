package score

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/kubetest"
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
// server-side apply and dryRun=All, in namespaces that enforce the restricted Pod Security Standard, so the
// API server's validation and admission judge them. Deployments must draw no PodSecurity warning and their
// pods must be admitted. It skips when kube-apiserver is not built, except under CI=true, where it builds it.
func TestServerSideDryRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, cfg := kubetest.Run(t)
	k := newCluster(t, cfg)
	k.installApplicationCRD(t, ctx)
	k.createNamespace(t, ctx, DefaultArgoCDNamespace)

	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			objs := clusterObjects(t, sc.render(t))
			k.createNamespace(t, ctx, sc.in.Namespace)
			for _, o := range objs {
				warnings, err := k.dryRunApply(ctx, o.obj)
				if err != nil {
					t.Errorf("%s: %s %s/%s rejected by the API server: %v", o.file, o.obj.GetKind(), o.obj.GetNamespace(), o.obj.GetName(), err)
				}
				for _, w := range warnings {
					if strings.Contains(w, `"`+ApplicationFinalizer+`": prefer a domain-qualified finalizer name`) {
						continue // Argo CD's own finalizer name, which its documentation asks for
					}
					t.Errorf("%s: %s %s: API server warning: %s", o.file, o.obj.GetKind(), o.obj.GetName(), w)
				}
				if o.obj.GetKind() == "Deployment" {
					if err := k.dryRunPod(ctx, o.obj); err != nil {
						t.Errorf("%s: a pod of Deployment %s is not admitted under restricted Pod Security: %v", o.file, o.obj.GetName(), err)
					}
				}
			}
			k.assertNothingPersisted(t, ctx, objs)
		})
	}

	// The checks above can fail: the same server refuses what breaks its rules.
	deployment := func(t *testing.T) *unstructured.Unstructured {
		for _, o := range clusterObjects(t, scenarios()[0].render(t)) {
			if o.obj.GetKind() == "Deployment" {
				return o.obj
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
		warnings, err := k.dryRunApply(ctx, dep)
		if err != nil || !slices.ContainsFunc(warnings, func(w string) bool { return strings.Contains(w, "PodSecurity") }) {
			t.Errorf("got warnings %q, error %v; want a PodSecurity warning", warnings, err)
		}
		if err := k.dryRunPod(ctx, dep); !apierrors.IsForbidden(err) {
			t.Errorf("got %v, want the pod forbidden by PodSecurity", err)
		}
	})
	t.Run("refuses an invalid port", func(t *testing.T) {
		dep := deployment(t)
		c := containerAt(t, dep, 0)
		c["ports"] = []any{map[string]any{"containerPort": int64(70000)}}
		setContainer(t, dep, 0, c)
		if _, err := k.dryRunApply(ctx, dep); !apierrors.IsInvalid(err) {
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

// cluster is a dynamic client whose REST mapper learns new kinds when reset, and which collects the API
// server's warnings.
type cluster struct {
	dyn      dynamic.Interface
	mapper   *restmapper.DeferredDiscoveryRESTMapper
	warnings *warningRecorder
}

// warningRecorder keeps the Warning headers of responses (PodSecurity reports violations of workload
// resources this way).
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

func newCluster(t *testing.T, cfg *rest.Config) *cluster {
	t.Helper()
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
	return &cluster{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)), warnings: rec}
}

func (k *cluster) resource(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
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

// dryRunApply is kubectl apply --server-side --dry-run=server; it returns the server's warnings.
func (k *cluster) dryRunApply(ctx context.Context, obj *unstructured.Unstructured) ([]string, error) {
	res, err := k.resource(obj)
	if err != nil {
		return nil, err
	}
	k.warnings.take()
	_, err = res.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{
		FieldManager: "goldenpath-score-test", Force: true, DryRun: []string{metav1.DryRunAll},
	})
	return k.warnings.take(), err
}

// dryRunPod creates, as a dry run, a pod from a Deployment's template: Pod Security enforcement judges pods.
func (k *cluster) dryRunPod(ctx context.Context, dep *unstructured.Unstructured) error {
	tmpl, _, err := unstructured.NestedMap(dep.Object, "spec", "template")
	if err != nil {
		return err
	}
	pod := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": tmpl["metadata"], "spec": tmpl["spec"]}}
	pod.SetName(dep.GetName() + "-dry-run")
	pod.SetNamespace(dep.GetNamespace())
	pods := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	_, err = k.dyn.Resource(pods).Namespace(dep.GetNamespace()).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	return err
}

// installApplicationCRD installs a minimal Application CRD: its schema keeps unknown fields, as Decode is
// what checks the Application's shape.
func (k *cluster) installApplicationCRD(t *testing.T, ctx context.Context) {
	t.Helper()
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": "applications.argoproj.io"},
		"spec": map[string]any{
			"group": "argoproj.io",
			"scope": "Namespaced",
			"names": map[string]any{"kind": "Application", "plural": "applications", "singular": "application", "listKind": "ApplicationList"},
			"versions": []any{map[string]any{
				"name": "v1alpha1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
			}},
		},
	}}
	if _, err := k.dyn.Resource(crds).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatalf("installing the Application CRD: %v", err)
	}
	for {
		got, err := k.dyn.Resource(crds).Get(ctx, crd.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Fatalf("reading the Application CRD: %v", err)
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
			t.Fatalf("the Application CRD was not established: %v", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	k.mapper.Reset()
}

// createNamespace creates (for real) a namespace enforcing the restricted Pod Security Standard, with the
// default service account pod admission looks for (no controller manager runs to create it).
func (k *cluster) createNamespace(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{
		"name":   name,
		"labels": map[string]any{"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted"},
	}}}
	nsRes := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	if _, err := k.dyn.Resource(nsRes).Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	sa := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": "default"}}}
	saRes := schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
	if _, err := k.dyn.Resource(saRes).Namespace(name).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating the default service account in %s: %v", name, err)
	}
}

// assertNothingPersisted checks that dryRun=All really was a dry run.
func (k *cluster) assertNothingPersisted(t *testing.T, ctx context.Context, objs []clusterObject) {
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

type clusterObject struct {
	file string
	obj  *unstructured.Unstructured
}

// clusterObjects reads the API objects of the rendered files as Argo CD would apply them: each file decoded
// strictly first, the kustomization's image pin applied to the Deployment, the kustomization itself left
// out (it is kustomize's input, not an API object).
func clusterObjects(t *testing.T, files map[string][]byte) []clusterObject {
	t.Helper()
	var out []clusterObject
	var images []KustomizeImage
	for _, p := range sortedKeys(files) {
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
		out = append(out, clusterObject{file: p, obj: u})
	}
	for _, o := range out {
		if o.obj.GetKind() == "Deployment" {
			pinImages(t, o.obj, images)
		}
	}
	return out
}

// pinImages does what kustomize's images transformer does to the Deployment.
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
