package gateway

import (
	"net/url"
	"testing"
)

func TestNormalizeHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"api.dev.test", "api.dev.test"},
		{"API.Dev.Test:8443", "api.dev.test"},
		{"api.dev.test.", "api.dev.test"},
		{"127.0.0.1:80", "127.0.0.1"},
		{"[::1]:8080", "::1"},
		{"[::1]", "::1"},
		{"", ""},
		{":80", ""},
	}
	for _, tt := range tests {
		if got := normalizeHost(tt.in); got != tt.want {
			t.Errorf("normalizeHost(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDialAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://127.0.0.1:9000/base", "127.0.0.1:9000"},
		{"http://localhost", "localhost:80"},
		{"http://[::1]", "[::1]:80"},
		{"http://[::1]:81", "[::1]:81"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := dialAddr(u); got != tt.want {
			t.Errorf("dialAddr(%s): got %q, want %q", tt.in, got, tt.want)
		}
	}
}
