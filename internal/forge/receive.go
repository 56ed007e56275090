package forge

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// serveReceivePack handles a push: it reads the command list to ask BeforePush, then streams the
// commands and the pack into git receive-pack, and reports what actually changed to OnPush.
func (f *Forge) serveReceivePack(w http.ResponseWriter, r *http.Request, req gitRequest) {
	body, err := requestBody(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	defer body.Close()
	in := newPushBody(body, f.opts.MaxPushBytes)
	cmds, err := readPushCommands(in.buffered)
	if err != nil {
		if in.limited.exceeded.Load() {
			http.Error(w, f.tooLargeMessage(), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading push commands: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/x-git-receive-pack-result")
	noCache(w.Header())
	if unpack, reason := f.refusePush(r.Context(), req, cmds, r.ContentLength); reason != "" {
		f.reject(w, r, req, cmds, in.raw, unpack, reason)
		return
	}
	f.runReceivePack(w, r, req, cmds, in)
}

// pushBody is a push request body, read through the size limit and a buffer we parse commands from.
type pushBody struct {
	raw      io.Reader // decoded body, for draining
	limited  *limitReader
	buffered *bufio.Reader // what git reads after the commands
}

func newPushBody(body io.Reader, limit int64) *pushBody {
	limited := &limitReader{r: body, n: limit}
	return &pushBody{raw: body, limited: limited, buffered: bufio.NewReaderSize(limited, 64<<10)}
}

// refusePush decides, before git runs, whether to turn the push away: too large by its declared
// length, or refused by BeforePush. A non-empty reason is sent to the client.
func (f *Forge) refusePush(ctx context.Context, req gitRequest, cmds *pushCommands, length int64) (unpack, reason string) {
	if length > f.opts.MaxPushBytes {
		return f.tooLargeMessage(), f.tooLargeMessage()
	}
	if f.opts.BeforePush == nil || len(cmds.updates) == 0 {
		return "", ""
	}
	if err := f.opts.BeforePush(ctx, req.repo.name, req.subject, cmds.updates); err != nil {
		f.log.InfoContext(ctx, "push refused", "repo", req.repo.name, "subject", req.subject, "reason", err)
		return "ok", err.Error()
	}
	return "", ""
}

func (f *Forge) tooLargeMessage() string {
	return fmt.Sprintf("push exceeds the limit of %d bytes", f.opts.MaxPushBytes)
}

// maxDrain bounds how much of a refused push we read and discard so the client hears why.
const maxDrain = 64 << 20

// reject answers with a report-status that fails every ref. The unread rest of the body is drained
// first: a client still sending its pack does not read our answer. Beyond the drain bound we stop
// reading, and the client sees a broken connection instead of the message.
func (f *Forge) reject(w http.ResponseWriter, r *http.Request, req gitRequest, cmds *pushCommands, body io.Reader, unpack, reason string) {
	_, _ = io.CopyN(io.Discard, body, max(f.opts.MaxPushBytes, maxDrain))
	if err := cmds.writeRejection(w, unpack, reason); err != nil {
		f.log.DebugContext(r.Context(), "writing push rejection", "repo", req.repo.name, "error", err)
	}
}

// runReceivePack runs git on the commands we already read followed by the rest of the body. git's
// answer is held back until the whole body was read within the limit, so a push that turns out too
// large gets our explanation instead of git's "early EOF".
func (f *Forge) runReceivePack(w http.ResponseWriter, r *http.Request, req gitRequest, cmds *pushCommands, in *pushBody) {
	ctx := r.Context()
	before, err := req.repo.refValues(ctx, refNames(cmds.updates))
	if err != nil {
		f.log.ErrorContext(ctx, "reading refs before push", "repo", req.repo.name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	out := &gatedWriter{dst: &flushWriter{w: w, rc: http.NewResponseController(w)}}
	stdin := io.MultiReader(bytes.NewReader(cmds.raw), &eofReader{r: in.buffered, onEOF: out.release})
	opts, args := runOpts{stdin: stdin, stdout: out, env: protocolEnv(r)}, gitServiceArgs(receivePack)
	if f.opts.CheckPush != nil {
		check, err := f.startPushCheck(ctx, req)
		if err != nil {
			f.log.ErrorContext(ctx, "preparing the push check", "repo", req.repo.name, "error", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		defer check.finish()
		opts.extraFiles, opts.env = check.files(), append(opts.env, "GOLDENPATH_CHECK_PUSH=1")
		args = append([]string{"-c", "core.hooksPath=" + f.hooks}, args...)
	}
	_, gitErr := req.repo.git(ctx, opts, args...)
	if in.limited.exceeded.Load() {
		f.log.InfoContext(ctx, "push too large", "repo", req.repo.name, "subject", req.subject, "limit", f.opts.MaxPushBytes)
		f.reject(w, r, req, cmds, in.raw, f.tooLargeMessage(), f.tooLargeMessage())
		return
	}
	if err := out.release(); err != nil {
		f.log.DebugContext(ctx, "writing receive-pack result", "repo", req.repo.name, "error", err)
	}
	if gitErr != nil {
		f.log.WarnContext(ctx, "git receive-pack failed", "repo", req.repo.name, "error", gitErr)
	}
	f.reportPush(detached(ctx), req, cmds.updates, before)
	req.repo.wrote(ctx, pushObjectEstimate)
}

// reportPush compares the pushed refs with their values before the push and tells OnPush about the
// ones git actually moved to what the client asked for (it may have rejected some).
func (f *Forge) reportPush(ctx context.Context, req gitRequest, asked []RefUpdate, before map[string]string) {
	if len(asked) == 0 {
		return
	}
	after, err := req.repo.refValues(ctx, refNames(asked))
	if err != nil {
		f.log.ErrorContext(ctx, "reading refs after push", "repo", req.repo.name, "error", err)
		return
	}
	var changed []RefUpdate
	for _, u := range asked {
		old, cur := valueOrZero(before, u.Ref), valueOrZero(after, u.Ref)
		if cur != old && cur == u.New {
			changed = append(changed, RefUpdate{Ref: u.Ref, Old: old, New: cur})
		}
	}
	if len(changed) == 0 {
		return
	}
	commits, err := req.repo.introduced(ctx, changed)
	if err != nil {
		f.log.ErrorContext(ctx, "listing pushed commits", "repo", req.repo.name, "error", err)
	}
	f.log.InfoContext(ctx, "push", "repo", req.repo.name, "subject", req.subject, "refs", len(changed), "commits", len(commits))
	if f.opts.OnPush != nil {
		f.opts.OnPush(ctx, PushEvent{Repo: req.repo.name, Subject: req.subject, Updates: changed, Commits: commits})
	}
}

func refNames(updates []RefUpdate) []string {
	refs := make([]string, 0, len(updates))
	for _, u := range updates {
		refs = append(refs, u.Ref)
	}
	return refs
}

func valueOrZero(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return ZeroSHA
}

// refValues reads the current value of each existing ref in refs.
func (r *Repo) refValues(ctx context.Context, refs []string) (map[string]string, error) {
	values := map[string]string{}
	if len(refs) == 0 {
		return values, nil
	}
	args := append([]string{"for-each-ref", "--format=%(objectname) %(refname)"}, refs...)
	out, err := r.git(ctx, runOpts{}, args...)
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(out), "\n") {
		if sha, name, ok := strings.Cut(line, " "); ok {
			values[name] = sha
		}
	}
	return values, nil
}

// limitReader fails once more than n bytes were read, remembering that it did.
type limitReader struct {
	r        io.Reader
	n        int64
	exceeded atomic.Bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// At the limit: only a clean EOF is fine, any further byte is over.
		var probe [1]byte
		n, err := l.r.Read(probe[:])
		if n > 0 {
			l.exceeded.Store(true)
			return 0, fmt.Errorf("push body exceeds limit")
		}
		return 0, err
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// eofReader calls onEOF when the underlying reader is exhausted.
type eofReader struct {
	r     io.Reader
	onEOF func() error
	once  sync.Once
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		e.once.Do(func() { _ = e.onEOF() })
	}
	return n, err
}

// gatedWriter buffers what is written until release, then passes writes straight through.
type gatedWriter struct {
	mu   sync.Mutex
	dst  io.Writer
	buf  bytes.Buffer
	open bool
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open {
		return g.dst.Write(p)
	}
	return g.buf.Write(p)
}

func (g *gatedWriter) release() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open {
		return nil
	}
	g.open = true
	if g.buf.Len() == 0 {
		return nil
	}
	_, err := g.dst.Write(g.buf.Bytes())
	g.buf.Reset()
	return err
}
