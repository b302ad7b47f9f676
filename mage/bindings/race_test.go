//go:build race

package bindings

// raceAllocSlack is what the allocation tests allow per operation over
// their counts under the race detector, whose runtime allocates more and
// whose sync.Pool drops a share of what it is given (on purpose, to find
// code that relies on getting an object back), so that pooled Messages and
// Encoders are made again now and then.
const raceAllocSlack = 3
