// Package loopback picks ports for servers this program or its tests start
// on 127.0.0.1.
package loopback // import "github.com/otelcol-chroma/otelcol-chroma/internal/loopback"

import "net"

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. A
// server started on it may still find it taken: callers retry on another.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
