package testutil

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ConnProxy forwards HTTP requests to a server, counts the connections its
// clients open, and can delay every request (a server far away) or hold
// requests until a number of them wait at once (so that a client has that
// many connections open at the same moment).
type ConnProxy struct {
	// URL is the proxy's endpoint (http://127.0.0.1:port).
	URL    string
	opened atomic.Int64
	delay  atomic.Int64 // nanoseconds

	mu      sync.Mutex
	hold    int
	waiting int
	release chan struct{}
}

// StartConnProxy starts a proxy to target on 127.0.0.1 for the rest of the
// test.
func StartConnProxy(t testing.TB, target string) *ConnProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &ConnProxy{URL: "http://" + ln.Addr().String(), release: make(chan struct{})}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(time.Duration(p.delay.Load()))
			p.wait()
			rp.ServeHTTP(w, r)
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				p.opened.Add(1)
			}
		},
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return p
}

// Delay makes every request wait d before it is forwarded.
func (p *ConnProxy) Delay(d time.Duration) { p.delay.Store(int64(d)) }

// Opened is the number of connections clients have opened so far.
func (p *ConnProxy) Opened() int64 { return p.opened.Load() }

// Hold makes requests wait until n of them wait at once, then lets them all
// through, and so on; 0 lets every request through at once.
func (p *ConnProxy) Hold(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hold = n
	close(p.release)
	p.release, p.waiting = make(chan struct{}), 0
}

// wait holds a request as Hold says, for at most a minute (a guard against
// a client that never sends enough requests at once: the test then sees
// fewer connections than it wants).
func (p *ConnProxy) wait() {
	p.mu.Lock()
	if p.hold == 0 {
		p.mu.Unlock()
		return
	}
	release := p.release
	p.waiting++
	if p.waiting == p.hold {
		close(p.release)
		p.release, p.waiting = make(chan struct{}), 0
	}
	p.mu.Unlock()
	select {
	case <-release:
	case <-time.After(time.Minute):
	}
}
