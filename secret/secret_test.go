package secret

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testKey returns a fixed key whose bytes are 0..31 plus seed.
func testKey(seed byte) []byte {
	k := make([]byte, KeySize)
	for i := range k {
		k[i] = byte(i) + seed
	}
	return k
}

func mustBox(tb testing.TB, key []byte) *Box {
	tb.Helper()
	b, err := NewBox(key)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestSealOpenRoundTrip(t *testing.T) {
	b := mustBox(t, testKey(0))
	for _, pt := range []string{"", "hunter2", "pässwörd ✓", strings.Repeat("x", 4096), "\x00\xff"} {
		sealed, err := b.Seal(pt)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(sealed, "v1:") {
			t.Errorf("Seal(%q) = %q, want a v1: prefix", pt, sealed)
		}
		if pt != "" && strings.Contains(sealed, pt) {
			t.Errorf("Seal(%q) = %q contains the plaintext", pt, sealed)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sealed, "v1:"))
		if err != nil {
			t.Fatalf("Seal(%q) is not base64: %v", pt, err)
		}
		if want := 12 + len(pt) + 16; len(raw) != want {
			t.Errorf("Seal(%q) holds %d bytes, want nonce+ciphertext+tag = %d", pt, len(raw), want)
		}
		got, err := b.Open(sealed)
		if err != nil {
			t.Fatalf("Open(Seal(%q)): %v", pt, err)
		}
		if diff := cmp.Diff(pt, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

// TestSealFreshNonce checks that sealing the same value twice differs.
func TestSealFreshNonce(t *testing.T) {
	b := mustBox(t, testKey(0))
	x, _ := b.Seal("same")
	y, _ := b.Seal("same")
	if x == y {
		t.Errorf("two seals of the same value are equal: %q", x)
	}
}

// TestOpenTampered flips every bit of a sealed value in turn.
func TestOpenTampered(t *testing.T) {
	b := mustBox(t, testKey(0))
	sealed, err := b.Seal("hunter2")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(sealed, "v1:"))
	for i := range raw {
		for bit := range 8 {
			c := bytes.Clone(raw)
			c[i] ^= 1 << bit
			got, err := b.Open("v1:" + base64.StdEncoding.EncodeToString(c))
			if !errors.Is(err, ErrOpen) {
				t.Fatalf("Open with byte %d bit %d flipped = %q, %v; want ErrOpen", i, bit, got, err)
			}
		}
	}
	for _, bad := range []string{
		"",
		"hunter2",
		"v2:" + strings.TrimPrefix(sealed, "v1:"),
		"V1:" + strings.TrimPrefix(sealed, "v1:"),
		sealed[:len(sealed)-4],
		sealed + "AAAA",
		"v1:!!!!",
		"v1:",
		"v1:" + base64.StdEncoding.EncodeToString(make([]byte, 27)),
		"v1:" + base64.StdEncoding.EncodeToString(make([]byte, 28)),
		"v1:" + strings.Repeat("A", maxSealed),
	} {
		if got, err := b.Open(bad); !errors.Is(err, ErrOpen) {
			t.Errorf("Open(%.40q) = %q, %v; want ErrOpen", bad, got, err)
		}
	}
}

func TestOpenWrongKey(t *testing.T) {
	sealed, err := mustBox(t, testKey(0)).Seal("hunter2")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := mustBox(t, testKey(1)).Open(sealed); !errors.Is(err, ErrOpen) {
		t.Errorf("Open under another key = %q, %v; want ErrOpen", got, err)
	}
}

func TestNewBoxKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		if _, err := NewBox(make([]byte, n)); err == nil {
			t.Errorf("NewBox(%d bytes) succeeded, want an error", n)
		}
	}
}

