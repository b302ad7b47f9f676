package launcher

import (
	"strconv"
	"strings"
	"testing"
)

func TestTreeMarkersAccumulateAndAreBounded(t *testing.T) {
	env := []string{"A=1", EnvTree + "=m1,m2", "B=2"}
	env = withTreeMarker(env, "m3")
	var tree []string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, EnvTree+"="); ok {
			tree = append(tree, v)
		}
	}
	if len(tree) != 1 || tree[0] != "m1,m2,m3" || len(env) != 3 {
		t.Fatalf("env = %q, want one %s=m1,m2,m3 beside A and B", env, EnvTree)
	}
	environ := []byte(strings.Join(env, "\x00") + "\x00")
	for _, m := range []string{"m1", "m2", "m3"} {
		if !hasTreeMarker(environ, m) {
			t.Errorf("marker %s not found in %q", m, environ)
		}
	}
	if hasTreeMarker(environ, "m") || hasTreeMarker([]byte("X=m3\x00"), "m3") {
		t.Error("a marker matched that is not in the list")
	}

	// A deep (or made-up) list keeps only the nearest ancestors.
	var long []string
	for i := range 100 {
		long = append(long, "x"+strconv.Itoa(i))
	}
	env = withTreeMarker([]string{EnvTree + "=" + strings.Join(long, ",")}, "mine")
	got := strings.Split(strings.TrimPrefix(env[0], EnvTree+"="), ",")
	if len(got) != maxTreeMarkers || got[len(got)-1] != "mine" || got[len(got)-2] != "x99" {
		t.Fatalf("bounded list has %d markers ending %q, want %d ending x99,mine", len(got), got[len(got)-2:], maxTreeMarkers)
	}
}
