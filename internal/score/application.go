package score

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ApplicationFinalizer makes Argo CD delete an app's resources when its Application is deleted.
const ApplicationFinalizer = "resources-finalizer.argocd.argoproj.io"

// Application is argoproj.io/v1alpha1 Application with only the fields goldenpath renders, so rendering is
// checked by the compiler and Decode refuses anything else. Field names follow Argo CD's CRD.
type Application struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ApplicationSpec `json:"spec"`
}

// ApplicationSpec is what Argo CD deploys, from where, to where, and how it keeps it in sync.
type ApplicationSpec struct {
	Project     string                 `json:"project"`
	Source      ApplicationSource      `json:"source"`
	Destination ApplicationDestination `json:"destination"`
	SyncPolicy  *SyncPolicy            `json:"syncPolicy,omitempty"`
}

// ApplicationSource is a directory of a git repository at a revision (a kustomization here).
type ApplicationSource struct {
	RepoURL        string `json:"repoURL"`
	TargetRevision string `json:"targetRevision"`
	Path           string `json:"path"`
}

// ApplicationDestination is the cluster and namespace the app is deployed to.
type ApplicationDestination struct {
	Server    string `json:"server"`
	Namespace string `json:"namespace"`
}

// SyncPolicy is Argo CD's automated sync.
type SyncPolicy struct {
	Automated   *SyncPolicyAutomated `json:"automated,omitempty"`
	SyncOptions []string             `json:"syncOptions,omitempty"`
}

// SyncPolicyAutomated syncs on every change in git; Prune deletes what git no longer has and SelfHeal
// reverts changes made in the cluster.
type SyncPolicyAutomated struct {
	Prune    bool `json:"prune"`
	SelfHeal bool `json:"selfHeal"`
}

// ApplicationName is the name of an app's Application in an environment.
func ApplicationName(app, env string) string { return app + "-" + env }

// application renders the app's Application: automated sync with prune and self-heal from the app's
// overlay, the resources finalizer, and the image update annotations of the workload.
func (r *renderer) application() *Application {
	return &Application{
		TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Application"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        ApplicationName(r.app, r.in.Environment),
			Namespace:   r.in.ArgoCD.Namespace,
			Labels:      r.labels(),
			Annotations: r.w.applicationAnnotations(r.in.Image),
			Finalizers:  []string{ApplicationFinalizer},
		},
		Spec: ApplicationSpec{
			Project: r.in.ArgoCD.Project,
			Source: ApplicationSource{
				RepoURL:        r.in.ArgoCD.RepoURL,
				TargetRevision: r.in.ArgoCD.TargetRevision,
				Path:           OverlayDir(r.in.Environment, r.app),
			},
			Destination: ApplicationDestination{Server: r.in.ArgoCD.Server, Namespace: r.in.Namespace},
			SyncPolicy: &SyncPolicy{
				Automated:   &SyncPolicyAutomated{Prune: true, SelfHeal: true},
				SyncOptions: []string{"CreateNamespace=true"},
			},
		},
	}
}
