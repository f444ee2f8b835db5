package seam

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in internal/httpapi and to one
// exit code in the CLI; they say what the caller should do next.
const (
	EINVALID      = "invalid"      // the request or record is wrong; fix it, do not retry as is
	ENOTFOUND     = "not_found"    // no such thing
	ECONFLICT     = "conflict"     // clashes with what exists (duplicate, already delivered)
	EUNAUTHORIZED = "unauthorized" // missing or bad credentials or signature
	EFORBIDDEN    = "forbidden"    // authenticated, but the role may not do this
	ETOOLARGE     = "too_large"    // body over the limit
	EUNSUPPORTED  = "unsupported"  // content type not accepted
	EUNAVAILABLE  = "unavailable"  // shutting down or not ready; retry later
	EREFUSED      = "refused"      // well-formed, but the content breaks a rule (mapping, model); kept in quarantine
	EMETHOD       = "method"       // the HTTP method is not accepted here
	EINTERNAL     = "internal"     // a bug or an outage; the detail is in the log, not the response
)

// Error is an application error with a code, a message safe to show to the
// caller, and an optional hint saying what to try.
type Error struct {
	Code    string
	Message string
	Hint    string
	Err     error // the cause, for logs; never shown to callers
}

// Errorf returns an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil && e.Message == "" {
		return e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// WithHint returns e with a hint attached.
func (e *Error) WithHint(hint string) *Error { e.Hint = hint; return e }

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err: the message of an
// *Error, and "internal error" for anything else, whose detail belongs in
// the log only.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Message
	}
	return "internal error"
}
