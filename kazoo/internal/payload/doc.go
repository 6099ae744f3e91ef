// Package payload prepares the JSON payloads that kamailio.cfg scripts hand to
// kazoo_publish and kazoo_query for the AMQP bus.
//
// # Accepted dialect
//
// The C kazoo module parsed payloads with json-c (json_tokener_parse_ex
// without JSON_TOKENER_STRICT), and deployed scripts rely on that leniency.
// Normalize accepts the same dialect and rewrites it to strict JSON (RFC 8259)
// in a single pass. Everything the rules below do not mention (spacing, key
// order, number text, UTF-8) is kept byte for byte.
//
//   - Strings and object keys may be single-quoted: {'a':'b'} becomes
//     {"a":"b"}. Inside a single-quoted string a raw " is escaped as \".
//   - The escape \' is accepted in either kind of string and becomes a plain '.
//   - Block comments (/* ... */) and line comments (// up to a newline) may
//     appear anywhere whitespace may. They are removed.
//   - A trailing comma before } or ] is removed: [1,2,] becomes [1,2].
//   - Only the first complete value is read. Anything after it is ignored:
//     {"a":1} trailing garbage becomes {"a":1}. Whitespace and comments
//     before the value are dropped.
//   - Raw control characters (bytes below 0x20) inside strings are escaped as
//     \b, \t, \n, \f, \r or \u00XX.
//   - true, false and null are matched without regard to case (TRUE, Null)
//     and written in lower case.
//   - json-c's lenient numbers are rewritten to strict form. Leading zeros
//     are dropped (007 becomes 7). A missing integer or fraction digit is
//     supplied (-.5 becomes -0.5, 1. becomes 1.0). An exponent marker with
//     no digits is dropped (1e+ becomes 1), as json-c trims it.
//   - A \u escape for an unpaired UTF-16 surrogate becomes \ufffd, because
//     json-c decodes it to U+FFFD.
//
// Normalize rejects the following. Each error is a *SyntaxError that gives
// the byte offset of the problem.
//
//   - empty input, or input that holds only whitespace and comments
//   - unterminated strings, objects, arrays and block comments
//   - unknown escapes
//   - structural errors such as {"a" 1}, [1 2], [1,,2] and unquoted keys
//   - misspelled literals
//   - NaN and Infinity (json-c accepts them, but strict JSON cannot carry them)
//   - nesting deeper than MaxDepth
//
// Bytes of 0x80 and above are copied unchanged. Invalid UTF-8 is not repaired,
// because json-c did not check it either.
//
// # Differences from json-c 0.16
//
// These differences are deliberate. TestAgainstJSONC checks them against
// the real library.
//
//   - json-c rejects \' ("invalid string sequence"). We accept it.
//   - json-c limits nesting to 32 levels. We allow 128.
//   - json-c fails when the text after the value starts with a '/' that
//     does not open a comment. We ignore all trailing text.
//   - json-c accepts NaN and Infinity. We reject them.
//   - json-c saturates integers beyond 64 bits. We keep the digits.
//   - json-c published lenient doubles verbatim (1., -.5, 00.5), which is
//     invalid JSON. We write the same value in strict form.
//   - We do not copy two json-c bugs. "**/" does not close a comment in
//     json-c. An unterminated document whose last comment runs to the end
//     of input "succeeds" and returns its innermost value.
//   - Duplicate keys are kept as written. json-c kept the last value at the
//     first key's position. Reading a top-level member (TopLevelString,
//     TopLevelText) gives the last value, as json-c did.
//
// # Envelope fields
//
// AddMissing appends fields, such as Msg-ID, Server-ID and Node, to a
// top-level object that lacks them. TopLevelString reads one top-level string,
// for example a Msg-ID that the script supplied. NewMsgID creates a random
// version-4 UUID to use as a Msg-ID.
//
// # Performance
//
// A Normalizer holds scratch buffers that it reuses, so steady-state use
// does not allocate when the caller reuses dst. A Normalizer is not safe for
// concurrent use. Give each goroutine (SIP worker) its own.
package payload
