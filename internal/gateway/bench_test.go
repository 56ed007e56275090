package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/gateway"
)

// BenchmarkProxy measures a small GET through the gateway over loopback, keep-alive on both sides.
// allocs/op is the figure to watch here; `go run ./bench -only gateway` measures throughput
// against nginx.
func BenchmarkProxy(b *testing.B) {
	body := strings.Repeat("x", 300)
	up := serverURL(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))
	for _, tt := range []struct {
		name   string
		access io.Writer
	}{{"access-log-off", nil}, {"access-log-on", io.Discard}} {
		b.Run(tt.name, func(b *testing.B) {
			g, err := gateway.New(gateway.Options{DataDir: b.TempDir(), AccessLog: tt.access})
			if err != nil {
				b.Fatal(err)
			}
			if err := g.SetRoutes([]gateway.Route{{Name: "b", Host: "b.test", Upstream: up}}); err != nil {
				b.Fatal(err)
			}
			c := client(b, serve(b, g).httpAddr, nil)
			c.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := c.Get("http://b.test/")
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		})
	}
}
