//go:build !race

package mage

// poisonRecycled is false in normal builds: given-back messages are
// pooled (see poison_race.go).
const poisonRecycled = false
