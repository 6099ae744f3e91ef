// Package status holds the status codes that cross the C boundary (kz_status in
// cshim/kazoo_abi.h) and an error type carrying one, so that every layer can say
// precisely why a script function failed and the shim can map it to a return code.
package status

import "fmt"

// Code mirrors kz_status; internal/abi/abicheck checks that the values agree (its test, and
// kzgo_init at start-up).
type Code int32

const (
	OK         Code = 0
	Argument   Code = -1 // bad input from the script
	NoBroker   Code = -2 // no open connection to any broker
	Timeout    Code = -3 // the broker did not answer in time
	Rejected   Code = -4 // the broker refused (nack, channel closed)
	Internal   Code = -5 // a bug on our side
	NotRunning Code = -6 // Go not running in the process (shim only)
	Config     Code = -7 // unusable configuration
	Buffer     Code = -8 // output buffer too small
	SpoolFull  Code = -9 // no broker, and the publish spool is full
	Spooled    Code = 1  // not an error: no broker now, the publish waits in the spool
)

// Error is an error with a boundary status code.
type Error struct {
	Code     Code
	Msg      string
	Returned *Returned // set when the broker returned the message as unroutable
}

// Returned is the broker's basic.return of a mandatory message.
type Returned struct {
	Code   int    // 312 NO_ROUTE, 313 NO_CONSUMERS
	Reason string // the broker's reply text
}

func (e *Error) Error() string { return e.Msg }

// Errorf builds an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// IsSuccess tells whether a status means the request was taken (sent or spooled).
func IsSuccess(c Code) bool { return c >= 0 }

// CodeOf returns the status of err: OK for nil, Internal for errors without a code.
func CodeOf(err error) Code {
	if err == nil {
		return OK
	}
	if e, ok := err.(*Error); ok {
		return e.Code
	}
	return Internal
}
