package tree

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/spec"
)

func TestLogFile(t *testing.T) {
	dir := t.TempDir()
	var logged strings.Builder
	log := hclog.New(&hclog.LoggerOptions{Output: &logged})
	f := newLogFile(&spec.Log{File: filepath.Join(dir, "{name}.log"), MaxSizeMB: 1}, "web#1/tab#2", log)
	f.note("run 1 starting")
	f.write(Stdout, []byte("out"))
	f.write(Stderr, []byte("err"))
	// Released when the instance ends; a new run opens it again.
	f.release()
	f.note("run 2 starting")
	f.close()
	f.write(Stdout, []byte("after close"))
	f.close()
	got, err := os.ReadFile(filepath.Join(dir, "web#1.tab#2.log"))
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z mage-run run 1 starting\n\S+ stdout out\n\S+ stderr err\n\S+ mage-run run 2 starting\n$`)
	if !want.Match(got) {
		t.Errorf("file holds %q", got)
	}
	if logged.Len() != 0 {
		t.Errorf("logged %q", logged.String())
	}

	// A nil logFile, for an instance without a log block, drops all.
	var none *logFile
	none.write(Stdout, []byte("x"))
	none.note("x")
	none.release()
	none.close()
}

// A file that cannot be written is reported once, not for every line.
func TestLogFileFailing(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	log := hclog.New(&hclog.LoggerOptions{Output: &logged})
	f := newLogFile(&spec.Log{File: filepath.Join(blocker, "x.log"), MaxSizeMB: 1}, "a", log)
	for range 3 {
		f.write(Stdout, []byte("line"))
	}
	f.close()
	if n := strings.Count(logged.String(), "cannot write the log file"); n != 1 {
		t.Errorf("%d warnings: %q", n, logged.String())
	}
}
