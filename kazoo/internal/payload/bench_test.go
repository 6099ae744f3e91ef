package payload

import "testing"

func BenchmarkNormalize1500(b *testing.B) {
	var n Normalizer
	src := []byte(routeReq1500)
	dst := make([]byte, 0, 2*len(src))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = n.Normalize(dst[:0], src); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNormalizeStrict1500 measures the common case of a script that
// already writes strict JSON: everything is copied verbatim.
func BenchmarkNormalizeStrict1500(b *testing.B) {
	var n Normalizer
	src, err := n.Normalize(nil, []byte(routeReq1500))
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, 0, 2*len(src))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if dst, err = n.Normalize(dst[:0], src); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAddMissing1500(b *testing.B) {
	var n Normalizer
	obj, err := n.Normalize(nil, []byte(routeReq1500))
	if err != nil {
		b.Fatal(err)
	}
	fields := kazooFields()
	dst := make([]byte, 0, 2*len(obj))
	b.SetBytes(int64(len(obj)))
	b.ReportAllocs()
	for b.Loop() {
		if dst, err = n.AddMissing(dst[:0], obj, fields); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTopLevelString1500(b *testing.B) {
	var n Normalizer
	obj, err := n.Normalize(nil, []byte(routeReq1500))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := n.TopLevelString(obj, "Notes"); !ok {
			b.Fatal("missing")
		}
	}
}
