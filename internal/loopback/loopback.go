// Package loopback finds free TCP ports on 127.0.0.1 for components that must be told their port
// up front (kratos, kube-controller-manager, redis-server).
package loopback

import (
	"context"
	"fmt"
	"net"
	"net/http"
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

// GetOK asks url with GET and succeeds only on 200: the readiness probe of a local server.
func GetOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
