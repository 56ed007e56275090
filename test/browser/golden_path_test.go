package browser

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestGoldenPath walks the portal as a new developer and an approver would: sign in, create a service from
// app-template, watch its task finish, find it in the catalog, request a bucket, sign out; then, as the
// approver, approve and merge the bucket's change request and see the bucket Ready.
func TestGoldenPath(t *testing.T) {
	a, tokens := start(t)
	s := newBrowser(t, a.URL(), 60*time.Second)

	// Sign in as alice; the first Tab on a page reaches the skip link.
	s.do("opening the portal", chromedp.Navigate(a.URL()+"/"), chromedp.WaitVisible(chromedp.ID("token")))
	s.signIn(tokens["alice"])
	if got := s.text("#whoami"); got != "alice" {
		t.Fatalf("signed in as %q, want alice", got)
	}
	s.do("tabbing to the skip link", chromedp.KeyEvent("\t"))
	if got := value(s, "reading the focused element", chromedp.Evaluate[string]("document.activeElement.textContent")); got != "Skip to main content" {
		t.Errorf("first Tab stop: got %q, want the skip link", got)
	}

	// Create a stateless app from app-template.
	s.do("opening Create", chromedp.Click(chromedp.CSS(`nav a[href="/create"]`)), chromedp.WaitVisible(chromedp.CSS(`a[href="/create/app-template"]`)))
	s.do("opening app-template", chromedp.Click(chromedp.CSS(`a[href="/create/app-template"]`)), chromedp.WaitVisible(chromedp.ID("f-name")))
	s.do("typing a name the pattern refuses", chromedp.SendKeys(chromedp.ID("f-name"), "Orders!"))
	if !value(s, "checking the name", chromedp.Evaluate[bool]("document.getElementById('f-name').validity.patternMismatch")) {
		t.Error("the browser accepts a name that breaks the template's pattern")
	}
	s.setValue("f-name", "")
	s.setValue("f-owner", "group:default/payments")
	s.setValue("f-repoUrl-owner", "payments")
	s.do("filling in the form",
		chromedp.SendKeys(chromedp.ID("f-name"), "orders"),
		chromedp.SendKeys(chromedp.ID("f-description"), "Takes orders"),
		chromedp.SendKeys(chromedp.ID("f-repoUrl-repo"), "orders"),
		chromedp.Click(chromedp.CSS(`#template-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("review")))
	if review := s.text("#review"); !strings.Contains(review, "orders") || !strings.Contains(review, "goldenpath?owner=payments&repo=orders") {
		t.Errorf("the review shows %q, want the name and the composed repository location", review)
	}
	s.do("creating", chromedp.Click(chromedp.CSS(`form[action$="/run"] button[type="submit"]`)), chromedp.WaitVisible(chromedp.ID("task-log")))

	// The task page follows the log live and shows the output links when the task completes.
	s.do("waiting for the task to finish", chromedp.WaitVisible(chromedp.ID("task-links")))
	if got := s.text("#task-status"); got != "completed" {
		t.Fatalf("task status: got %q, want completed", got)
	}
	if n := value(s, "counting log lines", chromedp.Evaluate[int]("document.querySelectorAll('#task-log li').length")); n < 4 {
		t.Errorf("the task log has %d lines, want one per step at least", n)
	}
	if links := s.text("#task-links"); !strings.Contains(links, "Open in catalog") || !strings.Contains(links, "Registry change request") {
		t.Errorf("output links: got %q, want the catalog entry and the registry change request", links)
	}

	// The page's event stream works in the browser with the session cookie: it replays the log and ends
	// with the completion event.
	streamed := value(s, "reading the task's event stream", chromedp.Evaluate[string](`new Promise((resolve, reject) => {
		const es = new EventSource(location.pathname + "/events");
		let logs = 0;
		es.addEventListener("log", () => logs++);
		es.addEventListener("completion", e => { es.close(); resolve(logs + " logs, then " + JSON.parse(e.data).type); });
		es.onerror = () => { es.close(); reject(new Error("the event stream failed")); };
		setTimeout(() => reject(new Error("no completion event within 5 s")), 5000);
	})`, chromedp.EvalAwaitPromise))
	if !strings.HasSuffix(streamed, "logs, then completion") || strings.HasPrefix(streamed, "0 ") {
		t.Errorf("the task's event stream gave %q, want its log lines, then completion", streamed)
	}

	// Find the component in the catalog.
	s.do("searching the catalog", chromedp.Click(chromedp.CSS(`nav a[href="/catalog"]`)), chromedp.WaitVisible(chromedp.ID("q")),
		chromedp.SendKeys(chromedp.ID("q"), "orders"))
	s.setValue("kind", "Component")
	s.do("filtering the catalog", chromedp.Submit(chromedp.ID("q")), chromedp.WaitVisible(chromedp.CSS(`a[href="/catalog/component/default/orders"]`)))
	s.do("opening the component", chromedp.Click(chromedp.CSS(`a[href="/catalog/component/default/orders"]`)), chromedp.WaitVisible(chromedp.ID("resources-h")))
	if about := s.text("main"); !strings.Contains(about, "group:default/payments") || !strings.Contains(about, "ecr.dev.orders") {
		t.Errorf("the component page lacks its owner or its registry request:\n%s", about)
	}

	// Request an S3 bucket through its template.
	s.do("opening s3-request", chromedp.Click(chromedp.CSS(`nav a[href="/create"]`)), chromedp.WaitVisible(chromedp.CSS(`a[href="/create/s3-request"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/create/s3-request"]`)), chromedp.WaitVisible(chromedp.ID("f-name")))
	s.do("filling in the bucket request", chromedp.SendKeys(chromedp.ID("f-name"), "invoices"), chromedp.Click(chromedp.ID("f-versioning")),
		chromedp.Click(chromedp.CSS(`#template-form button[type="submit"]`)), chromedp.WaitVisible(chromedp.ID("review")),
		chromedp.Click(chromedp.CSS(`form[action$="/run"] button[type="submit"]`)), chromedp.WaitVisible(chromedp.ID("task-links")))
	changeURL := value(s, "reading the change request link", chromedp.Evaluate[string](`document.querySelector('#task-links a[href^="/changes/"]').getAttribute('href')`))
	if !strings.HasPrefix(changeURL, "/changes/") {
		t.Fatalf("the s3-request task links to %q, want a change request", changeURL)
	}

	// Sign out; sign in as the approver, who finds the change request waiting on the home page.
	s.do("signing out", chromedp.Click(chromedp.CSS(`form[action="/signout"] button`)), chromedp.WaitVisible(chromedp.ID("token")))
	if got := s.text("main"); !strings.Contains(got, "You are signed out.") {
		t.Errorf("after signing out the page says %q", got)
	}
	s.signIn(tokens["bob"])
	s.do("opening the waiting change request", chromedp.WaitVisible(chromedp.ID("waiting-h")),
		chromedp.Click(chromedp.CSS(`main a[href="`+changeURL+`"]`)), chromedp.WaitVisible(chromedp.ID("review-h")))
	if plan := s.text("#plan-h + ul"); !strings.Contains(plan, "s3.dev.invoices") || !strings.Contains(plan, "invoices-dev") {
		t.Errorf("the plan shows %q, want the request and its bucket", plan)
	}
	s.do("approving", chromedp.SendKeys(chromedp.ID("approve-text"), "looks right"),
		chromedp.Click(chromedp.CSS(`form[action$="/approve"] button`)), chromedp.WaitVisible(chromedp.CSS(`p.flash`)))
	// The page before the merge has a #change-state too: wait for the one the merge's answer shows.
	s.do("merging", chromedp.Click(chromedp.CSS(`form[action$="/merge"] button`)), chromedp.WaitVisible(chromedp.CSS(`#change-state[data-state="merged"]`)))
	if got := s.text("#change-state"); got != "merged" {
		t.Fatalf("change request state: got %q, want merged (%s)", got, s.text("main"))
	}

	// The reconciler provisions the bucket within a second or two.
	s.do("opening the request", chromedp.Navigate(a.URL()+"/requests/s3.dev.invoices"), chromedp.WaitVisible(chromedp.ID("request-phase")))
	for i := 0; s.text("#request-phase") != "Ready"; i++ {
		if i == 50 {
			t.Fatalf("the bucket is %q after 10 s, want Ready", s.text("#request-phase"))
		}
		time.Sleep(200 * time.Millisecond)
		s.do("reloading the request", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("request-phase")))
	}

	// The same pages fit a phone's width.
	s.do("emulating a phone", chromedp.EmulateViewport(390, 844))
	for _, path := range []string{"/", changeURL, "/create/app-template", "/requests/s3.dev.invoices"} {
		s.do("opening "+path+" on a phone", chromedp.Navigate(a.URL()+path), chromedp.WaitVisible(chromedp.ID("main")))
		if wide := value(s, "measuring "+path, chromedp.Evaluate[bool]("document.documentElement.scrollWidth > window.innerWidth + 1")); wide {
			t.Errorf("%s scrolls sideways on a 390 px wide screen", path)
		}
	}
}

// setValue sets the value of a form control by id, as a user picking it would.
func (s *session) setValue(id, v string) {
	s.t.Helper()
	raw, _ := json.Marshal(v)
	js := fmt.Sprintf("(() => { const el = document.getElementById(%q); el.value = %s; el.dispatchEvent(new Event('change', {bubbles: true})); return el.value; })()", id, raw)
	if got := value(s, "setting "+id, chromedp.Evaluate[string](js)); got != v {
		s.t.Fatalf("setting %s to %q: it holds %q", id, v, got)
	}
}

// signIn signs in on the sign-in page with a token.
func (s *session) signIn(token string) {
	s.t.Helper()
	s.do("signing in", chromedp.WaitVisible(chromedp.ID("token")), chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type="submit"]`)), chromedp.WaitVisible(chromedp.ID("whoami")))
}
