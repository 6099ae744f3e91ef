// Package kzjson evaluates the JSON lookups of the Kamailio kazoo module:
// the transformations {kz.json,path} and {kz.json.count,path}, the
// functions kazoo_json(json, path, $var) and kazoo_json_keys(json, path,
// $avp), and {kz.encode} / kazoo_encode. Results are byte for byte what the
// C module (kamailio 5.6.3 with json-c 0.16, as in Debian 12) produced,
// except for the deliberate differences listed at the end.
//
// An Evaluator parses a document once and keeps it, so a run of lookups on
// the same $kzE or $kzR parses it only the first time. Nothing is allocated
// per call once the buffers have grown; results are appended to
// caller-provided buffers.
//
// # Documents
//
// A document is read as json-c 0.16 reads it without JSON_TOKENER_STRICT.
// The parser is a port of json-c's tokenizer and accepts exactly what
// json-c accepts:
//
//   - Strings and keys may be single-quoted ('a'). The other quote is then
//     an ordinary character. The escape \' is an error in both kinds.
//   - The escapes are \" \\ \/ \b \f \n \r \t and \uXXXX. A \u escape for
//     an unpaired UTF-16 surrogate decodes to U+FFFD. Raw control
//     characters and invalid UTF-8 are accepted inside strings.
//   - Comments (/* */ and // to the end of the line) may appear wherever
//     whitespace may. Whitespace is space, tab, newline and carriage
//     return.
//   - Trailing commas are accepted: [1,2,] and {"a":1,}.
//   - true, false and null are matched without regard to case, as are NaN,
//     Infinity and -Infinity.
//   - Numbers are read as json-c reads them: 007, 1., -.5 and 00.5 are
//     numbers, and a dangling exponent is dropped (1e+ is 1). 1.2.3, 1.-5
//     and a lone - are errors, as is any number inside a container that is
//     not followed by whitespace, a comment, ',', ']' or '}'.
//   - Only the first value is read. Text after it is ignored, except that
//     a '/' directly after it (whitespace and comments aside) must start a
//     comment.
//   - Nesting is limited to 32 levels: a container at depth 31 (the
//     top-level value has depth 0) must be empty.
//   - The document ends at its first NUL byte, like the C string json-c
//     was given.
//
// json-c quirks are kept. "**/" does not end a comment, because json-c
// consumes the byte after a '*' without checking it for another '*'. When
// the document ends inside a comment that follows a complete value, json-c
// reports success and returns that value, even if it is nested. So
// {"a":{"b":2} /* x is the object {"b":2}.
//
// A document that json-c rejects, or one that is just null, is invalid:
// Get returns Kind Invalid with ErrInvalidJSON. The C module logged "empty
// or invalid JSON" and returned "".
//
// # Paths
//
// A path is used as the C module received it after its variables were
// expanded. The transformation parser skips spaces, tabs and newlines at
// the start of a literal parameter when the config is loaded, and ends the
// parameter at a tab, newline, ',' or '}'. Trailing spaces belong to the
// path. ParamSpan implements that rule.
//
//   - The path is split on '.'. A single trailing dot is ignored: "a." is
//     "a". An empty path, ".", a leading dot or two dots in a row made the
//     C module fail an assertion and abort the SIP worker. Here they return
//     ErrPath with Kind Invalid.
//   - In each segment, the escape character (module parameter
//     json_escape_char, default '%') stands for a literal '.' in the key:
//     Flags.media%bypass reads the key "media.bypass".
//   - A segment is name or name[index]. Keys are matched exactly, case
//     included. Only the first [index] of a segment is used. Anything after
//     its ']' is ignored, and so is a missing ']'. An empty [] is no index.
//   - The index is converted like C's atoi: leading whitespace and a sign
//     are allowed, conversion stops at the first non-digit ("1x" is 1, "x"
//     is 0), and the value is truncated to 32 bits (4294967297 is 1). A
//     negative or out-of-range index finds nothing.
//   - The index applies only when the value is an array and is ignored
//     otherwise: s[0] on a string returns the string.
//   - A segment that starts with '[' has no key. The C module then looks
//     up the previous segment's key again: a.[0] on {"a":{"a":5}} is 5. For
//     the first segment the key is the empty string.
//   - When a key appears more than once, the last value counts, as json-c
//     keeps only that one.
//   - The path ends at its first NUL byte.
//
// # Results
//
// Get appends the value the way json_object_get_string returned it:
//
//   - A string is appended raw: unescaped and not quoted. It ends at a
//     \u0000, because the C module used the value as a C string.
//   - An integer is printed from its 64-bit value: 007 is 7 and -0 is 0.
//     Values beyond the 64-bit range are clamped: json-c saturates negative
//     numbers at -9223372036854775808 and other numbers at
//     18446744073709551615.
//   - Any other number keeps its text after the dangling exponent is
//     trimmed: 1.50, 1e2, 1. and 1e400 print as written. NaN, Infinity and
//     -Infinity print in that spelling whatever case the document used.
//   - A boolean prints true or false.
//   - An object or array is serialised the way
//     json_object_to_json_string does it, with JSON_C_TO_STRING_SPACED:
//     { "a": 1, "b": [ 1, 2 ] }, { } and [ ]. Keys keep document order. A
//     duplicate key stays at its first position and takes the last value.
//     Strings are escaped as \" \\ \/ \b \f \n \r \t and other bytes below
//     0x20 as \u00xx in lower-case hex. Everything else, DEL and non-ASCII
//     included, is copied as is. A \u0000 inside a nested string is written
//     as \u0000. A key ends at its first \u0000. Numbers are printed as
//     above and null as null.
//   - For a JSON null Get returns Kind Null. When the path finds nothing it
//     returns Kind Missing. Neither appends anything. The C module could
//     not tell the two apart: the transformation returned "" and
//     kazoo_json set $null.
//
// Count returns the number of elements of the array at the path. It returns
// 0 when nothing is found or the value is not an array. The C module also
// returned 0 for an invalid document; Count returns an error with it.
//
// Keys returns the keys of the object at the path in document order. A
// duplicate key is listed once, at its first position. Each key is followed
// by a 0 byte. kazoo_json_keys added one AVP per key in this order. AVPs
// stack, so $(avp(x)[0]) is the last key. To reproduce that, the caller adds
// the AVPs in the order returned. kazoo_json_keys did not clear the AVP
// first.
//
// # Encode
//
// Encode implements kz.encode and kazoo_encode, the C module's
// kz_amqp_util_encode for AMQP routing-key words:
//
//   - An input that is exactly "#" or "*" is returned unchanged.
//   - Otherwise A-Z, a-z, 0-9, '-', '~' and '_' are kept, '.' becomes %2E,
//     a space becomes '+', and every other byte becomes %XX in upper-case
//     hex. For example, a.b c#d*e/f+g_h-i~j:k@l encodes to
//     a%2Eb+c%23d%2Ae%2Ff%2Bg_h-i~j%3Ak%40l.
//   - Encoding stops before the next input byte once the output has reached
//     MaxRoutingKeySize (255) bytes, so the output is at most 257 bytes
//     long. The C module wrote those 256 or 257 bytes, plus a NUL, into a
//     256-byte buffer; in the Debian build the overflow had no visible
//     effect.
//   - The transformation never fails. kazoo_encode() fails (-1) for an
//     input longer than 255 bytes; that check belongs to the caller.
//
// # Differences from the C module
//
//   - Paths that made the C module abort the SIP worker (empty, ".", a
//     leading dot, "..") return ErrPath.
//   - kazoo_json_keys on a value that is not an object crashed the process
//     with a NULL dereference. Keys returns nothing and no error.
//   - Encode writes bytes of 0x80 and above as correct percent-escapes
//     (é is %C3%A9), as Kazoo's own kz_amqp_util:encode/1 does. The C
//     module shifted a signed char and produced %,3%*9.
//   - Keys and indexes of 250 bytes or more in a path segment overflowed
//     250-byte stack buffers in the C module. Here they work.
//   - For a first path segment that starts with '[', C read an
//     uninitialised buffer. We look up the empty key, which is what the
//     Debian build was observed to do.
//   - The C transformations copied results into 64 KiB buffers without a
//     length check. Get has no limit; the caller decides what fits.
//
// Everything else is checked against the real libjson-c 0.16.
// TestAgainstJSONC runs the C module's lookup code, linked against the
// system's libjson-c.so.5, on the table tests and on tens of thousands of
// random documents and paths. It skips when no C compiler or library is
// available. FuzzGet and FuzzPath do the same comparison on every input when
// KAZOO_JSONC_FUZZ=1.
//
// # Why not fastjson
//
// fastjson accepts documents that json-c rejects: invalid escapes, numbers
// such as 1.2.3 or +1, and nesting deeper than 32 levels. It cannot read
// the lenient dialect, and it gives the first of duplicate keys. Running
// payload.Normalizer first would change number text that json-c prints
// verbatim (1. would print as 1.0). The json-c port parses the realistic
// 1.5 KB payload of the benchmarks in about 1.9 µs, against 1.7 µs for
// fastjson's parse alone. It needs no second pass for lenient input, and
// lookups on the cached document skip parsing entirely (about 0.15 µs).
package kzjson
