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

package httpserver

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/heal8s/heal8s/test/utils"
)

func TestServerPlainHTTP(t *testing.T) {
	g := NewWithT(t)
	s := &Server{Name: "test", BindAddress: "127.0.0.1:0", Server: &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }),
		ReadHeaderTimeout: time.Second,
	}}
	g.Expect(s.NeedLeaderElection()).To(BeFalse())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	addr, err := s.Addr(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	resp, err := http.Get("http://" + addr.String() + "/")
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusTeapot))
	cancel()
	g.Eventually(done, 5*time.Second).Should(Receive(BeNil()))
	_, err = net.DialTimeout("tcp", addr.String(), time.Second)
	g.Expect(err).To(HaveOccurred(), "the listener is closed after shutdown")
}

func TestServerTLS(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	_, err := utils.WriteSelfSignedCert(dir)
	g.Expect(err).NotTo(HaveOccurred())
	s := &Server{Name: "test", BindAddress: "127.0.0.1:0", CertDir: dir, Server: &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.TLS == nil {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}),
		ReadHeaderTimeout: time.Second,
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	addr, err := s.Addr(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	// Plain HTTP to a TLS port fails.
	resp, err := http.Get("http://" + addr.String() + "/")
	if err == nil {
		_ = resp.Body.Close()
		g.Expect(resp.StatusCode).To(Equal(http.StatusBadRequest))
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // self-signed test certificate
	resp, err = c.Get("https://" + addr.String() + "/")
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusNoContent))
	g.Expect(resp.TLS.NegotiatedProtocol).NotTo(Equal("h2"))
	cancel()
	g.Eventually(done, 5*time.Second).Should(Receive(BeNil()))
}

func TestServerFailsWithoutCertificate(t *testing.T) {
	g := NewWithT(t)
	s := &Server{Name: "test", BindAddress: "127.0.0.1:0", CertDir: t.TempDir(), Server: &http.Server{ReadHeaderTimeout: time.Second}}
	err := s.Start(context.Background())
	g.Expect(err).To(MatchError(ContainSubstring("loading the serving certificate")))
}