func TestLoadOrCreateKeyCreates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "keys")
	path := filepath.Join(dir, "secret.key")
	key, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != KeySize {
		t.Fatalf("key is %d bytes, want %d", len(key), KeySize)
	}
	if bytes.Equal(key, make([]byte, KeySize)) {
		t.Error("key is all zeros")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("key file mode = %04o, want 0600", got)
		}
		if got := di.Mode().Perm(); got != 0o700 {
			t.Errorf("key dir mode = %04o, want 0700", got)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(hex.EncodeToString(key)+"\n", string(data)); diff != "" {
		t.Errorf("file content (-want +got):\n%s", diff)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("key dir holds %d entries, want only the key (no temporary files left)", len(entries))
	}

	again, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(key, again); diff != "" {
		t.Errorf("re-read key differs (-first +second):\n%s", diff)
	}
	other, err := LoadOrCreateKey(filepath.Join(dir, "other.key"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(key, other) {
		t.Error("two new keys are equal")
	}
}

// TestLoadOrCreateKeyFormats checks the accepted encodings of an existing key.
func TestLoadOrCreateKeyFormats(t *testing.T) {
	key := testKey(7)
	for name, content := range map[string][]byte{
		"raw":           key,
		"hex":           []byte(hex.EncodeToString(key)),
		"hex newline":   []byte(hex.EncodeToString(key) + "\n"),
		"HEX":           []byte(strings.ToUpper(hex.EncodeToString(key))),
		"base64":        []byte(base64.StdEncoding.EncodeToString(key) + "\n"),
		"base64 raw":    []byte(base64.RawStdEncoding.EncodeToString(key)),
		"base64 url":    []byte(base64.RawURLEncoding.EncodeToString(key) + "\r\n"),
		"base64 spaced": []byte("  " + base64.StdEncoding.EncodeToString(key) + "  \n"),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k")
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := LoadOrCreateKey(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(key, got); diff != "" {
				t.Errorf("key (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadOrCreateKeyBad checks that a bad key file is an error naming its
// path, and that it is left as it was.
func TestLoadOrCreateKeyBad(t *testing.T) {
	key := testKey(3)
	for _, tc := range []struct {
		name    string
		content []byte
		mode    os.FileMode
	}{
		{"empty", nil, 0o600},
		{"short raw", key[:31], 0o600},
		{"long raw", append(bytes.Clone(key), 0), 0o600},
		{"short hex", []byte(hex.EncodeToString(key[:31])), 0o600},
		{"bad hex", []byte(strings.Repeat("zz", 32)), 0o600},
		{"base64 of 16 bytes", []byte(base64.StdEncoding.EncodeToString(key[:16])), 0o600},
		{"group readable", []byte(hex.EncodeToString(key)), 0o640},
		{"world readable", []byte(hex.EncodeToString(key)), 0o644},
		{"group writable", []byte(hex.EncodeToString(key)), 0o620},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && tc.mode != 0o600 {
				t.Skip("no Unix permissions on Windows")
			}
			path := filepath.Join(t.TempDir(), "k")
			if err := os.WriteFile(path, tc.content, tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil { // past the umask
				t.Fatal(err)
			}
			got, err := LoadOrCreateKey(path)
			if err == nil {
				t.Fatalf("LoadOrCreateKey = %x, want an error", got)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(after, tc.content) {
				t.Error("the bad key file was changed")
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		path := t.TempDir()
		if _, err := LoadOrCreateKey(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("LoadOrCreateKey(dir) error = %v, want one naming %s", err, path)
		}
	})
	t.Run("empty path", func(t *testing.T) {
		if _, err := LoadOrCreateKey(""); err == nil {
			t.Error("LoadOrCreateKey(\"\") succeeded, want an error")
		}
	})
}

// FuzzOpen checks that Open never panics and that whatever it accepts
// seals back to the same plaintext.
func FuzzOpen(f *testing.F) {
	b := mustBox(f, testKey(0))
	for _, pt := range []string{"", "hunter2"} {
		s, err := b.Seal(pt)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s)
	}
	f.Add("v1:")
	f.Add("v1:AAAA")
	f.Add("v1:" + base64.StdEncoding.EncodeToString(make([]byte, 28)))
	f.Add("v2:AAAA")
	f.Fuzz(func(t *testing.T, sealed string) {
		pt, err := b.Open(sealed)
		if err != nil {
			if !errors.Is(err, ErrOpen) {
				t.Fatalf("Open(%q) error %v does not wrap ErrOpen", sealed, err)
			}
			return
		}
		again, err := b.Seal(pt)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := b.Open(again); err != nil || back != pt {
			t.Fatalf("re-seal of %q: %q, %v", pt, back, err)
		}
	})
}

// TestKeyIDAndCreateKey: a key's id is stable, differs between keys and
// does not contain the key; CreateKey never replaces a file.
func TestKeyIDAndCreateKey(t *testing.T) {
	dir := t.TempDir()
	a, err := CreateKey(filepath.Join(dir, "a.key"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := CreateKey(filepath.Join(dir, "b.key"))
	if err != nil {
		t.Fatal(err)
	}
	if KeyID(a) != KeyID(append([]byte{}, a...)) || KeyID(a) == KeyID(b) || len(KeyID(a)) != 16 {
		t.Fatalf("ids %s %s", KeyID(a), KeyID(b))
	}
	if strings.Contains(hex.EncodeToString(a), KeyID(a)) {
		t.Fatalf("the id %s is part of the key", KeyID(a))
	}
	before, _ := os.ReadFile(filepath.Join(dir, "a.key"))
	if _, err := CreateKey(filepath.Join(dir, "a.key")); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("CreateKey over an existing file: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "a.key"))
	if string(before) != string(after) {
		t.Fatal("CreateKey replaced a key file")
	}
	if _, err := ReadKey(filepath.Join(dir, "none.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadKey of a missing file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "none.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("ReadKey created a file")
	}
}
