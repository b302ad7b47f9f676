//go:build !race

package mage_test

// raceAllocSlack is 0 without the race detector: the allocation tests
// hold their exact counts (see race_test.go).
const raceAllocSlack = 0

// raceMediumAllocSlack is 0 without the race detector (see race_test.go).
const raceMediumAllocSlack = 0
