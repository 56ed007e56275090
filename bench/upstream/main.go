// Command upstream is the gateway benchmark's backend: a plain net/http server answering every
// request with the same few hundred bytes, in its own process so that it is loaded like a real
// service behind the gateway or nginx.
//
//	go run ./bench/upstream [-addr 127.0.0.1:0]
//
// It prints "listening http://ADDR" once it accepts connections, and stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	size := flag.Int("size", 300, "response body bytes")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *size); err != nil {
		fmt.Fprintln(os.Stderr, "upstream:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr string, size int) error {
	if size < 0 {
		return fmt.Errorf("-size must not be negative, got %d", size)
	}
	body := []byte(strings.Repeat("goldenpath bench upstream\n", size/26+1)[:size])
	length := strconv.Itoa(len(body))
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"text/plain; charset=utf-8"}
		h["Content-Length"] = []string{length}
		w.Write(body)
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	fmt.Printf("listening http://%s\n", ln.Addr())
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}
