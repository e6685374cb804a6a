package testenv

import (
	"io"
	"net"
	"net/http"
	"testing"
)

// FreeAddr returns a loopback host:port nobody listens on right now.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Scrape returns the Prometheus text served at http://addr/metrics, or ""
// while nothing answers there yet.
func Scrape(addr string) string {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
