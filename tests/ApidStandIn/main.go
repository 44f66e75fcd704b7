// Command apid-standin is an independent TLS peer for Talos.Recovery's tests: a server with the TLS settings of
// Talos's apid (Go crypto/tls, as configured by siderolabs/crypto and apid), speaking HTTP/2.
//
//   - client certificate required and verified against -ca (RequireAndVerifyClientCert)
//   - every non-CA certificate of the verified chain must have ExtKeyUsage exactly [ClientAuth]
//   - TLS 1.2 minimum, the only TLS 1.2 suite ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, Go's TLS 1.3 suites
//   - X25519 only, ALPN h2 only, no session tickets
//
// Without -backend it answers every request itself with a line describing the connection. With -backend
// http://127.0.0.1:PORT it reverse-proxies every request to that plaintext HTTP/2 (h2c) server, as apid proxies to
// machined: the client's own talos-role header is dropped and the roles from the client certificate (subject O
// values) are sent as talos-role.
//
// It prints "LISTENING host:port" on stdout once it accepts connections, and one line per refused handshake on
// stderr. Built by the tests with the Go toolchain in GOPATH mode (golang.org/x/net from Debian's
// golang-golang-x-net-dev); it needs nothing else.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"

	"golang.org/x/net/http2"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	certFile := flag.String("cert", "", "server certificate PEM")
	keyFile := flag.String("key", "", "server key PEM")
	caFile := flag.String("ca", "", "PEM of the CAs accepted for client certificates")
	backend := flag.String("backend", "", "optional h2c backend (http://host:port) to reverse-proxy to")
	flag.Parse()
	log.SetFlags(0)
	log.SetOutput(os.Stderr)

	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatalf("loading server certificate: %v", err)
	}
	caPEM, err := os.ReadFile(*caFile)
	if err != nil {
		log.Fatalf("reading CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		log.Fatalf("no CA certificate in %s", *caFile)
	}

	config := &tls.Config{
		Certificates:           []tls.Certificate{cert},
		ClientAuth:             tls.RequireAndVerifyClientCert,
		ClientCAs:              pool,
		MinVersion:             tls.VersionTLS12,
		CipherSuites:           []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
		CurvePreferences:       []tls.CurveID{tls.X25519},
		NextProtos:             []string{"h2"},
		SessionTicketsDisabled: true,
		VerifyPeerCertificate:  verifyExtKeyUsage,
	}

	var handler http.Handler = http.HandlerFunc(describe)
	if *backend != "" {
		target, err := url.Parse(*backend)
		if err != nil || target.Scheme != "http" || target.Host == "" {
			log.Fatalf("-backend must be http://host:port")
		}
		handler = proxyTo(target)
	}

	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	fmt.Printf("LISTENING %s\n", listener.Addr())

	server := &http2.Server{}
	for {
		conn, err := listener.Accept()
		if err != nil {
			log.Fatalf("accept: %v", err)
		}
		go serve(server, tls.Server(conn, config), handler)
	}
}

func serve(server *http2.Server, conn *tls.Conn, handler http.Handler) {
	defer conn.Close()
	if err := conn.Handshake(); err != nil {
		log.Printf("handshake error from %s: %v", conn.RemoteAddr(), err)
		return
	}
	if conn.ConnectionState().NegotiatedProtocol != "h2" {
		log.Printf("client %s did not negotiate h2", conn.RemoteAddr())
		return
	}
	// Go's HTTP/2 server sets r.TLS only for ":scheme https"; Talos.Recovery's client sends "http" over its own TLS
	// (grpc-go, which apid uses, ignores the scheme), so the handlers read the connection state from the context.
	ctx := context.WithValue(context.Background(), tlsStateKey{}, conn.ConnectionState())
	server.ServeConn(conn, &http2.ServeConnOpts{Handler: handler, Context: ctx})
}

type tlsStateKey struct{}

func tlsState(r *http.Request) *tls.ConnectionState {
	if state, ok := r.Context().Value(tlsStateKey{}).(tls.ConnectionState); ok {
		return &state
	}
	return r.TLS
}

// verifyExtKeyUsage is apid's extra rule: every non-CA certificate of every verified chain must have ExtKeyUsage
// exactly [ClientAuth].
func verifyExtKeyUsage(_ [][]byte, verifiedChains [][]*x509.Certificate) error {
	for _, chain := range verifiedChains {
		for _, cert := range chain {
			if cert.IsCA {
				continue
			}
			if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
				return errors.New("certificate extended key usage is not exactly [ClientAuth]")
			}
		}
	}
	return nil
}

func roles(r *http.Request) []string {
	state := tlsState(r)
	if state == nil || len(state.PeerCertificates) == 0 {
		return nil
	}
	var result []string
	for _, o := range state.PeerCertificates[0].Subject.Organization {
		if o != "" {
			result = append(result, o)
		}
	}
	return result
}

func describe(w http.ResponseWriter, r *http.Request) {
	state := tlsState(r)
	if state == nil {
		http.Error(w, "no TLS state", http.StatusInternalServerError)
		return
	}
	version := "unknown"
	switch state.Version {
	case tls.VersionTLS13:
		version = "TLS1.3"
	case tls.VersionTLS12:
		version = "TLS1.2"
	}
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "proto=%s tls=%s alpn=%s sni=%s roles=%s path=%s\n",
		r.Proto, version, state.NegotiatedProtocol, state.ServerName, strings.Join(roles(r), ","), r.URL.Path)
}

func proxyTo(target *url.URL) http.Handler {
	transport := &http2.Transport{
		AllowHTTP: true,
		DialTLS: func(network, addr string, _ *tls.Config) (net.Conn, error) {
			return net.Dial(network, addr)
		},
	}
	return &httputil.ReverseProxy{
		Director: func(r *http.Request) {
			r.URL.Scheme = target.Scheme
			r.URL.Host = target.Host
			r.Header.Del("talos-role")
			for _, role := range roles(r) {
				r.Header.Add("talos-role", role)
			}
		},
		Transport:     transport,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			log.Printf("proxy error: %v", err)
			w.WriteHeader(http.StatusBadGateway)
		},
	}
}
