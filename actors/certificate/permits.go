package certificate

// Grant is what a permit the rate limiter granted means to the instance that receives it.
type Grant int

// The meanings of a grant.
const (
	// OrderNow: the permit this instance waits for.
	OrderNow Grant = iota
	// InUse: the same grant again (asked twice after a timeout): the order already runs under it.
	InUse
	// GiveBack: a grant this instance does not wait for (a previous instance's, or one it gave up):
	// the slot and the booking go back at once rather than when the lease runs out.
	GiveBack
)

// ReadGrant reads a grant of permit granted: held is the permit this instance last asked for or
// holds ("" when none), waiting says it still waits for the answer. The permit says which request
// a grant answers, so an order in use is never ended by a late or repeated grant.
func ReadGrant(granted, held string, waiting bool) Grant {
	switch {
	case granted == "" || granted != held:
		return GiveBack
	case waiting:
		return OrderNow
	default:
		return InUse
	}
}
