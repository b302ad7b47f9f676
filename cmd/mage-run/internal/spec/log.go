package spec

import (
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Log file defaults.
const (
	// DefaultLogFile is where a log block without a file attribute writes,
	// relative to the spec's directory.
	DefaultLogFile = NamePlaceholder + ".log"
	// DefaultLogMaxSizeMB is the size, in megabytes, at which a log file
	// is rotated.
	DefaultLogMaxSizeMB = 100
	// DefaultLogMaxBackups is how many rotated files are kept: by default
	// a process cannot fill the disk, however much it writes.
	DefaultLogMaxBackups = 5
)

// NamePlaceholder, in a log block's file, stands for the instance's name
// (see Log.Path).
const NamePlaceholder = "{name}"

// Log is a log block: the file each instance of a process writes its
// output to, every line stamped with its time, and how the file is
// rotated. Rotation and retention are lumberjack's: when a write would
// take the file past MaxSizeMB it is renamed with a timestamp and a new
// one begun; MaxBackups and MaxAgeDays bound the old ones kept.
type Log struct {
	// File is the file's path, absolute; it may hold NamePlaceholder.
	File string
	// MaxSizeMB is the size in megabytes at which the file is rotated:
	// at least 1.
	MaxSizeMB int
	// MaxBackups is how many rotated files are kept; 0 keeps them all.
	MaxBackups int
	// MaxAgeDays is how many days a rotated file is kept; 0 keeps it
	// whatever its age.
	MaxAgeDays int
	// Compress gzips rotated files.
	Compress bool
	// DeclRange is the position of the block that set File (the spec's
	// top-level block for a process that has none of its own), FileRange
	// that of its file attribute, or DeclRange when it has none.
	DeclRange, FileRange hcl.Range
	// enabled is false while reading a process's block that says
	// enabled = false.
	enabled bool
}

// Path returns the file the instance named instance writes to: File with
// NamePlaceholder replaced by the name, each '/' of which (an instance
// below a replicated parent, "browser#2/tab#1") becomes '.' so that the
// name stays one file name.
func (l *Log) Path(instance string) string {
	return strings.ReplaceAll(l.File, NamePlaceholder, strings.ReplaceAll(instance, "/", "."))
}

// PerInstance reports whether File holds NamePlaceholder: each instance
// then has a file of its own.
func (l *Log) PerInstance() bool { return strings.Contains(l.File, NamePlaceholder) }

// LogToDir gives every process the spec has no log block for (its own or
// the spec's top-level one) a log file in dir, named after the instance,
// with the default rotation: mage-run run --log-dir. One whose block says
// enabled = false is left alone.
func (s *Spec) LogToDir(dir string) {
	s.Walk(func(p *Process) {
		if p.Log == nil && !p.logOff {
			p.Log = &Log{File: filepath.Join(dir, DefaultLogFile), MaxSizeMB: DefaultLogMaxSizeMB, MaxBackups: DefaultLogMaxBackups}
		}
	})
}

var logSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "file"},
		{Name: "max_size_mb"},
		{Name: "max_backups"},
		{Name: "max_age_days"},
		{Name: "compress"},
		{Name: "enabled"},
	},
}

// placeholder finds what looks like a placeholder in a file name.
var placeholder = regexp.MustCompile(`\{[A-Za-z_]*\}`)

