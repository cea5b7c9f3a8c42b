package controllers_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/homeward-dev/homeward/internal/loopback"
	"github.com/homeward-dev/homeward/internal/operator"
	kuberuntime "github.com/homeward-dev/homeward/internal/runtime/kubernetes"
	"github.com/homeward-dev/homeward/internal/testenv"
)

// The operator serves its metrics as a kubebuilder operator does: over HTTPS, only to a scraper
// whose token the API server authenticates and authorises for GET /metrics through the shipped
// metrics-reader ClusterRole; or, with metrics-secure off, over plain HTTP.
func TestOperatorMetricsNeedAnAuthorisedScraper(t *testing.T) {
	cp := testenv.ControlPlane(t, testenv.ControlPlaneOptions{CRDDirectoryPaths: []string{"config/crd/bases"}})
	ctx := context.Background()
	cs, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	var reader rbacv1.ClusterRole
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "config", "rbac", "metrics_reader_role.yaml"))
	if err == nil {
		err = yaml.UnmarshalStrict(b, &reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &reader, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	token := func(name string) string {
		t.Helper()
		if _, err := cs.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		tr, err := cs.CoreV1().ServiceAccounts("default").CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tr.Status.Token
	}
	scraper, stranger := token("prometheus"), token("stranger")
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "prometheus-metrics-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: reader.Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "prometheus", Namespace: "default"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		// The operator's certificate is self-signed; what is under test is the token check.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // see above
	}}
	scrape := func(url, bearer string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := client.Do(req)
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				return resp.StatusCode, string(body)
			}
			if time.Now().After(deadline) {
				t.Fatalf("scrape %s: %v", url, err)
			}
			time.Sleep(100 * time.Millisecond) // the metrics server is still starting
		}
	}
	start := func(secure bool) (url string, stop func()) {
		port, err := loopback.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		_, stop = runOperator(t, cp.Config, operator.Options{
			Runtime:            operator.RuntimeKubernetes,
			Images:             kuberuntime.Images{Homeward: "ghcr.io/homeward-dev/homeward:test", Redis: "redis:7.0.15", Kratos: "oryd/kratos:v1.3.1"},
			MetricsBindAddress: fmt.Sprintf("127.0.0.1:%d", port), MetricsSecure: secure,
		})
		scheme := map[bool]string{true: "https", false: "http"}[secure]
		return fmt.Sprintf("%s://127.0.0.1:%d/metrics", scheme, port), stop
	}

	url, stop := start(true)
	for _, c := range []struct {
		who, token string
		want       int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"a token the API server never issued", "not-a-token", http.StatusUnauthorized},
		{"a ServiceAccount without the metrics-reader role", stranger, http.StatusForbidden},
		{"a ServiceAccount bound to metrics-reader", scraper, http.StatusOK},
	} {
		status, body := scrape(url, c.token)
		if status != c.want {
			t.Errorf("%s: %d, want %d: %.200s", c.who, status, c.want, body)
		}
		if status == http.StatusOK && !strings.Contains(body, "homeward_partnerships") {
			t.Errorf("%s: the metrics lack homeward_partnerships: %.300s", c.who, body)
		}
		if status != http.StatusOK && strings.Contains(body, "homeward_") {
			t.Errorf("%s was refused yet shown metrics", c.who)
		}
	}
	stop()

	url, stop = start(false)
	defer stop()
	if status, body := scrape(url, ""); status != http.StatusOK || !strings.Contains(body, "homeward_partnerships") {
		t.Errorf("plain HTTP metrics: %d %.200s", status, body)
	}
}
