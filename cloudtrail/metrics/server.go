package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"
)

// Source writes its metrics, labelled as its own, to a Writer.
type Source interface {
	WriteMetrics(w *Writer)
}

// server is one listening address, shared by every instance that names it.
type server struct {
	srv     *http.Server
	mu      sync.Mutex
	sources map[int]Source
	next    int
}

var (
	serversMu sync.Mutex
	servers   = map[string]*server{}
)

// Listen serves the Prometheus text of src at http://addr/metrics. Several
// sources (input instances) may share one address; the listener closes when
// the last one is released. The returned release function is idempotent.
func Listen(addr string, src Source) (release func(), err error) {
	serversMu.Lock()
	defer serversMu.Unlock()
	s := servers[addr]
	if s == nil {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("metrics_listen %q: %w", addr, err)
		}
		s = &server{sources: map[int]Source{}}
		mux := http.NewServeMux()
		mux.HandleFunc("/metrics", s.serve)
		s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go s.srv.Serve(ln)
		servers[addr] = s
	}
	s.mu.Lock()
	id := s.next
	s.next++
	s.sources[id] = src
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			serversMu.Lock()
			defer serversMu.Unlock()
			s.mu.Lock()
			delete(s.sources, id)
			empty := len(s.sources) == 0
			s.mu.Unlock()
			if empty {
				delete(servers, addr)
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
					s.srv.Close()
				}
			}
		})
	}, nil
}

func (s *server) serve(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	mw := NewWriter(w)
	s.mu.Lock()
	srcs := make([]Source, 0, len(s.sources))
	for i := 0; i < s.next; i++ {
		if src, ok := s.sources[i]; ok {
			srcs = append(srcs, src)
		}
	}
	s.mu.Unlock()
	for _, src := range srcs {
		src.WriteMetrics(mw)
	}
	mw.Gauge("cloudtrail_go_goroutines", "Goroutines in the plugin's Go runtime (all instances).", nil, float64(runtime.NumGoroutine()))
}
