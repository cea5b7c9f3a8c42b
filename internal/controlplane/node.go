package controlplane

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/homeward-dev/homeward/internal/loopback"
)

// servePods makes the apiserver reachable from pods. envtest's serving certificate names only
// localhost and the listen address, so a pod dialling the kubernetes Service's ClusterIP would
// refuse it: this writes the apiserver's certificates itself (envtest keeps certificates it finds)
// from a CA of its own, naming the Service's ClusterIP and DNS names too.
func servePods(apiserver *envtest.APIServer, dir string, node NodeOptions) error {
	addr, err := netip.ParseAddr(node.Address)
	if err != nil || addr.IsLoopback() {
		return fmt.Errorf("control plane for a node: address %q must be a non-loopback IP", node.Address)
	}
	prefix, err := netip.ParsePrefix(node.ServiceCIDR)
	if err != nil {
		return fmt.Errorf("control plane for a node: service CIDR: %w", err)
	}
	certDir := filepath.Join(dir, "apiserver-certs")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return fmt.Errorf("apiserver cert dir: %w", err)
	}
	caPEM, err := writeServingCerts(certDir, []net.IP{
		net.ParseIP(node.Address), net.IPv4(127, 0, 0, 1), net.IP(prefix.Addr().Next().AsSlice()),
	}, []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"})
	if err != nil {
		return err
	}
	port, err := loopback.FreePort()
	if err != nil {
		return err
	}
	apiserver.CertDir = certDir
	// envtest picks a loopback address whenever the port is left empty.
	apiserver.SecureServing.Address = node.Address
	apiserver.SecureServing.Port = strconv.Itoa(port)
	apiserver.SecureServing.CA = caPEM
	args := apiserver.Configure()
	args.Set("service-cluster-ip-range", node.ServiceCIDR)
	args.Set("advertise-address", node.Address)
	// envtest turns the ServiceAccount admission plugin off because nothing makes the default
	// ServiceAccount without a controller-manager; a node's pods need their tokens.
	args.Disable("disable-admission-plugins")
	return nil
}

// writeServingCerts writes a CA, a serving certificate for the names and addresses, and the
// service-account signing key, where envtest's apiserver looks for them, and returns the CA.
func writeServingCerts(dir string, ips []net.IP, names []string) ([]byte, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "homeward-node-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	servingKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	servingDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kube-apiserver"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: ips, DNSNames: names,
	}, ca, &servingKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("serving certificate: %w", err)
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	files := map[string][]byte{
		"apiserver.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: servingDER}),
		"ca.crt":        caPEM,
	}
	for name, key := range map[string]*ecdsa.PrivateKey{"apiserver.key": servingKey, "sa-signer.key": saKey} {
		der, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return nil, err
		}
		files[name] = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	}
	// The verifying side reads the public half from a private key file as well.
	files["sa-signer.crt"] = files["sa-signer.key"]
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return nil, fmt.Errorf("write %s: %w", name, err)
		}
	}
	return caPEM, nil
}
