// Package pua builds the presentity rows that the Kamailio kazoo module's
// kazoo_pua_publish, kazoo_pua_publish_mwi, kazoo_pua_publish_presence and
// kazoo_pua_publish_dialoginfo wrote (kz_pua.c in kamailio 5.6.3). Writing
// the row is left to the caller.
//
// The rules and body templates are the C module's, byte for byte, with the
// deliberate differences below.
//
// # Input
//
// Payloads are parsed by package kzjson, the project's port of json-c (the
// parser and printer the C module used), so the dialect (single quotes,
// comments, trailing commas...) and the printed values are json-c's. A field is read as
// json_extract_field read it: a string unescaped and cut at its first NUL
// byte, a number as json-c prints it, true/false, an object or array as
// json-c serialises it; a missing field or null is "". Where the C code
// tested a field's length, "" counts as missing. Integers (Expires,
// Flush-Level) are read as json_object_get_int: saturated to int32, strings
// converted like strtoll. When a key is repeated, the last value counts.
//
// # Differences from the C module
//
//   - Every value put into the presence and dialog XML bodies is escaped
//     (& < > " ' as entities; TAB, LF, CR as character references). The C
//     module inserted values verbatim, so a '<' or '&' made the body
//     ill-formed. Values XML cannot carry at all (other control characters,
//     invalid UTF-8, U+FFFE, U+FFFF) are an ErrValue.
//   - A CR or LF in a message-summary value is an ErrValue: that body is
//     text lines and the C module let a value inject lines.
//   - Missing required fields are an ErrMissing (presence: From-User,
//     To-User, State; dialog: From, To, State). The C module logged and
//     returned 1, so the script could not tell. A document that is not a
//     JSON object is an ErrNotObject (a bare null, which json-c does not
//     parse into an object at all, an ErrJSON); the C module read every field of it as
//     "" (skipping kazoo_pua_publish, failing presence and dialog on missing
//     fields, and writing an all-empty message-summary row).
//   - Flush-Level above 4 is an ErrValue: the C module's DELETE got a
//     negative key count and the database rejected the SQL. A negative
//     Flush-Level is 0 (the C module then used REPLACE too).
//   - Expires: now + Expires is computed in 64 bits and capped at
//     math.MaxInt32 (the C module overflowed int). A negative Expires gives
//     0; the C module wrote the negative number, which the presence module's
//     cleaner (expires > 0 AND expires < now) treated as "never expires",
//     the same as 0.
//   - No body or tag size limit: the C module sprintf'd into fixed buffers
//     (4096 bytes presence, 2048 message-summary, 8192 dialog, 100 per
//     dialog tag attribute, 1024 for the dialog sender) and overflowed them
//     with long values.
//
// Kept on purpose: the message-summary sender is From even when Sender-URI
// is given (a C bug, but rows are keyed and compared on it); the presence
// entity is From-User, not a URI; message-summary requires no field; the
// spacing the C templates produce around missing dialog tags
// (call-id="x"   direction=...) and after entity="..."> in the presence
// and empty dialog bodies.
//
// The C functions also failed when pua_mode was not 1; that check belongs
// to the caller.
package pua
