package abi

// What kzgo_take_event hands to a consumer worker's C thread (kz_event_kind), with
// EventInts integers beside the bytes.
const (
	EventNone       = 0 // nothing pending
	EventAsyncReply = 1 // resume a transaction in its onreply_route, the reply in the bytes
	EventAsyncFail  = 2 // resume it in its failure_route; the bytes hold the reason
	EventMessage    = 3 // run event_route[route] (or the KEMI callback)

	EventInts = 4
)

// RouteCallback is the route of a message event that the KEMI event_callback takes
// (KZ_ROUTE_CALLBACK).
const RouteCallback = 0xffffffff
