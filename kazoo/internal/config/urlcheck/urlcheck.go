// Package urlcheck runs the C shim's amqp_connection check (cshim/kz_url.c, linked here as
// kz_url.c so that Go's build cache sees its changes) outside Kamailio, so that a test can
// compare it with what the Go side refuses after fork.
package urlcheck

/*
#cgo CFLAGS: -I${SRCDIR}/../../../../cshim -Wall -Werror=implicit-function-declaration
#include <stdlib.h>
#include "kz_url.h"
*/
import "C"

import "unsafe"

// Check is kz_url_check: nil when the URL passes, else the reason it gives.
func Check(url string) error {
	cs := C.CString(url)
	defer C.free(unsafe.Pointer(cs))
	var why [256]C.char
	if C.kz_url_check(cs, &why[0], C.size_t(len(why))) == 0 {
		return nil
	}
	return reason(C.GoString(&why[0]))
}

type reason string

func (r reason) Error() string { return string(r) }
