package magen

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Loader reads .magen files and the files they import.
type Loader struct {
	// ReadFile reads the named file. Nil means os.ReadFile.
	ReadFile func(name string) ([]byte, error)
}

// Load parses the named files and every file they import, checks them, and
// returns the named files in order. See Loader.Load.
func Load(filenames ...string) ([]*File, error) {
	return (&Loader{}).Load(filenames...)
}

// Load parses the named files and every file they import, then checks them
// all: names, types, ordinals, imports and packages. It returns the named
// files, in order, with imports, types, ordinals and fingerprints resolved.
//
// An import path is relative to the directory of the importing file. A file
// reached twice, by any spelling of the same absolute path, is read once.
//
// The error, if any, is an ErrorList holding every problem found, sorted by
// position. Meaning is checked only when every file parsed cleanly, so that
// a syntax error does not cause a cascade of follow-on errors.
func (l *Loader) Load(filenames ...string) ([]*File, error) {
	ld := &loading{read: l.ReadFile, byPath: map[string]*File{}}
	if ld.read == nil {
		ld.read = os.ReadFile
	}
	roots := make([]*File, 0, len(filenames))
	for _, name := range filenames {
		if f := ld.load(name, nil); f != nil {
			roots = append(roots, f)
		}
	}
	if len(ld.errs) == 0 {
		check(ld.order, &ld.errs)
	}
	ld.errs.RemoveDuplicates()
	if err := ld.errs.Err(); err != nil {
		return nil, err
	}
	return roots, nil
}

// loading is the state of one Load call.
type loading struct {
	read   func(string) ([]byte, error)
	byPath map[string]*File
	order  []*File // every file, in the order first reached
	errs   ErrorList
}

// load reads and parses name and, depth first, its imports. from is the
// import statement that names it, or nil for a file named by the caller.
func (ld *loading) load(name string, from *Import) *File {
	key := pathKey(name)
	if f, ok := ld.byPath[key]; ok {
		return f
	}
	src, err := ld.read(name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		if from == nil {
			ld.errs.Addf(Position{Filename: name}, "cannot read file: %v", err)
		} else {
			ld.errs.Addf(from.Pos, "cannot read imported file %s: %v", name, err)
		}
		return nil
	}
	f := parse(name, src, &ld.errs)
	ld.byPath[key] = f
	ld.order = append(ld.order, f)
	for _, imp := range f.Imports {
		path := imp.Path
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(name), path)
		}
		imp.File = ld.load(path, imp)
	}
	return f
}

// pathKey is the absolute, clean form of a file name, which names one file
// however it was spelt.
func pathKey(name string) string {
	if abs, err := filepath.Abs(name); err == nil {
		return abs
	}
	return filepath.Clean(name)
}
