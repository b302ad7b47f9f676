package launcher

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// EnvTree is the environment variable through which the launcher marks
// every process descended from a child it started: a comma-separated list
// of random markers, one per launcher-started ancestor, which a process
// inherits unless it clears its environment. On Linux, when this process
// is a subreaper (BecomeSubreaper), the launcher uses the marker to tell
// which orphans re-parented to it descend from a child that ended.
const EnvTree = "MAGE_LAUNCHER_TREE"

// maxTreeMarkers bounds the inherited marker list, so that a deep tree, or
// an environment a child made up, cannot grow it without limit. The
// nearest ancestors are kept.
const maxTreeMarkers = 32

// newTreeMarker returns a fresh random marker.
func newTreeMarker() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("launcher: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// withTreeMarker returns env with marker appended to the EnvTree list it
// holds (the process's own, when env came from os.Environ).
func withTreeMarker(env []string, marker string) []string {
	var markers []string
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, EnvTree+"="); ok {
			markers = strings.Split(v, ",")
			continue
		}
		out = append(out, kv)
	}
	if len(markers) >= maxTreeMarkers {
		markers = markers[len(markers)-maxTreeMarkers+1:]
	}
	markers = append(markers, marker)
	return append(out, EnvTree+"="+strings.Join(markers, ","))
}

// hasTreeMarker reports whether environ, a process's NUL-separated
// initial environment, carries marker in its EnvTree list.
func hasTreeMarker(environ []byte, marker string) bool {
	for _, kv := range strings.Split(string(environ), "\x00") {
		if v, ok := strings.CutPrefix(kv, EnvTree+"="); ok {
			for _, m := range strings.Split(v, ",") {
				if m == marker {
					return true
				}
			}
		}
	}
	return false
}
