package serf

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/memberlist"
)

// keyringSource tells where the gossip keys came from, for the log and
// Status.
type keyringSource string

const (
	keysNone        keyringSource = ""
	keysFromConfig  keyringSource = "key"
	keysFromKeyring keyringSource = "keyring file"
)

// loadKeyring returns the keyring the agent starts with: the keyring file
// when it exists (the keys as `serf keys` last left them, primary first),
// else the configured key (encrypt_key, encrypt_key_env, or the content of
// encrypt_key_file, read now). Serf rewrites the keyring file itself on
// every key change once Config.KeyringFile is set. A keyring file that
// cannot be written at the first start (a read-only root) is reported in
// warn and does not stop the agent: its keys work, only a rotation will
// not survive a restart (and `serf keys` reports this node's failure).
func loadKeyring(c *Config, key []byte) (kr *memberlist.Keyring, source keyringSource, warn, err error) {
	kr, source, err = readKeys(c, key)
	if err != nil || source != keysFromConfig || c.KeyringFile == "" {
		return kr, source, nil, err
	}
	// The file exists from the first start on, so that a rotation while
	// this node is away finds the keys it had.
	if err := os.MkdirAll(filepath.Dir(c.KeyringFile), 0o700); err != nil {
		return kr, source, fmt.Errorf("creating the keyring file's directory: %w", err), nil
	}
	if err := writeKeyringFile(c.KeyringFile, kr.GetKeys()); err != nil {
		return kr, source, err, nil
	}
	return kr, source, nil, nil
}

// readKeys reads the keyring file if it exists, else the configured key.
func readKeys(c *Config, key []byte) (*memberlist.Keyring, keyringSource, error) {
	if c.EncryptKeyFile != "" {
		b, err := os.ReadFile(c.EncryptKeyFile)
		if err != nil {
			return nil, keysNone, fmt.Errorf("reading encrypt_key_file: %w", err)
		}
		if key, err = decodeKey(string(b)); err != nil {
			return nil, keysNone, fmt.Errorf("encrypt_key_file %s: %w", c.EncryptKeyFile, err)
		}
	}
	if c.KeyringFile != "" {
		keys, err := readKeyringFile(c.KeyringFile)
		switch {
		case err == nil:
			kr, err := memberlist.NewKeyring(keys, keys[0])
			if err != nil {
				return nil, keysNone, fmt.Errorf("keyring_file %s: %w", c.KeyringFile, err)
			}
			return kr, keysFromKeyring, nil
		case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			return nil, keysNone, err
		}
	}
	if key == nil {
		return nil, keysNone, nil
	}
	kr, err := memberlist.NewKeyring(nil, key)
	if err != nil {
		return nil, keysNone, fmt.Errorf("gossip key: %w", err)
	}
	return kr, keysFromConfig, nil
}

// readKeyringFile reads a keyring file as the stock agent writes it: a
// JSON array of base64 keys, the primary key first.
func readKeyringFile(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading keyring_file: %w", err)
	}
	var encoded []string
	if err := json.Unmarshal(b, &encoded); err != nil {
		return nil, fmt.Errorf("keyring_file %s: %w", path, err)
	}
	if len(encoded) == 0 {
		return nil, fmt.Errorf("keyring_file %s holds no key", path)
	}
	keys := make([][]byte, 0, len(encoded))
	for i, e := range encoded {
		k, err := decodeKey(e)
		if err != nil {
			return nil, fmt.Errorf("keyring_file %s: key %d: %w", path, i, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// writeKeyringFile writes keys (primary first) as readKeyringFile reads
// them, through a temporary file renamed over the old one.
func writeKeyringFile(path string, keys [][]byte) error {
	encoded := make([]string, 0, len(keys))
	for _, k := range keys {
		encoded = append(encoded, base64.StdEncoding.EncodeToString(k))
	}
	b, err := json.MarshalIndent(encoded, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the keyring: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing keyring_file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing keyring_file: %w", err)
	}
	return nil
}

// hasKey tells whether key is one of the keyring's keys.
func hasKey(kr *memberlist.Keyring, key []byte) bool {
	return slices.ContainsFunc(kr.GetKeys(), func(k []byte) bool { return string(k) == string(key) })
}

// decryptWindow is how long undecryptable messages count in Status.
const decryptWindow = time.Minute

// decryptWatch counts the messages this node could not decrypt, as
// memberlist logs them, and join attempts that failed for that reason.
type decryptWatch struct {
	mu       sync.Mutex
	failures uint64
	last     time.Time
}

// isDecryptError tells whether a log line or error is memberlist saying
// that no installed key decrypts a message.
func isDecryptError(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(s, "could decrypt") || strings.Contains(s, "decrypt packet failed")
}

// saw records one undecryptable message.
func (d *decryptWatch) saw() {
	d.mu.Lock()
	d.failures++
	d.last = time.Now()
	d.mu.Unlock()
}

// recent returns the failures so far and whether one happened within the
// window.
func (d *decryptWatch) recent() (total uint64, last time.Time, recent bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.failures, d.last, !d.last.IsZero() && time.Since(d.last) < decryptWindow
}
