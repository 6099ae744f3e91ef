package payload

import "testing"

func TestSet(t *testing.T) {
	zone := Member{Key: "AMQP-Broker-Zone", Value: "local"}
	recv := Member{Key: "AMQP-Received", Value: "17", Raw: true}
	sid := Member{Key: "Server-ID", Value: "consumer://1/q"}
	del := Member{Key: "Server-ID", Delete: true}
	for _, tc := range []struct {
		in   string
		set  []Member
		want string
	}{
		{`{}`, []Member{zone, recv}, `{"AMQP-Broker-Zone":"local","AMQP-Received":17}`},
		{`{"a":1}`, []Member{zone}, `{"a":1,"AMQP-Broker-Zone":"local"}`},
		{`{ "a": 1 , "Server-ID": "q", "b": [1] }`, []Member{sid, recv},
			`{ "a": 1 , "Server-ID": "consumer://1/q", "b": [1],"AMQP-Received":17 }`},
		{`{"AMQP-Received":1,"x":2}`, []Member{recv}, `{"AMQP-Received":17,"x":2}`},
		{`{"Server-ID":"","x":2}`, []Member{del}, `{"x":2}`},
		{`{ "Server-ID": "" , "x": 2 }`, []Member{del, zone}, `{  "x": 2,"AMQP-Broker-Zone":"local" }`},
		{`{"x":2, "Server-ID":""}`, []Member{del}, `{"x":2}`},
		{`{"x":2,"Server-ID":"","y":3}`, []Member{del}, `{"x":2,"y":3}`},
		{`{"Server-ID":""}`, []Member{del, zone}, `{"AMQP-Broker-Zone":"local"}`},
		{`{"a":1,"a":2}`, []Member{{Key: "a", Value: "3", Raw: true}}, `{"a":3,"a":3}`},
		{`{"n":{"Server-ID":"x"}}`, []Member{sid}, `{"n":{"Server-ID":"x"},"Server-ID":"consumer://1/q"}`},
	} {
		var n Normalizer
		got, err := n.Set([]byte("pre"), []byte(tc.in), tc.set)
		if err != nil || string(got) != "pre"+tc.want {
			t.Errorf("Set(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	var n Normalizer
	if got, err := n.Set([]byte("pre"), []byte(`[1]`), []Member{zone}); err == nil || string(got) != "pre" {
		t.Errorf("non-object: %s, %v", got, err)
	}
	if got, err := n.Set(nil, []byte(`{"a":1`), []Member{zone}); err == nil || len(got) != 0 {
		t.Errorf("truncated: %s, %v", got, err)
	}
}

func TestTopLevelText(t *testing.T) {
	var n Normalizer
	obj := []byte(`{"s":"a\u005fb","n":42,"b":true,"z":null,"o":{"x":1},"s":"second"}`)
	for key, want := range map[string]string{"s": "second", "n": "42", "b": "true", "z": "", "o": `{"x":1}`} {
		if got, ok := n.TopLevelText(obj, key); !ok || got != want {
			t.Errorf("%s: %q %v, want %q", key, got, ok, want)
		}
	}
	if _, ok := n.TopLevelText(obj, "missing"); ok {
		t.Error("missing key found")
	}
}

func TestTopLevelStringRepeated(t *testing.T) {
	var n Normalizer
	for obj, want := range map[string]bool{`{"k":"a"}`: false, `{"k":"a","x":{"k":1},"k":"b"}`: true, `{"x":1}`: false} {
		if _, _, repeated := n.TopLevelStringRepeated([]byte(obj), "k"); repeated != want {
			t.Errorf("%s: repeated %v, want %v", obj, repeated, want)
		}
	}
}