// logBlock reads a log block, the spec's top-level one when top is set;
// what it leaves out comes from base (the top-level block), or the
// defaults when base is nil.
func (p *parser) logBlock(b *hcl.Block, base *Log, top bool) *Log {
	l := &Log{File: p.path(DefaultLogFile), MaxSizeMB: DefaultLogMaxSizeMB, MaxBackups: DefaultLogMaxBackups}
	if base != nil {
		*l = *base
	}
	l.DeclRange, l.FileRange = b.DefRange, b.DefRange
	attrs := p.content(b.Body, logSchema).Attributes
	if a, ok := attrs["file"]; ok {
		var file string
		if p.decode(a, &file) {
			l.FileRange = a.Expr.Range()
			p.logFile(a, file, l)
		}
	}
	if a, ok := attrs["max_size_mb"]; ok && p.decode(a, &l.MaxSizeMB) && l.MaxSizeMB < 1 {
		p.errorf(a.Expr.Range(), "log: max_size_mb must be at least 1 (megabytes), not %d", l.MaxSizeMB)
	}
	if a, ok := attrs["max_backups"]; ok && p.decode(a, &l.MaxBackups) && l.MaxBackups < 0 {
		p.errorf(a.Expr.Range(), "log: max_backups must not be negative (0 keeps every rotated file), not %d", l.MaxBackups)
	}
	if a, ok := attrs["max_age_days"]; ok && p.decode(a, &l.MaxAgeDays) && l.MaxAgeDays < 0 {
		p.errorf(a.Expr.Range(), "log: max_age_days must not be negative (0 keeps rotated files whatever their age), not %d", l.MaxAgeDays)
	}
	if a, ok := attrs["compress"]; ok {
		p.decode(a, &l.Compress)
	}
	l.enabled = true
	if a, ok := attrs["enabled"]; ok {
		p.decode(a, &l.enabled)
		if top && !l.enabled {
			p.errorf(a.Expr.Range(), "log: enabled = false belongs in a process's log block, to leave out the top-level one; here, leave the block out")
		}
	}
	return l
}

// logFile checks a log block's file and sets it, made absolute.
func (p *parser) logFile(a *hcl.Attribute, file string, l *Log) {
	if strings.TrimSpace(file) == "" {
		p.errorf(a.Expr.Range(), "log: file must not be empty")
		return
	}
	for _, m := range placeholder.FindAllString(file, -1) {
		if m != NamePlaceholder {
			p.errorf(a.Expr.Range(), "log: file %q: unknown placeholder %s: only %s (the instance's name) is replaced", file, m, NamePlaceholder)
			return
		}
	}
	if strings.HasSuffix(file, "/") || strings.HasSuffix(file, string(filepath.Separator)) {
		p.errorf(a.Expr.Range(), "log: file %q names a directory: want a file, such as %q", file, file+DefaultLogFile)
		return
	}
	l.File = p.path(file)
}

// topLog reads the spec's top-level log blocks: the default for every
// process that has none of its own.
func (p *parser) topLog(blocks hcl.Blocks) {
	for _, b := range blocks {
		if b.Type != "log" {
			continue
		}
		l := p.logBlock(b, nil, true)
		if p.spec.Log != nil {
			p.errorf(b.DefRange, "the spec has a second top-level log block; the first is at line %d", p.spec.Log.DeclRange.Start.Line)
			continue
		}
		p.spec.Log = l
	}
}

// processLog reads a log block of proc; first is the one read before, if
// any. It returns nil for a block with enabled = false: the process
// writes no file, whatever the top-level block says.
func (p *parser) processLog(proc *Process, b *hcl.Block, first *hcl.Block) *Log {
	l := p.logBlock(b, p.spec.Log, false)
	if first != nil {
		p.errorf(b.DefRange, "process %q has a second log block; the first is at line %d", proc.Name, first.DefRange.Start.Line)
	}
	if !l.enabled {
		proc.logOff = true
		return nil
	}
	return l
}

// checkLogs checks that no two instances write to the same file: a file
// without NamePlaceholder serves one process of one instance only.
func (p *parser) checkLogs() {
	byFile := make(map[string]*Process)
	p.spec.Walk(func(proc *Process) {
		l := proc.Log
		if l == nil || l.PerInstance() {
			return
		}
		if MultiBelow(proc, nil) {
			p.errorf(l.FileRange, "log: file %q has no %s, but process %q has several instances: each needs a file of its own", l.File, NamePlaceholder, proc.Name)
			return
		}
		if other, dup := byFile[l.File]; dup {
			p.errorf(l.FileRange, "log: process %q writes to %s, as does process %q: put %s in the file name, or give each its own file", proc.Name, l.File, other.Name, NamePlaceholder)
			return
		}
		byFile[l.File] = proc
	})
}
