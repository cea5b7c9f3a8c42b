package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// startIngress serves the cluster's Ingresses on the host: a plain reverse proxy that routes each
// request by its Host and path to the backend Service's ClusterIP, as an ingress controller would
// (no TLS, no annotations). It runs on the host, so its traffic to pods is the node's own, which
// NetworkPolicies admit; the policy naming the ingress controller's namespace is proved by pods
// there instead.
func (n *Node) startIngress() error {
	ln, err := net.Listen("tcp", net.JoinHostPort(n.Address, "0"))
	if err != nil {
		return fmt.Errorf("ingress listener: %w", err)
	}
	n.IngressAddress = ln.Addr().String()
	n.ingress = &http.Server{Handler: http.HandlerFunc(n.route), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = n.ingress.Serve(ln) }()
	return nil
}

func (n *Node) route(w http.ResponseWriter, r *http.Request) {
	target, err := n.backend(r.Context(), r.Host, r.URL.Path)
	if errors.Is(err, errNoIngress) {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if err != nil {
		n.log.Error(err, "ingress: find the backend", "host", r.Host, "path", r.URL.Path)
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = pr.In.Host
		pr.SetXForwarded()
	}}
	proxy.ServeHTTP(w, r)
}

// backend finds the Service an Ingress sends host and path to: the longest matching prefix wins.
func (n *Node) backend(ctx context.Context, host, path string) (*url.URL, error) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	list, err := n.Client.NetworkingV1().Ingresses("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var best *networkingv1.IngressServiceBackend
	var bestNamespace, bestPrefix string
	for _, ing := range list.Items {
		for _, rule := range ing.Spec.Rules {
			if rule.Host != host || rule.HTTP == nil {
				continue
			}
			for _, p := range rule.HTTP.Paths {
				if p.Backend.Service != nil && strings.HasPrefix(path, p.Path) && len(p.Path) >= len(bestPrefix) {
					best, bestNamespace, bestPrefix = p.Backend.Service, ing.Namespace, p.Path
				}
			}
		}
	}
	if best == nil {
		return nil, fmt.Errorf("%w: %s%s", errNoIngress, host, path)
	}
	svc, err := n.Client.CoreV1().Services(bestNamespace).Get(ctx, best.Name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	port, err := servicePort(svc, best.Port)
	if err != nil {
		return nil, err
	}
	return &url.URL{Scheme: "http", Host: net.JoinHostPort(svc.Spec.ClusterIP, fmt.Sprint(port))}, nil
}

var errNoIngress = errors.New("no Ingress serves this host and path")

func servicePort(svc *corev1.Service, want networkingv1.ServiceBackendPort) (int32, error) {
	for _, p := range svc.Spec.Ports {
		if (want.Name != "" && p.Name == want.Name) || (want.Name == "" && p.Port == want.Number) {
			return p.Port, nil
		}
	}
	return 0, errors.New("service " + svc.Namespace + "/" + svc.Name + " has no such port")
}
