// Package problem decides, in one place, what a user sees when something goes wrong: a typed error with a
// code, a public message and the offending field(s), which maps to an HTTP status, a JSON body
// {code, message, field} and a CLI exit code. Internal detail stays in the log.
package problem

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/goldenpathidp/goldenpath/internal/store"
	"github.com/goldenpathidp/goldenpath/internal/strictyaml"
)

// Code classifies a problem.
type Code string

const (
	Invalid         Code = "invalid"             // the input breaks a rule
	Unauthenticated Code = "unauthenticated"     // no or bad credentials
	Forbidden       Code = "forbidden"           // authenticated, not allowed
	NotFound        Code = "not_found"           // no such thing
	Conflict        Code = "conflict"            // clashes with current state (duplicate, race, already done)
	Precondition    Code = "failed_precondition" // not possible yet (e.g. merge without approvals)
	TooLarge        Code = "too_large"           // body over the limit
	Unavailable     Code = "unavailable"         // a dependency is down; try again
	Internal        Code = "internal"            // a bug or an unexpected failure; details are in the server log
)

// FieldError is one problem with one field, for the JSON body.
type FieldError struct {
	File  string `json:"file,omitempty"`
	Field string `json:"field,omitempty"`
	Line  int    `json:"line,omitempty"`
	Rule  string `json:"rule"`
}

// Error is a problem to show to a user.
type Error struct {
	Code    Code         `json:"code"`
	Message string       `json:"message"`
	Field   string       `json:"field,omitempty"`
	Errors  []FieldError `json:"errors,omitempty"`
	Reasons []string     `json:"reasons,omitempty"` // e.g. why a merge is blocked
	cause   error
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.cause }

// New builds a problem.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Field builds an Invalid problem about one field (a request parameter or body field).
func Field(field, format string, args ...any) *Error {
	e := New(Invalid, "%s: %s", field, fmt.Sprintf(format, args...))
	e.Field = field
	return e
}

// WithReasons attaches reasons.
func (e *Error) WithReasons(r []string) *Error { e.Reasons = r; return e }

// Wrap keeps cause for errors.Is while presenting the problem's message.
func (e *Error) Wrap(cause error) *Error { e.cause = cause; return e }

// From turns any error into a problem: problems pass through, validation errors become Invalid with their
// fields, store sentinels map to their codes, and anything else is Internal with a generic message.
func From(err error) *Error {
	var p *Error
	if errors.As(err, &p) {
		return p
	}
	if fes, ok := strictyaml.AsErrors(err); ok {
		out := &Error{Code: Invalid, Message: fes.Error(), cause: err}
		for _, fe := range fes {
			out.Errors = append(out.Errors, FieldError{File: fe.File, Field: fe.Field, Line: fe.Line, Rule: fe.Rule})
		}
		if len(fes) > 0 {
			out.Field = fes[0].Field
		}
		return out
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &Error{Code: NotFound, Message: err.Error(), cause: err}
	case errors.Is(err, store.ErrExists), errors.Is(err, store.ErrConflict):
		return &Error{Code: Conflict, Message: err.Error(), cause: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Code: Unavailable, Message: "the request was cancelled or timed out", cause: err}
	}
	return &Error{Code: Internal, Message: "internal error: the server log has the details", cause: err}
}

// Status maps a code to an HTTP status.
func (c Code) Status() int {
	switch c {
	case Invalid:
		return http.StatusBadRequest
	case Unauthenticated:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case NotFound:
		return http.StatusNotFound
	case Conflict:
		return http.StatusConflict
	case Precondition:
		return http.StatusUnprocessableEntity
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	case Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// CodeForStatus is the inverse of Status, for clients.
func CodeForStatus(status int) Code {
	for _, c := range []Code{Invalid, Unauthenticated, Forbidden, NotFound, Conflict, Precondition, TooLarge, Unavailable} {
		if c.Status() == status {
			return c
		}
	}
	return Internal
}

// ExitCode maps a code to a CLI exit code (2 is reserved for usage errors).
func (c Code) ExitCode() int {
	switch c {
	case Invalid:
		return 3
	case Unauthenticated, Forbidden:
		return 4
	case NotFound:
		return 5
	case Conflict, Precondition:
		return 6
	case Unavailable:
		return 7
	}
	return 1
}
