package app

import (
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/goldenpathidp/goldenpath/internal/score"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

// fieldManager is goldenpath's name in server-side apply.
const fieldManager = "goldenpath"

// kubeApplier applies rendered overlays to a Kubernetes API (delivery.mode: apply) with server-side apply,
// pruning what it applied before and no longer renders.
type kubeApplier struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

// newKubeApplier connects to the cluster in the kubeconfig file.
func newKubeApplier(kubeconfig string) (*kubeApplier, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig %s: %w", kubeconfig, err)
	}
	// client-go's default (5 requests/s, bursts of 10) would hold a deploy's ten or so requests back for
	// seconds; a deploy is a short burst, so allow it while staying polite to the API server.
	cfg.QPS, cfg.Burst = 50, 100
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &kubeApplier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}, nil
}

// kube returns the applier, connecting on first use to GOLDENPATH_KUBECONFIG.
func (a *App) kube() (*kubeApplier, error) {
	a.delivery.mu.Lock()
	defer a.delivery.mu.Unlock()
	if a.delivery.kube != nil {
		return a.delivery.kube, nil
	}
	path := a.cfg.Getenv("GOLDENPATH_KUBECONFIG")
	if path == "" {
		return nil, errors.New("delivery.mode is apply but GOLDENPATH_KUBECONFIG is not set where goldenpath runs")
	}
	k, err := newKubeApplier(path)
	if err != nil {
		return nil, err
	}
	a.delivery.kube = k
	return k, nil
}

func (k *kubeApplier) resource(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	m, err := k.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		k.mapper.Reset()
		if m, err = k.mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			return nil, fmt.Errorf("the cluster does not serve %s: %w", gvk, err)
		}
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return k.dyn.Resource(m.Resource).Namespace(obj.GetNamespace()), nil
	}
	return k.dyn.Resource(m.Resource), nil
}

func (k *kubeApplier) apply(ctx context.Context, obj *unstructured.Unstructured) error {
	res, err := k.resource(obj)
	if err != nil {
		return err
	}
	_, err = res.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: fieldManager, Force: true})
	if err != nil {
		return fmt.Errorf("applying %s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

// overlayObjects builds an app's overlay from main with kustomize (sigs.k8s.io/kustomize/api, what
// `kustomize build` and Argo CD run): the rendered files, the image pin, and whatever bases and patches
// the platform team added by hand. The gitops tree is read from git into memory for the build.
func (a *App) overlayObjects(ctx context.Context, app, env string) ([]*unstructured.Unstructured, error) {
	files, err := a.Platform.ReadTree(ctx, "main", "gitops")
	if err != nil {
		return nil, err
	}
	fs := filesys.MakeFsInMemory()
	for _, f := range files {
		if err := fs.WriteFile("/"+f.Path, f.Content); err != nil {
			return nil, err
		}
	}
	dir := score.OverlayDir(env, app)
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, "/"+dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	out, err := resources.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	return decodeObjects(out)
}

func decodeObjects(b []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		if len(m) > 0 {
			out = append(out, &unstructured.Unstructured{Object: m})
		}
	}
}

// applyToKubernetes applies an app environment's overlay and prunes what goldenpath applied for the app
// before and no longer renders.
func (a *App) applyToKubernetes(ctx context.Context, app, env string) error {
	k, err := a.kube()
	if err != nil {
		return err
	}
	objs, err := a.overlayObjects(ctx, app, env)
	if err != nil {
		return err
	}
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": app}}}
	if err := k.apply(ctx, ns); err != nil {
		return err
	}
	applied := map[string]bool{}
	for _, o := range objs {
		if o.GetNamespace() == "" && o.GetKind() != "Namespace" {
			o.SetNamespace(app)
		}
		labels := o.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels["app.kubernetes.io/managed-by"], labels["goldenpath.io/app"] = fieldManager, app
		o.SetLabels(labels)
		if err := k.apply(ctx, o); err != nil {
			return err
		}
		applied[o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName()] = true
	}
	return k.prune(ctx, app, applied)
}

// prunable are the kinds an app's overlay holds.
var prunable = []schema.GroupVersionResource{
	{Group: "apps", Version: "v1", Resource: "deployments"}, {Version: "v1", Resource: "services"},
	{Version: "v1", Resource: "configmaps"}, {Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"},
}

func (k *kubeApplier) prune(ctx context.Context, app string, applied map[string]bool) error {
	sel := "app.kubernetes.io/managed-by=" + fieldManager + ",goldenpath.io/app=" + app
	for _, gvr := range prunable {
		list, err := k.dyn.Resource(gvr).Namespace(app).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return fmt.Errorf("listing %s to prune: %w", gvr.Resource, err)
		}
		for _, o := range list.Items {
			if applied[o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName()] {
				continue
			}
			if err := k.dyn.Resource(gvr).Namespace(app).Delete(ctx, o.GetName(), metav1.DeleteOptions{}); err != nil {
				return fmt.Errorf("pruning %s %s: %w", o.GetKind(), o.GetName(), err)
			}
		}
	}
	return nil
}

// Rollout is a Deployment's rollout as the API server reports it.
type Rollout struct {
	Image              string `json:"image"`
	Generation         int64  `json:"generation"`
	ObservedGeneration int64  `json:"observedGeneration"`
	Replicas           int64  `json:"replicas"`
	UpdatedReplicas    int64  `json:"updatedReplicas"`
	AvailableReplicas  int64  `json:"availableReplicas"`
	Healthy            bool   `json:"healthy"`
	Message            string `json:"message"`
}

// rollout reads an app's Deployment: healthy, as Argo CD judges it, when the controller has observed the
// latest generation and every replica is updated.
func (a *App) rollout(ctx context.Context, app string) (Rollout, error) {
	k, err := a.kube()
	if err != nil {
		return Rollout{}, err
	}
	d, err := k.dyn.Resource(prunable[0]).Namespace(app).Get(ctx, app, metav1.GetOptions{})
	if err != nil {
		return Rollout{}, err
	}
	var r Rollout
	cs, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if len(cs) > 0 {
		r.Image, _ = cs[0].(map[string]any)["image"].(string)
	}
	r.Generation = d.GetGeneration()
	r.ObservedGeneration, _, _ = unstructured.NestedInt64(d.Object, "status", "observedGeneration")
	r.Replicas, _, _ = unstructured.NestedInt64(d.Object, "spec", "replicas")
	r.UpdatedReplicas, _, _ = unstructured.NestedInt64(d.Object, "status", "updatedReplicas")
	r.AvailableReplicas, _, _ = unstructured.NestedInt64(d.Object, "status", "availableReplicas")
	r.Healthy = r.ObservedGeneration >= r.Generation && r.UpdatedReplicas == r.Replicas
	switch {
	case r.Healthy:
		r.Message = "rolled out"
	case r.ObservedGeneration < r.Generation:
		r.Message = fmt.Sprintf("waiting for the deployment controller to observe generation %d (observed %d)", r.Generation, r.ObservedGeneration)
	default:
		r.Message = fmt.Sprintf("%d of %d replicas updated", r.UpdatedReplicas, r.Replicas)
	}
	return r, nil
}
