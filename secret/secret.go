// Package secret encrypts small secrets at rest, such as the CalDAV passwords
// the service must send back to the user's server and so cannot hash.
//
// The key lives in a file of its own (FOLLOWUP_SECRET_FILE), apart from the
// database, so a copy of the database alone does not reveal the passwords.
// Values are sealed with AES-256-GCM (NIST SP 800-38D) under a fresh random
// 96-bit nonce each time; at the small number of values a service stores,
// random nonces are far from the 2^32 messages per key the standard allows
// for them (§8.3).
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// KeySize is the length of a key in bytes (AES-256).
const KeySize = 32

// prefix marks the format of a sealed value, so the scheme can change later.
const prefix = "v1:"

// maxSealed bounds the sealed text Open looks at; secrets here are small.
const maxSealed = 64 << 10

// ErrOpen is returned (wrapped) by Open for a value that is not a sealed
// value of this format, was altered, or was sealed under another key. Callers
// typically ask the user to enter the secret again.
var ErrOpen = errors.New("secret: cannot open sealed value (damaged, or sealed with another key)")

// LoadOrCreateKey reads a 32-byte key from path (raw 32 bytes or 64 hex chars
// or base64), creating it with crypto/rand and mode 0600 (parent dir 0700)
// when absent. A file with the wrong size or too-open permissions (group or
// other may read or write it) is an error naming the path. A new key is
// written as 64 hex characters and a newline.
func LoadOrCreateKey(path string) ([]byte, error) {
	if path == "" {
		return nil, errors.New("secret: key file path is empty")
	}
	key, err := readKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := createKey(path); err != nil {
		return nil, err
	}
	return readKey(path)
}

// ReadKey reads an existing key file, with the checks of LoadOrCreateKey;
// it never creates one. A missing file is an error wrapping fs.ErrNotExist.
func ReadKey(path string) ([]byte, error) { return readKey(path) }

// CreateKey writes a new random key to path (mode 0600) and returns it; an
// existing file is an error wrapping fs.ErrExist and is left as it is.
func CreateKey(path string) ([]byte, error) {
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("secret: key file %s: %w", path, fs.ErrExist)
	}
	if err := createKey(path); err != nil {
		return nil, err
	}
	return readKey(path)
}

// KeyID names a key without revealing it: the first 8 bytes, in hex, of
// HMAC-SHA256 under the key of a fixed label. The database records it, so
// that a start with another key is refused before anything changes.
func KeyID(key []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("followup secret key id v1"))
	return hex.EncodeToString(mac.Sum(nil)[:8])
}

// readKey reads and checks an existing key file.
func readKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("secret: key file %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secret: key file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("secret: key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("secret: key file %s has mode %04o, open to group or others; run chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, 1024))
	if err != nil {
		return nil, fmt.Errorf("secret: key file %s: %w", path, err)
	}
	key, ok := decodeKey(data)
	if !ok {
		return nil, fmt.Errorf("secret: key file %s holds %d bytes, not a %d-byte key (raw, %d hex characters or base64)", path, len(data), KeySize, 2*KeySize)
	}
	return key, nil
}

// decodeKey accepts raw 32 bytes, 64 hex characters or base64 of 32 bytes,
// the text forms with surrounding white space.
func decodeKey(data []byte) ([]byte, bool) {
	if len(data) == KeySize {
		return data, true
	}
	s := strings.TrimSpace(string(data))
	if len(s) == 2*KeySize {
		if k, err := hex.DecodeString(s); err == nil {
			return k, true
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == KeySize {
			return k, true
		}
	}
	return nil, false
}

// createKey writes a new random key to path without ever replacing a file
// that appeared meanwhile: it writes a temporary file beside it and links it
// into place, which fails if path exists (then the other writer's key wins).
func createKey(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("secret: key file %s: %w", path, err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("secret: key file %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, ".key-*")
	if err != nil {
		return fmt.Errorf("secret: key file %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp uses 0600; Chmod anyway in case of an unusual umask.
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.WriteString(hex.EncodeToString(key) + "\n")
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("secret: key file %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("secret: key file %s: %w", path, err)
	}
	return nil
}

// Box seals and opens small secrets with AES-256-GCM, random 96-bit nonces;
// output is "v1:" + base64(nonce||ciphertext). A Box is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
}

// NewBox returns a Box for a 32-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret: key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext under a fresh random nonce and returns
// "v1:" + base64(nonce||ciphertext||tag).
func (b *Box) Seal(plaintext string) (string, error) {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("secret: nonce: %w", err)
	}
	out := b.aead.Seal(nonce, nonce, []byte(plaintext), []byte(prefix))
	return prefix + base64.StdEncoding.EncodeToString(out), nil
}

// Open decrypts a value made by Seal. Any other input, an altered value or a
// value sealed under another key gives an error wrapping ErrOpen.
func (b *Box) Open(sealed string) (string, error) {
	if len(sealed) > maxSealed {
		return "", fmt.Errorf("%w: %d bytes is too long", ErrOpen, len(sealed))
	}
	rest, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return "", fmt.Errorf("%w: no %q prefix", ErrOpen, prefix)
	}
	data, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrOpen, err)
	}
	ns := b.aead.NonceSize()
	if len(data) < ns+b.aead.Overhead() {
		return "", fmt.Errorf("%w: %d bytes is too short", ErrOpen, len(data))
	}
	pt, err := b.aead.Open(nil, data[:ns], data[ns:], []byte(prefix))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrOpen, err)
	}
	return string(pt), nil
}
