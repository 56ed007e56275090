package reconcile

import (
	"errors"
	"fmt"
)

// Class says how the reconciler treats a provisioning error.
type Class int

const (
	// ClassTransient errors are retried with exponential backoff (the default for unclassified errors).
	ClassTransient Class = iota
	// ClassWaiting errors wait for something outside the request (e.g. a server to be configured); they are
	// retried slowly and at once when the configuration changes.
	ClassWaiting
	// ClassPermanent errors fail the request until its contract or the configuration changes.
	ClassPermanent
)

// Error is a provisioning error with a machine-readable reason, shown in the request's Ready condition.
type Error struct {
	Class   Class
	Reason  string // CamelCase, e.g. "PostgresNotConfigured"
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Transient marks err as worth retrying.
func Transient(reason string, err error, format string, args ...any) error {
	return &Error{Class: ClassTransient, Reason: reason, Message: fmt.Sprintf(format, args...), Err: err}
}

// Waiting marks a request as blocked on something outside it.
func Waiting(reason, format string, args ...any) error {
	return &Error{Class: ClassWaiting, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Permanent marks a request as failed until it changes.
func Permanent(reason, format string, args ...any) error {
	return &Error{Class: ClassPermanent, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

func classify(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Class: ClassTransient, Reason: "ProvisioningError", Message: err.Error()}
}
