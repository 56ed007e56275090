package gateway

import (
	"html"
	"net/http"
	"strconv"
	"strings"
)

// page is an error page: a title and paragraphs, rendered as HTML for browsers and as plain text
// for curl and scripts. Values from the request are escaped in HTML; the text form is plain.
type page struct {
	status int
	title  string
	paras  []string
}

func notRouted(w http.ResponseWriter, r *http.Request, host string) {
	shown := host
	if shown == "" {
		shown = "(none)"
	}
	page{
		status: http.StatusNotFound,
		title:  "Host not routed",
		paras: []string{
			"The goldenpath gateway has no route for the host " + strconv.Quote(shown) + ".",
			"Routes come from the platform's route table: declare the route (host, path and backend) in the platform repository through a change request; once it is merged, the gateway serves it without a restart.",
			"If the route exists, check the host name and the environment it was declared for.",
		},
	}.write(w, r)
}

func upstreamPage(w http.ResponseWriter, r *http.Request, status int, rt *route, reason string) {
	title := "Upstream unreachable"
	if status == http.StatusGatewayTimeout {
		title = "Upstream timed out"
	}
	page{
		status: status,
		title:  title,
		paras: []string{
			"The route " + strconv.Quote(rt.Name) + " (" + rt.Host + rt.prefix + ") sends this request to " + rt.upstream + ", but " + reason,
			"Start the service or fix the route's backend, then retry.",
		},
	}.write(w, r)
}

func (p page) write(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if !wantsHTML(r) {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(p.status)
		w.Write([]byte(p.text()))
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(p.status)
	w.Write([]byte(p.html()))
}

// wantsHTML is true for browsers, which list text/html in Accept; curl sends */* and gets text.
func wantsHTML(r *http.Request) bool {
	for _, accept := range r.Header.Values("Accept") {
		if strings.Contains(accept, "text/html") {
			return true
		}
	}
	return false
}

func (p page) text() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(p.status) + " " + p.title + "\n\n")
	for _, para := range p.paras {
		b.WriteString(para + "\n")
	}
	return b.String()
}

func (p page) html() string {
	var b strings.Builder
	title := strconv.Itoa(p.status) + " " + html.EscapeString(p.title)
	b.WriteString(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>` + title + `</title>`)
	b.WriteString(`<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;line-height:1.5;color:#222}h1{font-size:1.4rem}footer{color:#777;font-size:.85rem}</style></head><body>`)
	b.WriteString("<h1>" + title + "</h1>")
	for _, para := range p.paras {
		b.WriteString("<p>" + html.EscapeString(para) + "</p>")
	}
	b.WriteString("<footer>goldenpath dev gateway</footer></body></html>\n")
	return b.String()
}
