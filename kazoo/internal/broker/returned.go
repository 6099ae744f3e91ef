package broker

// Returned is a message the broker returned as unroutable (basic.return of a mandatory
// publish), as Options.OnReturn gets it.
type Returned struct {
	Exchange, RoutingKey string
	Code                 int // the broker's reply code (312 NO_ROUTE)
	Reason               string
	Body                 []byte
}
