package kzjson

import "bytes"

// checkPath reproduces the element count check of the C module's
// kz_str_split: the path is split with strtok (which skips empty
// segments), and assert(idx == count) aborts the process when the number
// of segments differs from the number of dots plus one, not counting a
// single trailing dot. So the empty path, ".", a leading dot and two dots
// in a row are fatal in C, while "a." is the same as "a".
func checkPath(p []byte) bool {
	dots, segments, last := 0, 0, -1
	inSeg := false
	for i, c := range p {
		if c == '.' {
			dots++
			last = i
			inSeg = false
			continue
		}
		if !inSeg {
			segments++
			inSeg = true
		}
	}
	count := 1
	if dots > 0 {
		count = dots
		if last < len(p)-1 {
			count++
		}
	}
	return segments == count
}

// atoi is glibc's atoi: (int)strtol(s, NULL, 10). Leading isspace bytes
// are skipped, an optional sign is read, the digits saturate at the 64-bit
// long range and the result is truncated to 32 bits.
func atoi(s []byte) int32 {
	i := 0
	for i < len(s) && (s[i] == ' ' || '\t' <= s[i] && s[i] <= '\r') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var v uint64
	over := false
	for ; i < len(s) && isDigit(s[i]); i++ {
		if !over {
			v = v*10 + uint64(s[i]-'0')
			if v > 1<<63 {
				over = true
			}
		}
	}
	var l int64
	switch {
	case !neg && (over || v > 1<<63-1):
		l = 1<<63 - 1
	case neg && over:
		l = -1 << 63
	case neg:
		l = -int64(v)
	default:
		l = int64(v)
	}
	return int32(l)
}

// resolve walks path through the parsed document the way
// kz_json_get_field_object does and returns the node found, or -1.
//
// Each segment is read with sscanf("%[^[][%[^]]]", f1, f2) after the escape
// character has been replaced by '.': f1 is the key, up to the first '['; a
// non-empty f2 after the '[' (up to ']' or the end of the segment) is the
// index, converted with atoi and applied only when the value is an array.
// When the segment starts with '[', sscanf converts nothing and f1 keeps
// its previous content: the previous segment's key is looked up again. For
// the first segment f1 is uninitialised in C; the Debian build looks up the
// empty key, and so do we.
func (e *Evaluator) resolve(path []byte, escape byte) int {
	s := &e.sc
	p := path // the path with the escape character replaced by '.'
	if escape != 0 && escape != '.' && bytes.IndexByte(path, escape) >= 0 {
		q := e.path[:0]
		for _, c := range path {
			if c == escape {
				c = '.'
			}
			q = append(q, c)
		}
		e.path, p = q, q
	}
	cur := int(s.root)
	var name []byte // f1; empty before the first segment
	for start := 0; start <= len(path) && cur >= 0; {
		end := len(path)
		if i := bytes.IndexByte(path[start:], '.'); i >= 0 {
			end = start + i
		}
		seg := p[start:end] // split on the raw dots, then unescaped
		start = end + 1
		if len(seg) == 0 {
			continue
		}
		var idx []byte
		if lb := bytes.IndexByte(seg, '['); lb != 0 {
			name = seg
			if lb > 0 {
				name, idx = seg[:lb], seg[lb+1:]
				if rb := bytes.IndexByte(idx, ']'); rb >= 0 {
					idx = idx[:rb]
				}
			}
		}
		cur = e.objectGet(cur, name)
		if cur >= 0 && len(idx) > 0 && s.tape[cur].kind == nArray {
			cur = e.arrayGet(cur, atoi(idx))
		}
	}
	return cur
}

// objectGet is json_object_object_get_ex: the value of the last member
// named key (duplicates keep the last value), or -1 when o is not an
// object or has no such member.
func (e *Evaluator) objectGet(o int, key []byte) int {
	s := &e.sc
	t := s.tape
	if t[o].kind != nObject {
		return -1
	}
	found := -1
	end := int(t[o].next)
	for j := o + 1; j < end; j = int(t[j+1].next) {
		k := &t[j]
		if int(k.end-k.start) != len(key) {
			continue
		}
		var kb []byte
		if k.flags&flagKeyBuf != 0 {
			kb = s.keys[k.start:k.end]
		} else {
			kb = s.buf[k.start:k.end]
		}
		if string(kb) == string(key) {
			found = j + 1
		}
	}
	return found
}

// arrayGet is json_object_array_get_idx with the int index converted to
// size_t: negative indexes and indexes past the end give -1.
func (e *Evaluator) arrayGet(a int, idx int32) int {
	t := e.sc.tape
	if idx < 0 || uint32(idx) >= t[a].count {
		return -1
	}
	j := a + 1
	for ; idx > 0; idx-- {
		j = int(t[j].next)
	}
	return j
}
