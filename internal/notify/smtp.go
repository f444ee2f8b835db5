package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seamhq/seam"
)

// SMTP sends notices as plain-text e-mail. It speaks STARTTLS whenever the
// server offers it (port 465 is TLS from the first byte), and sends a
// password only over TLS or to a server on this machine: net/smtp's PLAIN
// refuses anything else, and the LOGIN mechanism here does the same.
type SMTP struct {
	Host string
	// Port defaults to 587.
	Port int
	From string
	// Username defaults to From's address when a password is set: most
	// providers log in with the sender's address.
	Username string
	Password string
	// TLSConfig is used for STARTTLS and port 465; nil verifies the
	// server's certificate against the system roots for Host.
	TLSConfig *tls.Config
	// Timeout bounds one whole conversation (default 30s).
	Timeout time.Duration
	// LocalName is sent in EHLO (default "localhost", as net/smtp does).
	LocalName string
}

// Send mails m to the recipients, in one message.
func (s *SMTP) Send(ctx context.Context, m *Message, to []string) error {
	if s.Host == "" || s.From == "" {
		return errors.New("smtp: host and from are required")
	}
	if len(to) == 0 {
		return errors.New("smtp: no recipient (give the owner an email, or the channel a to: list)")
	}
	from, err := mail.ParseAddress(s.From)
	if err != nil {
		return fmt.Errorf("smtp: from %q is not an e-mail address", s.From)
	}
	var rcpts []string
	for _, t := range to {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return fmt.Errorf("smtp: %q is not an e-mail address", t)
		}
		if !slices.Contains(rcpts, a.Address) {
			rcpts = append(rcpts, a.Address)
		}
	}
	port := s.Port
	if port == 0 {
		port = 587
	}
	addr := net.JoinHostPort(s.Host, strconv.Itoa(port))
	msg, err := s.compose(m, from, rcpts)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", addr, err)
	}
	if err := s.send(ctx, addr, port, from.Address, rcpts, msg); err != nil {
		return fmt.Errorf("smtp %s: %w", addr, err)
	}
	return nil
}

func (s *SMTP) send(ctx context.Context, addr string, port int, from string, rcpts []string, msg []byte) error {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tlsConfig := s.tlsConfig()

	d := &net.Dialer{}
	var conn net.Conn
	var err error
	if port == 465 {
		conn, err = (&tls.Dialer{NetDialer: d, Config: tlsConfig}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return err
	}
	// net/smtp knows no context: a deadline on the connection, and closing
	// it when ctx ends, bound the whole conversation.
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		conn.Close()
		return ctxErr(ctx, err)
	}
	defer c.Close()
	if err := c.Hello(s.localName()); err != nil {
		return ctxErr(ctx, err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok && port != 465 {
		if err := c.StartTLS(tlsConfig); err != nil {
			return fmt.Errorf("starttls: %w", ctxErr(ctx, err))
		}
	}
	if s.Username != "" || s.Password != "" {
		user := s.Username
		if user == "" {
			user = from
		}
		ok, mechs := c.Extension("AUTH")
		if !ok {
			return errors.New("the server offers no authentication, but a user name or password is configured")
		}
		var auth smtp.Auth
		switch fields := strings.Fields(mechs); {
		case slices.Contains(fields, "PLAIN"):
			auth = smtp.PlainAuth("", user, s.Password, s.Host)
		case slices.Contains(fields, "LOGIN"):
			auth = &loginAuth{user: user, pass: s.Password, host: s.Host}
		default:
			return fmt.Errorf("the server offers authentication by %s; Seam speaks PLAIN and LOGIN", mechs)
		}
		if err := c.Auth(auth); err != nil {
			return fmt.Errorf("authenticate: %w", ctxErr(ctx, err))
		}
	}
	if err := c.Mail(from); err != nil {
		return ctxErr(ctx, err)
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r); err != nil {
			return fmt.Errorf("recipient %s: %w", r, ctxErr(ctx, err))
		}
	}
	w, err := c.Data()
	if err != nil {
		return ctxErr(ctx, err)
	}
	if _, err := w.Write(msg); err != nil {
		return ctxErr(ctx, err)
	}
	if err := w.Close(); err != nil {
		return ctxErr(ctx, err)
	}
	// The message is accepted once DATA is answered; a failed QUIT does not
	// undo that, and reporting it would send the notice twice.
	_ = c.Quit()
	return nil
}

func (s *SMTP) tlsConfig() *tls.Config {
	if s.TLSConfig != nil {
		c := s.TLSConfig.Clone()
		if c.ServerName == "" {
			c.ServerName = s.Host
		}
		return c
	}
	return &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}
}

func (s *SMTP) localName() string {
	if s.LocalName != "" {
		return s.LocalName
	}
	return "localhost"
}

// ctxErr prefers the context's reason to the error of the connection it
// closed.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// compose writes the message: plain text in UTF-8, quoted-printable so that
// any relay carries it, with a Message-ID per notice and In-Reply-To the
// firing notice, so that mail readers thread an incident's notices.
func (s *SMTP) compose(m *Message, from *mail.Address, to []string) ([]byte, error) {
	in := m.Incident
	domain := "seam.invalid"
	if _, d, ok := strings.Cut(from.Address, "@"); ok && d != "" {
		domain = d
	}
	thread := fmt.Sprintf("<seam-incident-%d@%s>", in.ID, domain)
	id := thread
	if m.Kind != seam.NoticeFiring {
		nonce := make([]byte, 6)
		_, _ = rand.Read(nonce)
		id = fmt.Sprintf("<seam-incident-%d-%s-%s@%s>", in.ID, m.Kind, hex.EncodeToString(nonce), domain)
	}
	now := m.Now
	if now.IsZero() {
		now = time.Now()
	}
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, oneLine(v)) }
	header("From", from.String())
	header("To", strings.Join(to, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", m.Subject()))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", id)
	if id != thread {
		header("In-Reply-To", thread)
		header("References", thread)
	}
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	// Auto-Submitted keeps vacation responders from answering an alert.
	header("Auto-Submitted", "auto-generated")
	header("X-Seam-Incident", strconv.FormatInt(in.ID, 10))
	header("X-Seam-Flow", in.Flow)
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	text := strings.ReplaceAll(m.Text(), "\n", "\r\n")
	if _, err := qp.Write([]byte(text)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// loginAuth is the LOGIN mechanism, which some servers (Microsoft 365)
// offer instead of PLAIN. Like net/smtp's PLAIN, it refuses to send the
// password in clear text to anything but this machine.
type loginAuth struct {
	user, pass, host string
}

// Start implements smtp.Auth.
func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !isLocalhost(server.Name) {
		return "", nil, errors.New("unencrypted connection: the password is sent only over TLS or to localhost")
	}
	if server.Name != a.host {
		return "", nil, errors.New("wrong host name")
	}
	return "LOGIN", nil, nil
}

// Next implements smtp.Auth: it answers the server's two prompts.
func (a *loginAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch strings.ToLower(strings.TrimSpace(string(fromServer))) {
	case "username:", "user name", "username":
		return []byte(a.user), nil
	case "password:", "password":
		return []byte(a.pass), nil
	}
	return nil, fmt.Errorf("unexpected LOGIN challenge %q", fromServer)
}

func isLocalhost(name string) bool {
	return name == "localhost" || name == "127.0.0.1" || name == "::1"
}
