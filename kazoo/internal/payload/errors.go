package payload

import (
	"errors"
	"strconv"
)

// SyntaxError reports input that Normalize (or AddMissing) cannot accept.
type SyntaxError struct {
	Offset int    // byte offset in the input where the problem was found
	Reason string // what is wrong, e.g. "unterminated string"
}

func (e *SyntaxError) Error() string {
	return "invalid JSON at offset " + strconv.Itoa(e.Offset) + ": " + e.Reason
}

// ErrNotObject is returned by AddMissing when the top-level value is valid
// but is not an object (Kazoo messages are always objects).
var ErrNotObject = errors.New("payload: top-level JSON value is not an object")

func syntaxError(offset int, reason string) error {
	return &SyntaxError{Offset: offset, Reason: reason}
}
