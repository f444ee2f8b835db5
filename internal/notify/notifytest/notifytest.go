// Package notifytest runs real receivers of notifications inside a test:
// an SMTP server (github.com/emersion/go-smtp, with STARTTLS and AUTH
// PLAIN when asked) and a chat webhook (httptest). Test-only: nothing
// outside _test files imports it.
package notifytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"
)

// Mail is one message the SMTP server accepted.
type Mail struct {
	From    string
	To      []string
	Header  mail.Header
	Subject string // decoded
	Body    string // decoded from quoted-printable, with \n line ends
	// TLS and User say how the client delivered it.
	TLS  bool
	User string
}

// SMTPOptions configure an SMTPServer.
type SMTPOptions struct {
	// TLS makes the server offer STARTTLS with a certificate for
	// 127.0.0.1; ClientTLS then trusts it.
	TLS bool
	// User and Password, when set, are the only credentials accepted
	// (AUTH PLAIN).
	User, Password string
	// IP to listen on (default 127.0.0.1). Another loopback address, such
	// as 127.0.0.2, is this machine under a name that is not "localhost".
	IP string
}

// SMTPServer is a real SMTP server on 127.0.0.1 that keeps what it gets.
type SMTPServer struct {
	Host string
	Port int

	opts      SMTPOptions
	clientTLS *tls.Config

	mu    sync.Mutex
	mails []*Mail
	// failNext makes the next so many DATA commands fail with a 451.
	failNext int
}

// NewSMTPServer starts a server that stops when the test ends.
func NewSMTPServer(t testing.TB, opts SMTPOptions) *SMTPServer {
	t.Helper()
	s := &SMTPServer{opts: opts}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.ErrorLog = nopLogger{}
	if opts.TLS {
		cert, pool := selfSigned(t)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		s.clientTLS = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	} else {
		// Without TLS the server must still take AUTH, as a local relay
		// does; the client is what refuses to send a password in clear text
		// to anything but this machine.
		srv.AllowInsecureAuth = true
	}
	ip := opts.IP
	if ip == "" {
		ip = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	addr := ln.Addr().(*net.TCPAddr)
	s.Host, s.Port = ip, addr.Port
	return s
}

// ClientTLS is a client configuration that trusts the server's certificate.
func (s *SMTPServer) ClientTLS() *tls.Config { return s.clientTLS.Clone() }

// Mails returns a copy of what the server accepted, in order.
func (s *SMTPServer) Mails() []*Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Mail(nil), s.mails...)
}

// FailNext makes the next n messages fail at DATA with a temporary error.
func (s *SMTPServer) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

type session struct {
	srv  *SMTPServer
	conn *smtp.Conn
	from string
	to   []string
	user string
}

func (s *session) AuthMechanisms() []string {
	if s.srv.opts.User == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != s.srv.opts.User || pass != s.srv.opts.Password {
			return errors.New("invalid credentials")
		}
		s.user = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.opts.User != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	if s.srv.failNext > 0 {
		s.srv.failNext--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		return err
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		return err
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.srv.mails = append(s.srv.mails, &Mail{From: s.from, To: append([]string(nil), s.to...), Header: msg.Header,
		Subject: subject, Body: strings.ReplaceAll(string(body), "\r\n", "\n"), TLS: isTLS, User: s.user})
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

var _ smtp.AuthSession = (*session)(nil)

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
func (nopLogger) Println(...any)        {}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "seam test SMTP"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// Post is one request the webhook receiver got.
type Post struct {
	Path        string
	ContentType string
	// Text is the payload's text field.
	Text string
	// Payload is the whole JSON payload.
	Payload map[string]any
}

// Webhook is a chat webhook receiver on httptest.
type Webhook struct {
	// URL to post to; its path stands for a chat's secret token.
	URL string

	mu    sync.Mutex
	posts []*Post
	// statuses are answered, in order, before the receiver answers 200.
	statuses []int
}

// NewWebhook starts a receiver that stops when the test ends.
func NewWebhook(t testing.TB) *Webhook {
	t.Helper()
	w := &Webhook{}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		if len(w.statuses) > 0 {
			code := w.statuses[0]
			w.statuses = w.statuses[1:]
			w.mu.Unlock()
			http.Error(rw, "failing on purpose: "+strconv.Itoa(code), code)
			return
		}
		w.mu.Unlock()
		var payload map[string]any
		if err := json.NewDecoder(r.Body).Decode(&payload); err != nil {
			http.Error(rw, "not JSON", http.StatusBadRequest)
			return
		}
		text, _ := payload["text"].(string)
		w.mu.Lock()
		w.posts = append(w.posts, &Post{Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), Text: text, Payload: payload})
		w.mu.Unlock()
		_, _ = io.WriteString(rw, "ok")
	}))
	t.Cleanup(srv.Close)
	w.URL = srv.URL + "/services/T000/B000/s3cr3t-token"
	return w
}

// Fail makes the next requests fail with these statuses, in order.
func (w *Webhook) Fail(statuses ...int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.statuses = append(w.statuses, statuses...)
}

// Posts returns a copy of the accepted posts, in order.
func (w *Webhook) Posts() []*Post {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*Post(nil), w.posts...)
}

// Titles returns the first line of each accepted post's text.
func (w *Webhook) Titles() []string {
	var out []string
	for _, p := range w.Posts() {
		title, _, _ := strings.Cut(p.Text, "\n")
		out = append(out, title)
	}
	return out
}
