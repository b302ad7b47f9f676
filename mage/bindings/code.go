package bindings

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// Code classifies the error of a call, as gRPC's status codes do. An
// implementation returns a *Error with one (NewError, Errorf); the caller
// receives the same code and message and matches them with errors.Is and
// errors.As. The numbers are those of gRPC, and they travel on the wire.
type Code uint32

// The codes. OK is never the code of an error.
const (
	OK                 Code = 0
	Canceled           Code = 1
	Unknown            Code = 2
	InvalidArgument    Code = 3
	DeadlineExceeded   Code = 4
	NotFound           Code = 5
	AlreadyExists      Code = 6
	PermissionDenied   Code = 7
	ResourceExhausted  Code = 8
	FailedPrecondition Code = 9
	Aborted            Code = 10
	OutOfRange         Code = 11
	Unimplemented      Code = 12
	Internal           Code = 13
	Unavailable        Code = 14
	DataLoss           Code = 15
	Unauthenticated    Code = 16
)

var codeNames = [...]string{
	OK:                 "ok",
	Canceled:           "canceled",
	Unknown:            "unknown",
	InvalidArgument:    "invalid argument",
	DeadlineExceeded:   "deadline exceeded",
	NotFound:           "not found",
	AlreadyExists:      "already exists",
	PermissionDenied:   "permission denied",
	ResourceExhausted:  "resource exhausted",
	FailedPrecondition: "failed precondition",
	Aborted:            "aborted",
	OutOfRange:         "out of range",
	Unimplemented:      "unimplemented",
	Internal:           "internal",
	Unavailable:        "unavailable",
	DataLoss:           "data loss",
	Unauthenticated:    "unauthenticated",
}

// String names the code in lower case ("not found"); a code this package
// does not know, sent by a newer peer, is "code 17".
func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "code " + strconv.FormatUint(uint64(c), 10)
}

// Error is an error with a Code. An implementation returns one to give its
// caller a code; the caller's call returns a *Error with the same Code and
// Message (the text cut to 4 KiB).
//
// errors.Is(err, target) holds for a target *Error with the same Code and
// either the same Message or none, so the code sentinels below match every
// error of their code:
//
//	if errors.Is(err, bindings.ErrNotFound) { ... }
//	var e *bindings.Error
//	if errors.As(err, &e) && e.Code == bindings.PermissionDenied { ... }
type Error struct {
	Code    Code
	Message string
}

// NewError returns a *Error with the code and message.
func NewError(code Code, message string) *Error { return &Error{Code: code, Message: message} }

// Errorf returns a *Error with the code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "bindings: " + e.Code.String()
	}
	return "bindings: " + e.Code.String() + ": " + e.Message
}

// Is reports whether target is a *Error of the same code whose message is
// empty or the same.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
}

// Code sentinels: each matches, with errors.Is, every *Error of its code.
var (
	ErrCanceled           = &Error{Code: Canceled}
	ErrUnknown            = &Error{Code: Unknown}
	ErrInvalidArgument    = &Error{Code: InvalidArgument}
	ErrDeadlineExceeded   = &Error{Code: DeadlineExceeded}
	ErrNotFound           = &Error{Code: NotFound}
	ErrAlreadyExists      = &Error{Code: AlreadyExists}
	ErrPermissionDenied   = &Error{Code: PermissionDenied}
	ErrResourceExhausted  = &Error{Code: ResourceExhausted}
	ErrFailedPrecondition = &Error{Code: FailedPrecondition}
	ErrAborted            = &Error{Code: Aborted}
	ErrOutOfRange         = &Error{Code: OutOfRange}
	ErrUnimplemented      = &Error{Code: Unimplemented}
	ErrInternal           = &Error{Code: Internal}
	ErrUnavailable        = &Error{Code: Unavailable}
	ErrDataLoss           = &Error{Code: DataLoss}
	ErrUnauthenticated    = &Error{Code: Unauthenticated}
)

// CodeOf returns the code of err: OK for nil, the Code of a *Error in its
// chain, Canceled or DeadlineExceeded for the context errors, Unknown for
// anything else (a *RemoteError among them).
func CodeOf(err error) Code {
	if err == nil {
		// Before e: errors.As makes it escape, an allocation a successful
		// call does not need.
		return OK
	}
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, context.Canceled):
		return Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return DeadlineExceeded
	}
	return Unknown
}
