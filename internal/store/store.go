// Package store declares goldenpath's observed state — users and tokens, change requests and reviews,
// request status with its timeline, the durable work queue, encrypted secrets and the audit log — as one
// interface with two implementations in mind: SQLite (package store/sqlite, the default) and PostgreSQL for
// production. Desired state is not here: it lives in the platform git repository.
package store

import (
	"context"
	"errors"
	"time"
)

var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrConflict = errors.New("changed concurrently")
	// ErrLeaseLost: the work item is gone or another owner leased it.
	ErrLeaseLost = errors.New("the work item's lease is held by another owner or the item is gone")
)

// Roles a user may hold.
const (
	RoleDeveloper = "developer"
	RoleApprover  = "approver"
	RoleAdmin     = "admin"
)

// User is a person (or robot) that signs in to goldenpath.
type User struct {
	Name        string    `json:"name"`
	DisplayName string    `json:"displayName,omitempty"`
	Email       string    `json:"email,omitempty"`
	Roles       []string  `json:"roles"`
	Teams       []string  `json:"teams"`
	CreatedAt   time.Time `json:"createdAt"`
}

// Token is an API token; only its hash is stored.
type Token struct {
	ID          string     `json:"id"`
	User        string     `json:"user"`
	Hash        []byte     `json:"-"`
	Description string     `json:"description,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	LastUsedAt  time.Time  `json:"lastUsedAt,omitzero"`
	ExpiresAt   *time.Time `json:"expiresAt,omitempty"`
}

// Change request states.
const (
	ChangeOpen     = "open"
	ChangeMerged   = "merged"
	ChangeRejected = "rejected"
	ChangeClosed   = "closed"
)

// Change is a change request: a branch of a forge repository proposed for merging into Base.
type Change struct {
	Number      int64     `json:"number"`
	Repo        string    `json:"repo"`
	Title       string    `json:"title"`
	Body        string    `json:"body,omitempty"`
	Branch      string    `json:"branch"`
	Base        string    `json:"base"`
	HeadSHA     string    `json:"headSHA"`
	Author      string    `json:"author"`
	State       string    `json:"state"`
	RequestIDs  []string  `json:"requestIds,omitempty"`
	MergedSHA   string    `json:"mergedSHA,omitempty"`
	ClosedBy    string    `json:"closedBy,omitempty"` // who merged, rejected or closed it
	CloseReason string    `json:"closeReason,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// ChangeFilter selects change requests; zero fields match everything.
type ChangeFilter struct {
	Repo      string
	State     string
	Author    string
	RequestID string
	Limit     int
}

// Review verdicts.
const (
	VerdictApproved = "approved"
	VerdictRejected = "rejected"
)

// Review is one reviewer's verdict on a change request at a given head.
type Review struct {
	Change    int64     `json:"change"`
	Reviewer  string    `json:"reviewer"`
	Verdict   string    `json:"verdict"`
	HeadSHA   string    `json:"headSHA"`
	Comment   string    `json:"comment,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// Comment is a remark on a change request.
type Comment struct {
	ID        int64     `json:"id"`
	Change    int64     `json:"change"`
	Author    string    `json:"author"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"createdAt"`
}

// Request phases.
const (
	PhasePending      = "Pending"      // proposed, waiting for its change request
	PhaseProvisioning = "Provisioning" // merged, being provisioned
	PhaseReady        = "Ready"
	PhaseFailed       = "Failed"
	PhaseDeleting     = "Deleting"
	PhaseDeleted      = "Deleted"
	PhaseRejected     = "Rejected" // its change request was rejected or closed before merging
)

// Condition is one aspect of a request's status, in the Kubernetes style.
type Condition struct {
	Type               string    `json:"type"`
	Status             string    `json:"status"` // True, False, Unknown
	Reason             string    `json:"reason"`
	Message            string    `json:"message"`
	LastTransitionTime time.Time `json:"lastTransitionTime"`
}

// Request is the observed state of one contract, keyed by its contract.ID.
type Request struct {
	ID           string            `json:"id"`
	Kind         string            `json:"kind"`
	Environment  string            `json:"environment"`
	Name         string            `json:"name"`
	Owner        string            `json:"owner"`
	Team         string            `json:"team"`
	Phase        string            `json:"phase"`
	Conditions   []Condition       `json:"conditions"`
	Spec         string            `json:"spec"`         // the contract document (YAML) last seen
	SpecHash     string            `json:"specHash"`     // hash of Spec
	ObservedHash string            `json:"observedHash"` // SpecHash of the last successful apply
	Outputs      map[string]string `json:"outputs,omitempty"`
	Change       int64             `json:"change,omitempty"` // the latest change request about it
	CreatedAt    time.Time         `json:"createdAt"`
	UpdatedAt    time.Time         `json:"updatedAt"`
}

// RequestFilter selects requests; zero fields match everything.
type RequestFilter struct {
	Kind        string
	Environment string
	Owner       string
	Team        string
	Phase       string
	Active      bool // leave out Deleted and Rejected
}

// Event types.
const (
	EventNormal  = "Normal"
	EventWarning = "Warning"
)

// Event is one entry of a request's timeline.
type Event struct {
	ID        int64     `json:"id"`
	RequestID string    `json:"requestId"`
	Time      time.Time `json:"time"`
	Type      string    `json:"type"`
	Reason    string    `json:"reason"`
	Message   string    `json:"message"`
	Actor     string    `json:"actor,omitempty"`
}

// Work actions.
const (
	ActionApply  = "apply"
	ActionDelete = "delete"
)

// WorkItem is a unit of the durable work queue: bring one request to its desired state. There is at most one
// item per request; enqueueing again bumps Generation, so a worker finishing an older generation does not
// drop newer work.
type WorkItem struct {
	RequestID  string
	Action     string
	SpecHash   string
	Generation int64
	Attempts   int
	NotBefore  time.Time
	LeaseOwner string
	LeaseUntil time.Time
	LastError  string
	CreatedAt  time.Time
}

// Secret is an encrypted value; the store never sees plaintext.
type Secret struct {
	Name       string
	Ciphertext []byte
	Version    int64
	UpdatedAt  time.Time
	UpdatedBy  string
}

// AuditEntry records who did what.
type AuditEntry struct {
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target"`
	Detail string    `json:"detail,omitempty"`
}

// Store is goldenpath's observed state.
type Store interface {
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, name string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	UpdateUser(ctx context.Context, u User) error

	CreateToken(ctx context.Context, t Token) error
	TokenByHash(ctx context.Context, hash []byte) (Token, error)
	TouchToken(ctx context.Context, id string, at time.Time) error
	DeleteToken(ctx context.Context, id string) error
	ListTokens(ctx context.Context, user string) ([]Token, error)
	// GetToken returns a token by its ID.
	GetToken(ctx context.Context, id string) (Token, error)
	// ChangeUser reads user name, lets fn change it and writes it back, in one transaction that also gives
	// fn every other user, so rules across users (keep one admin) hold when two changes race. Nothing is
	// written if fn fails; the name cannot change.
	ChangeUser(ctx context.Context, name string, fn func(u *User, others []User) error) (User, error)
	// DeleteUser deletes user name and all their tokens in one transaction, after check (given the user and
	// every other user) allows it; it returns the number of tokens deleted.
	DeleteUser(ctx context.Context, name string, check func(u User, others []User) error) (int, error)

	// CreateChange assigns c.Number.
	CreateChange(ctx context.Context, c *Change) error
	GetChange(ctx context.Context, number int64) (Change, error)
	ListChanges(ctx context.Context, f ChangeFilter) ([]Change, error)
	// UpdateChange writes c if the stored change is still in state fromState and at head fromHead;
	// otherwise it returns ErrConflict. This makes merges and rejections race-safe.
	UpdateChange(ctx context.Context, c Change, fromState, fromHead string) error
	// AddReview records a verdict; a second verdict by the same reviewer on the same head is ErrExists.
	AddReview(ctx context.Context, r Review) error
	Reviews(ctx context.Context, change int64) ([]Review, error)
	AddComment(ctx context.Context, c *Comment) error
	Comments(ctx context.Context, change int64) ([]Comment, error)

	GetRequest(ctx context.Context, id string) (Request, error)
	ListRequests(ctx context.Context, f RequestFilter) ([]Request, error)
	// UpdateRequest reads the request (a zero Request with the ID set if it does not exist), lets fn change
	// it, and writes it back with the events fn returns, in one transaction. If fn returns an error nothing
	// is written.
	UpdateRequest(ctx context.Context, id string, fn func(r *Request) ([]Event, error)) (Request, error)
	Events(ctx context.Context, requestID string, limit int) ([]Event, error)

	// Enqueue adds or replaces the work item of a request and bumps its generation. Attempts restart when
	// the action or spec hash changed.
	Enqueue(ctx context.Context, requestID, action, specHash string, notBefore time.Time) error
	// Lease takes the next due item whose lease has expired, for leaseFor.
	Lease(ctx context.Context, owner string, now time.Time, leaseFor time.Duration) (WorkItem, bool, error)
	// RenewLease extends the lease owner holds on requestID's item to until (it never shortens it). It
	// returns ErrLeaseLost if the item is gone or leased by another owner.
	RenewLease(ctx context.Context, requestID, owner string, until time.Time) error
	// Complete removes the item if its generation is still gen; otherwise it only releases the lease.
	Complete(ctx context.Context, requestID string, gen int64) error
	// Retry releases the item to run again at notBefore (immediately if a newer generation arrived).
	Retry(ctx context.Context, requestID string, gen int64, notBefore time.Time, lastErr string) error
	// ReleaseLeases releases every lease (at start-up, when no other worker can be running).
	ReleaseLeases(ctx context.Context) error
	// NextDue tells when the earliest item becomes leasable (zero if the queue is empty).
	NextDue(ctx context.Context) (time.Time, error)
	QueueLength(ctx context.Context) (int, error)

	PutSecret(ctx context.Context, s Secret) error
	GetSecret(ctx context.Context, name string) (Secret, error)
	DeleteSecret(ctx context.Context, name string) error
	ListSecrets(ctx context.Context, prefix string) ([]string, error)

	GetMeta(ctx context.Context, key string) (string, error)
	SetMeta(ctx context.Context, key, value string) error

	Audit(ctx context.Context, e AuditEntry) error
	AuditLog(ctx context.Context, limit int) ([]AuditEntry, error)

	Tasks
	Deployments
	CommitPushers
	AppClaims

	Close() error
}

// AppClaim says which forge repository holds an app name. App names key namespaces, hosts, image
// repositories, overlays and the local runtime, so one name has one repository: the first to claim it
// keeps it until its score.yaml goes away or names another app.
type AppClaim struct {
	Name      string    `json:"name"`
	Repo      string    `json:"repo"`
	ClaimedAt time.Time `json:"claimedAt"`
}

// AppClaims stores who holds each app name; every Store implements it.
type AppClaims interface {
	// ClaimAppName gives name to repo unless another repository holds it, atomically, and returns the
	// claim that holds name afterwards (repo's own, new or older, or the other repository's).
	ClaimAppName(ctx context.Context, name, repo string, at time.Time) (AppClaim, error)
	// ReleaseAppName drops repo's claim on name; a claim held by another repository is left alone, and
	// releasing nothing is no error.
	ReleaseAppName(ctx context.Context, name, repo string) error
	// ListAppClaims returns every claim, by name.
	ListAppClaims(ctx context.Context) ([]AppClaim, error)
}

// Deployment is one image reaching an app's environment: goldenpath's delivery history, which
// `goldenpath deployments` and the apps API show.
type Deployment struct {
	ID          int64     `json:"id"`
	App         string    `json:"app"`
	Environment string    `json:"environment"`
	Image       string    `json:"image"`
	Previous    string    `json:"previous,omitempty"`
	Commit      string    `json:"commit,omitempty"`
	Change      int64     `json:"change,omitempty"` // when the environment deploys through change requests
	Pushed      time.Time `json:"pushed"`           // when goldenpath heard of the image
	Committed   time.Time `json:"committed,omitzero"`
	Deployed    time.Time `json:"deployed,omitzero"`
	Status      string    `json:"status"`
	Message     string    `json:"message,omitempty"`
}

// DeploymentFilter selects deployments; zero fields match all.
type DeploymentFilter struct {
	App         string
	Environment string
	Change      int64
	Status      string
	Limit       int // 0: no limit
}

// Deployments stores the delivery history; every Store implements it. Stores keep the newest
// MaxDeployments and drop older ones.
type Deployments interface {
	// AddDeployment assigns d.ID.
	AddDeployment(ctx context.Context, d *Deployment) error
	// ListDeployments returns the matching deployments, newest first.
	ListDeployments(ctx context.Context, f DeploymentFilter) ([]Deployment, error)
	// UpdateDeployment reads the deployment, lets fn change it and writes it back in one transaction.
	UpdateDeployment(ctx context.Context, id int64, fn func(d *Deployment) error) (Deployment, error)
}

// MaxDeployments is how many deployments a store keeps.
const MaxDeployments = 10_000

// Task states (Backstage's).
const (
	TaskOpen       = "open"
	TaskProcessing = "processing"
	TaskCompleted  = "completed"
	TaskFailed     = "failed"
	TaskCancelled  = "cancelled"
)

// Task is a scaffolder task: a template run.
type Task struct {
	ID              string
	TemplateRef     string
	Spec            string // JSON: the template, its source and the parameters (secret fields removed)
	Status          string
	CreatedBy       string
	CreatedAt       time.Time
	LastHeartbeatAt time.Time
	State           string // JSON: step results and output
	Attempts        int
	CancelRequested bool
	Teams           []string // the creator's teams when the task was created: they may read it
}

// TaskFilter selects tasks.
type TaskFilter struct {
	CreatedBy string
	Status    string
	Limit     int
	Offset    int
	Ascending bool // by creation; newest first by default

	// ReadableBy, when set, keeps only the tasks its user created or that were created by a member of
	// one of its teams.
	ReadableBy *TaskReader
}

// TaskReader is someone reading tasks: a user ref and their teams.
type TaskReader struct {
	Ref   string
	Teams []string
}

// TaskEvent is one entry of a task's log.
type TaskEvent struct {
	ID        int64
	TaskID    string
	Type      string // log, completion, cancelled, recovered
	Body      string // JSON
	CreatedAt time.Time
}

// Tasks stores scaffolder tasks; every Store implements it.
type Tasks interface {
	CreateTask(ctx context.Context, t Task) error
	GetTask(ctx context.Context, id string) (Task, error)
	ListTasks(ctx context.Context, f TaskFilter) ([]Task, int, error)
	// UpdateTask reads the task, lets fn change it and writes it back in one transaction.
	UpdateTask(ctx context.Context, id string, fn func(t *Task) error) (Task, error)
	// ClaimTask moves the oldest open task to processing and returns it.
	ClaimTask(ctx context.Context, now time.Time) (Task, bool, error)
	AddTaskEvent(ctx context.Context, e *TaskEvent) error
	TaskEvents(ctx context.Context, taskID string, after int64) ([]TaskEvent, error)
}

// CommitPushers records who pushed each commit of a forge repository first. Git's author fields are
// whatever a client wrote; the pusher is the authenticated user, which four-eyes review relies on.
type CommitPushers interface {
	// RecordPushers records pusher for each of shas in repo; a commit already recorded keeps its first pusher.
	RecordPushers(ctx context.Context, repo, pusher string, shas []string, at time.Time) error
	// Pushers returns the recorded pusher of each of shas that has one.
	Pushers(ctx context.Context, repo string, shas []string) (map[string]string, error)
}
