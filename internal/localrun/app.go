package localrun

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// Key names a deployed app: one per name and environment.
type Key struct {
	Environment string
	Name        string
}

func (k Key) String() string { return k.Environment + "/" + k.Name }

// App is what to run: the desired state the caller computes from the Score workload.
type App struct {
	Name        string
	Environment string
	// Image is the image to run, by tag or digest; a tag is resolved at every Deploy, so pushing a
	// new image under the same tag and deploying again swaps to it.
	Image string
	// Env is the process environment (from the workload and its resources' outputs). PORT is set
	// by the supervisor, whatever Env says.
	Env map[string]string
	// Secrets are the Env keys whose values are secret: they are never logged and are blanked out of
	// the process output quoted in errors.
	Secrets []string
	// Port is the port the app listens on in its container. Locally each process gets its own free
	// loopback port in PORT instead (old and new run side by side during a swap), so the app must
	// honour PORT; Port is kept for the caller's information.
	Port int
	// Health is the HTTP path that answers 2xx or 3xx once the app is ready, e.g. "/healthz"; "" means
	// ready as soon as the port accepts connections.
	Health string
}

// Key is the app's name and environment.
func (a App) Key() Key { return Key{Environment: a.Environment, Name: a.Name} }

// labelPattern is a DNS label: names and environments become host names (<app>.<env>.<domain>).
var labelPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Validate reports the first field that cannot be run, naming the field and the rule.
func (a App) Validate() error {
	if !labelPattern.MatchString(a.Name) {
		return fmt.Errorf("app name %q: it must be a DNS label (lowercase letters, digits and -, at most 63)", a.Name)
	}
	if !labelPattern.MatchString(a.Environment) {
		return fmt.Errorf("app %s: environment %q must be a DNS label (lowercase letters, digits and -, at most 63)", a.Name, a.Environment)
	}
	if a.Image == "" {
		return fmt.Errorf("app %s: image is empty: it must be an image reference", a.Key())
	}
	if _, err := name.ParseReference(a.Image); err != nil {
		return fmt.Errorf("app %s: image %q: %w", a.Key(), a.Image, err)
	}
	if a.Port < 0 || a.Port > 65535 {
		return fmt.Errorf("app %s: port %d: it must be between 0 (unknown) and 65535", a.Key(), a.Port)
	}
	if a.Health != "" && !strings.HasPrefix(a.Health, "/") {
		return fmt.Errorf("app %s: health path %q: it must start with /", a.Key(), a.Health)
	}
	for k, v := range a.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.Contains(v, "\x00") {
			return fmt.Errorf("app %s: env %q: a key must be non-empty without = or NUL, a value without NUL", a.Key(), k)
		}
	}
	return nil
}

// LogValue shows the app with its secret values replaced, so logging an App cannot leak them.
func (a App) LogValue() slog.Value {
	env := make([]string, 0, len(a.Env))
	for _, k := range slices.Sorted(maps.Keys(a.Env)) {
		v := a.Env[k]
		if slices.Contains(a.Secrets, k) {
			v = redacted
		}
		env = append(env, k+"="+v)
	}
	return slog.GroupValue(
		slog.String("name", a.Name), slog.String("environment", a.Environment), slog.String("image", a.Image),
		slog.Int("port", a.Port), slog.String("health", a.Health), slog.Any("env", env),
	)
}

const redacted = "[redacted]"

// redact blanks the app's secret values out of s (process output quoted in an error).
func (a App) redact(s string) string {
	for _, k := range a.Secrets {
		if v := a.Env[k]; v != "" {
			s = strings.ReplaceAll(s, v, redacted)
		}
	}
	return s
}

// sameRun says whether b runs exactly like a, so deploying b over a running a changes nothing.
func (a App) sameRun(b App) bool {
	return a.Image == b.Image && a.Port == b.Port && a.Health == b.Health &&
		maps.Equal(a.Env, b.Env) && slices.Equal(a.Secrets, b.Secrets)
}

func (a App) clone() App {
	a.Env = maps.Clone(a.Env)
	a.Secrets = slices.Clone(a.Secrets)
	return a
}

// State is what runs for an app.
type State struct {
	Key
	// Image is the reference deployed, Digest what it resolved to.
	Image  string
	Digest string
	// PID is the process's id; 0 while nothing runs (a failed first deploy, between crash restarts).
	PID int
	// Upstream is where the app answers, e.g. "http://127.0.0.1:41234".
	Upstream string
	// Since is when the running process became ready.
	Since time.Time
	// Restarts counts restarts after crashes since the last deploy.
	Restarts int
	// LastError is the last crash or failed deploy, "" when there was none since the last deploy.
	LastError string
}

// ErrNotDeployed means the supervisor does not know the app.
var ErrNotDeployed = errors.New("not deployed")

// ErrClosed means the supervisor was closed.
var ErrClosed = errors.New("supervisor closed")
