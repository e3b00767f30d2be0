/*
Copyright 2026 The heal8s Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package alertmanager

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/metrics"
	"github.com/heal8s/heal8s/internal/routing"
)

func writeSelfSignedCert(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "receiver"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestStartServesTLSAndExtraHandlersAndStops runs the receiver as the manager would.
func TestStartServesTLSAndExtraHandlersAndStops(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	writeSelfSignedCert(t, dir)
	c := fake.NewClientBuilder().WithScheme(testScheme()).Build()
	r, err := New(Options{BindAddress: "127.0.0.1:0", Insecure: true, CertDir: dir, Logger: logr.Discard()},
		c, c, tableFor(t), metrics.NewRecorder(prometheus.NewRegistry()))
	g.Expect(err).NotTo(HaveOccurred())
	r.Handle("/webhook/github", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) }))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Start(ctx) }()
	addr, err := r.Addr(ctx)
	g.Expect(err).NotTo(HaveOccurred())

	httpsClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // self-signed test certificate
	resp, err := httpsClient.Get("https://" + addr.String() + Path)
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusMethodNotAllowed))
	g.Expect(resp.TLS).NotTo(BeNil())
	resp, err = httpsClient.Post("https://"+addr.String()+"/webhook/github", "application/json", nil)
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusAccepted))

	cancel()
	g.Eventually(done, 10*time.Second).Should(Receive(BeNil()))
	_, err = net.DialTimeout("tcp", addr.String(), time.Second)
	g.Expect(err).To(HaveOccurred(), "the listener is closed after shutdown")
}

// TestStartWaitsForTheRoutingTable: a replica that has just started must not skip alerts as
// no_rule only because the policy reconciler has not compiled their policy yet.
func TestStartWaitsForTheRoutingTable(t *testing.T) {
	g := NewWithT(t)
	policy := seedPolicy("shop")
	policy.Generation = 2
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(policy).
		WithStatusSubresource(&v1beta1.Remediation{}, &v1beta1.RemediationPolicy{}).Build()
	tbl := tableFor(t)
	r, err := New(Options{BindAddress: "127.0.0.1:0", Insecure: true, Logger: logr.Discard()},
		c, c, tbl, metrics.NewRecorder(prometheus.NewRegistry()))
	g.Expect(err).NotTo(HaveOccurred())
	ctx := t.Context()
	go func() { _ = r.Start(ctx) }()
	addr, err := r.Addr(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	send := func() int {
		body := payloadJSON(t, firing(map[string]string{"alertname": "KubeHpaMaxedOut", "namespace": "shop", "horizontalpodautoscaler": "api"}, fp(1)))
		resp, err := http.Post("http://"+addr.String()+Path, "application/json", bytes.NewReader(body))
		g.Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	g.Consistently(send).WithTimeout(3 * tablePollInterval).Should(Equal(http.StatusServiceUnavailable))

	stale := policy.DeepCopy()
	stale.Generation = 1
	compiled, err := routing.Compile(stale)
	g.Expect(err).NotTo(HaveOccurred())
	tbl.Set(compiled)
	g.Consistently(send).WithTimeout(3*tablePollInterval).Should(Equal(http.StatusServiceUnavailable), "an older generation is not loaded")

	compiled, err = routing.Compile(policy)
	g.Expect(err).NotTo(HaveOccurred())
	tbl.Set(compiled)
	g.Eventually(send, 10*time.Second).Should(Equal(http.StatusOK))
	list := &v1beta1.RemediationList{}
	g.Expect(c.List(ctx, list)).To(Succeed())
	g.Expect(list.Items).To(HaveLen(1))
}
