package module

// Event route naming, exactly as the C module's kz_amqp_consumer_event_cfg: the first
// route that exists among
//
//	kazoo:consumer-event-<V(key)>-<V(subkey)>
//	kazoo:consumer-event-<V(key)>
//	kazoo:consumer-event-<key>-<subkey>
//	kazoo:consumer-event-<key>
//	kazoo:consumer-event
//
// where key/subkey are the subscription's event_key/event_subkey or the module's
// amqp_consumer_event_key/_subkey, V(f) the value of the payload's top-level member f (or,
// when that is empty and the subscription set its own key, the key's name), and the first
// four names are lower-cased with '_' turned into '-'.

const eventRoutePrefix = "kazoo:consumer-event"

// routeResolver picks the event route of a message among the routes the cfg defines.
// Not safe for concurrent use: each consumer goroutine has its own.
type routeResolver struct {
	routes map[string]int
	buf    []byte
}

func newRouteResolver(routes map[string]int) *routeResolver {
	return &routeResolver{routes: routes}
}

// resolve returns the index of the first route of the chain that exists, or ok=false.
func (r *routeResolver) resolve(category, name, key, subkey string) (idx int, ok bool) {
	if idx, ok = r.try(category, name, true); ok {
		return
	}
	if idx, ok = r.try(category, "", false); ok {
		return
	}
	if idx, ok = r.try(key, subkey, true); ok {
		return
	}
	if idx, ok = r.try(key, "", false); ok {
		return
	}
	idx, ok = r.routes[eventRoutePrefix]
	return
}

// try looks up kazoo:consumer-event-<a>[-<b>] (an empty b still adds its '-', as C's
// sprintf does). No allocation: the map lookup converts the bytes in place.
func (r *routeResolver) try(a, b string, two bool) (int, bool) {
	r.buf = r.name(a, b, two)
	idx, ok := r.routes[string(r.buf)]
	return idx, ok
}

func (r *routeResolver) name(a, b string, two bool) []byte {
	buf := append(r.buf[:0], eventRoutePrefix...)
	buf = append(buf, '-')
	buf = appendRouteName(buf, a)
	if two {
		buf = append(buf, '-')
		buf = appendRouteName(buf, b)
	}
	return buf
}

// mostSpecific is the first name of the chain, for the log line of an unhandled event.
func (r *routeResolver) mostSpecific(category, name string) string {
	r.buf = r.name(category, name, true)
	return string(r.buf)
}

// appendRouteName lower-cases ASCII letters and turns '_' into '-' (C's tolower in the
// "C" locale: other bytes unchanged).
func appendRouteName(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c == '_':
			c = '-'
		}
		dst = append(dst, c)
	}
	return dst
}
