package payload

// Member is a top-level member to set with Set: Value is written as a JSON string, or
// verbatim when Raw is set; Delete removes the member instead.
type Member struct {
	Key, Value  string
	Raw, Delete bool
}

// Set appends obj to dst with members set as json-c's json_object_object_add would: a
// member the object already has keeps its position and gets the new value (every
// occurrence, when the key repeats), a missing one is appended at the end, in the given
// order; Delete removes every occurrence. Everything else is copied unchanged, so key order
// and text shape stay as the sender wrote them (stock configs rewrite $kzE with regular
// expressions that rely on both).
//
// obj must be strict JSON (Normalize's output) whose top-level value is an object;
// otherwise dst is returned unchanged with the error.
func (n *Normalizer) Set(dst, obj []byte, members []Member) ([]byte, error) {
	present := n.presentMarks(len(members))
	var it memberIter
	if !it.start(obj) {
		return dst, it.err
	}
	start := len(dst)
	dst = append(dst, obj[:it.open+1]...)
	prevEnd := it.open + 1 // end of the previous member in obj, kept or not
	kept, dropped := 0, false
	for it.next() {
		key := it.keyText(&n.keyBuf)
		match := -1
		for i := range members {
			if string(key) == members[i].Key {
				match = i
				present[i] = true
			}
		}
		if match >= 0 && members[match].Delete {
			prevEnd, dropped = it.valEnd, true
			continue
		}
		seg := obj[prevEnd:it.keyStart] // separator and spacing before the key
		if kept == 0 && dropped {
			seg = dropComma(seg)
		}
		dst = append(dst, seg...)
		if match < 0 {
			dst = append(dst, obj[it.keyStart:it.valEnd]...)
		} else {
			dst = append(dst, obj[it.keyStart:it.valStart]...)
			dst = appendMemberValue(dst, members[match])
		}
		prevEnd = it.valEnd
		kept++
	}
	if it.err != nil {
		return dst[:start], it.err
	}
	for i, m := range members {
		if present[i] || m.Delete {
			continue
		}
		for j := i + 1; j < len(members); j++ { // a key is added once
			if members[j].Key == m.Key {
				present[j] = true
			}
		}
		if kept > 0 {
			dst = append(dst, ',')
		}
		kept++
		dst = appendQuoted(dst, m.Key)
		dst = append(dst, ':')
		dst = appendMemberValue(dst, m)
	}
	return append(dst, obj[prevEnd:]...), nil
}

func appendMemberValue(dst []byte, m Member) []byte {
	if m.Raw {
		return append(dst, m.Value...)
	}
	return appendQuoted(dst, m.Value)
}

// dropComma removes the comma from a separator ("  ,  " -> "    "), for the member that
// becomes the first one when those before it were deleted.
func dropComma(seg []byte) []byte {
	for i, c := range seg {
		if c == ',' {
			out := make([]byte, 0, len(seg)-1)
			return append(append(out, seg[:i]...), seg[i+1:]...)
		}
	}
	return seg
}
