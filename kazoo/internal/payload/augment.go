package payload

import (
	"bytes"
	"unsafe"
)

// Field is a key/value pair to add when the top-level object lacks that key. Value is
// written as a JSON string, or verbatim when Raw is set (the caller vouches that it is a
// valid JSON value, such as a number).
type Field struct {
	Key, Value string
	Raw        bool
}

// AddMissing appends obj to dst and adds, as string members at the end of
// the object, each field whose key obj does not already have at its top
// level. Fields are added in the given order. A field whose key appeared
// earlier in fields is added only once.
//
// Only top-level keys count: a nested "Msg-ID" does not stop one from being
// added. Keys are compared after unescaping, so "Msg\u002dID" equals Msg-ID.
// The new members go straight after the last existing member (or the '{' of
// an empty object), so whitespace before the closing brace stays where it
// was. The rest of obj is copied unchanged.
//
// obj must be strict JSON, such as Normalize's output. Only its top-level
// structure is checked. The function returns ErrNotObject if the top-level
// value is not an object, and a *SyntaxError if obj is malformed. In both
// cases dst is returned unchanged.
func (n *Normalizer) AddMissing(dst, obj []byte, fields []Field) ([]byte, error) {
	present := n.presentMarks(len(fields))
	var it memberIter
	if !it.start(obj) {
		return dst, it.err
	}
	insertAt := it.open + 1
	for it.next() {
		insertAt = it.valEnd
		key := it.keyText(&n.keyBuf)
		for i := range fields {
			if !present[i] && string(key) == fields[i].Key { // no allocation: compared in place
				present[i] = true
			}
		}
	}
	if it.err != nil {
		return dst, it.err
	}

	dst = append(dst, obj[:insertAt]...)
	needComma := it.n > 0
	for i, f := range fields {
		if present[i] {
			continue
		}
		// Mark later fields with the same key so the key is added once.
		for j := i + 1; j < len(fields); j++ {
			if fields[j].Key == f.Key {
				present[j] = true
			}
		}
		if needComma {
			dst = append(dst, ',')
		}
		needComma = true
		dst = appendQuoted(dst, f.Key)
		dst = append(dst, ':')
		if f.Raw {
			dst = append(dst, f.Value...)
		} else {
			dst = appendQuoted(dst, f.Value)
		}
	}
	return append(dst, obj[insertAt:]...), nil
}

// presentMarks returns n's reusable per-field flags, cleared, of length size.
func (n *Normalizer) presentMarks(size int) []bool {
	if cap(n.present) < size {
		n.present = make([]bool, size)
	}
	n.present = n.present[:size]
	clear(n.present)
	return n.present
}

// TopLevelString returns the unescaped value of the top-level member key of
// the strict-JSON object obj, if that member exists and is a string. If the
// key appears more than once, the last occurrence wins, as everywhere in the
// module: json-c (the C module, {kz.json}) keeps the last value of a
// duplicate key.
//
// The result does not allocate, so its lifetime is limited. It aliases obj
// when the value has no escapes, and it aliases n's scratch buffer otherwise.
// It stays valid until obj is modified or the next method call on n,
// whichever comes first. Use strings.Clone to keep it longer.
func (n *Normalizer) TopLevelString(obj []byte, key string) (string, bool) {
	s, ok, _ := n.TopLevelStringRepeated(obj, key)
	return s, ok
}

// TopLevelStringRepeated is TopLevelString that also says whether key occurs
// more than once: a receiver that takes the first occurrence (Kazoo's Erlang
// side reads a proplist) sees another value unless every occurrence is set to
// the one returned (Set).
func (n *Normalizer) TopLevelStringRepeated(obj []byte, key string) (s string, ok, repeated bool) {
	value, found, repeated := n.topLevelValue(obj, key)
	if !found || len(value) < 2 || value[0] != '"' {
		return "", false, repeated
	}
	return n.unquote(value), true, repeated
}

// TopLevelText returns the top-level member key of obj as the C module's event routing
// reads it (json_object_get_string): a string unescaped, null as "", any other value as
// its JSON text; of a duplicate key, the last value. ok is false when the member is
// absent. Lifetime as for TopLevelString.
func (n *Normalizer) TopLevelText(obj []byte, key string) (string, bool) {
	value, ok, _ := n.topLevelValue(obj, key)
	switch {
	case !ok:
		return "", false
	case len(value) >= 2 && value[0] == '"':
		return n.unquote(value), true
	case string(value) == "null":
		return "", true
	}
	return unsafe.String(unsafe.SliceData(value), len(value)), true
}

// topLevelValue returns the raw text of the last top-level member key of obj, and
// whether key occurs more than once.
func (n *Normalizer) topLevelValue(obj []byte, key string) (value []byte, ok, repeated bool) {
	var it memberIter
	if !it.start(obj) {
		return nil, false, false
	}
	for it.next() {
		if string(it.keyText(&n.keyBuf)) == key {
			repeated = ok
			value, ok = obj[it.valStart:it.valEnd], true
		}
	}
	return value, ok, repeated
}

// unquote returns a JSON string's value without allocating (see TopLevelString).
func (n *Normalizer) unquote(value []byte) string {
	raw := value[1 : len(value)-1]
	if bytes.IndexByte(raw, '\\') >= 0 {
		n.valBuf = appendUnescaped(n.valBuf[:0], raw)
		raw = n.valBuf
	}
	return unsafe.String(unsafe.SliceData(raw), len(raw))
}
