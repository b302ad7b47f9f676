package control

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// maxSocketPath is the longest socket path used: sun_path holds 104 bytes
// on macOS, terminator included.
const maxSocketPath = 103

// tokenSize is the length of a control token, in bytes.
const tokenSize = 32

// Sentinel errors. Match them with errors.Is.
var (
	// ErrNoTree: no tree serves the socket (none runs for this spec
	// directory, or it has ended).
	ErrNoTree = errors.New("control: no running tree at this socket")
	// ErrInUse: another live tree serves the socket already.
	ErrInUse = errors.New("control: the socket is in use by another running tree")
	// ErrPathTooLong: the socket path exceeds the limit of sun_path.
	ErrPathTooLong = errors.New("control: socket path too long")
	// ErrUnsafeDir: the directory for sockets is not this user's alone.
	ErrUnsafeDir = errors.New("control: socket directory is not private to this user")
)

// Address is where a tree's control socket and its token file are.
type Address struct {
	Socket string
	Token  string
}

// AddressFor returns the control address of a tree whose spec is in the
// directory specDir: a short name derived from the directory, in a
// directory of this user's own ($XDG_RUNTIME_DIR/mage-run, or
// mage-run-UID in the temporary directory). Running ctl from the spec's
// directory finds it.
func AddressFor(specDir string) (Address, error) {
	abs, err := filepath.Abs(specDir)
	if err != nil {
		return Address{}, fmt.Errorf("control: %w", err)
	}
	sum := sha256.Sum256([]byte(abs))
	dir, err := socketDir()
	if err != nil {
		return Address{}, err
	}
	return AddressAt(filepath.Join(dir, hex.EncodeToString(sum[:8])+".sock"))
}

// AddressAt returns the address of the socket at path, with its token
// file beside it.
func AddressAt(path string) (Address, error) {
	if len(path) > maxSocketPath {
		return Address{}, fmt.Errorf("%w: %s is %d bytes, the limit is %d", ErrPathTooLong, path, len(path), maxSocketPath)
	}
	return Address{Socket: path, Token: strings.TrimSuffix(path, ".sock") + ".token"}, nil
}

// socketDir returns (making it if need be) the private directory the
// sockets go in, and checks that no one else can use it.
func socketDir() (string, error) {
	base := os.Getenv("XDG_RUNTIME_DIR")
	dir := filepath.Join(base, "mage-run")
	if base == "" {
		dir = filepath.Join(os.TempDir(), fmt.Sprintf("mage-run-%d", os.Getuid()))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("control: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", fmt.Errorf("control: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || fi.Mode().Perm()&0o077 != 0 || !ok || int(st.Uid) != os.Getuid() {
		return "", fmt.Errorf("%w: %s (want a directory of uid %d with mode 0700)", ErrUnsafeDir, dir, os.Getuid())
	}
	return dir, nil
}

// newToken makes a random token and writes it to path, readable by this
// user only.
func newToken(path string) ([]byte, error) {
	token := make([]byte, tokenSize)
	if _, err := rand.Read(token); err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	_ = os.Remove(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("control: token file: %w", err)
	}
	_, err = fmt.Fprintln(f, hex.EncodeToString(token))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("control: token file: %w", err)
	}
	return token, nil
}

// ReadToken reads the token file at path.
func ReadToken(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("control: token: %w", err)
	}
	token, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(token) != tokenSize {
		return nil, fmt.Errorf("control: token file %s does not hold a token of %d hex bytes", path, tokenSize)
	}
	return token, nil
}

// removeStale removes a socket file at path that nobody listens on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("control: %w", err)
	case fi.Mode()&os.ModeSocket == 0:
		return fmt.Errorf("control: %s exists and is not a socket", path)
	}
	c, err := net.Dial("unix", path)
	if err == nil {
		_ = c.Close()
		return fmt.Errorf("%w: %s", ErrInUse, path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("control: checking %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("control: removing a stale socket: %w", err)
	}
	return nil
}
