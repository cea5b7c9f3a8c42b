// Package loopback finds free TCP ports on 127.0.0.1 for components that must be told their port
// up front (kratos, kube-controller-manager, redis-server).
package loopback

import (
	"fmt"
	"net"
)

// FreePort returns a port that was free a moment ago. Another process may take it before the
// caller binds it, so callers that can detect a failed bind retry with a new port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
