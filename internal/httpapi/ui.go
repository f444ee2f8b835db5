package httpapi

import (
	"crypto/sha256"
	"net/http"
)

// Authenticate checks a token exactly as the API checks a bearer token
// (the same code, so the dashboard can never accept a token the API
// refuses) and returns the token's name, the actor in the audit log, and
// whether it may act (operator).
func (s *Server) Authenticate(token string) (name string, operator bool, err error) {
	r := &http.Request{Header: http.Header{"Authorization": {"Bearer " + token}}}
	if name, err = s.authorize(r, RoleViewer); err != nil {
		return "", false, err
	}
	_, err = s.authorize(r, RoleOperator)
	return name, err == nil, nil
}

// SessionKey is the key the dashboard seals its session cookies with,
// derived from every token: nodes with the same tokens accept each other's
// sessions and a restart keeps them, and changing any token ends them all.
// Knowing one token (a viewer's) does not give the key.
func (s *Server) SessionKey() []byte {
	h := sha256.New()
	h.Write([]byte("seam dashboard sessions v1\x00"))
	for _, t := range s.Tokens {
		h.Write([]byte(t.Name + "\x00" + t.Value + "\x00" + string(t.Role) + "\x00"))
	}
	return h.Sum(nil)
}
