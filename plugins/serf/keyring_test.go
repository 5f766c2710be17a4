package serf

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corralhq/corral/plugins/plugintest"
)

// TestKeyringFile: the keyring file is written at the first start from the
// configured key, rewritten by `serf keys`, and loaded instead of the key
// when it exists; a file that cannot be written does not stop the agent;
// a bad one does.
func TestKeyringFile(t *testing.T) {
	if _, err := exec.LookPath("serf"); err != nil {
		t.Fatalf("the serf CLI is missing (install Debian package serf): %v", err)
	}
	k1, k2 := testKey, base64.StdEncoding.EncodeToString([]byte("another 16 bytes"))
	dir := t.TempDir()
	ring := filepath.Join(dir, "lib", "serf.keyring")
	readRing := func() []string {
		t.Helper()
		var keys []string
		b, err := os.ReadFile(ring)
		if err != nil || json.Unmarshal(b, &keys) != nil {
			t.Fatalf("keyring file: %v %s", err, b)
		}
		return keys
	}
	start := func(c Config) (*Plugin, *strings.Builder, error) {
		t.Helper()
		c.NodeName, c.Bind, c.Profile = "k", fmt.Sprintf("127.0.0.1:%d", plugintest.FreePort(t)), "local"
		if c.RPCAddr == "" {
			c.RPCAddr = "off"
		}
		var logs strings.Builder
		p := &Plugin{Config: c}
		h := plugintest.NewHost("serf", slogTo(&logs))
		if err := p.Provision(h); err != nil {
			t.Fatal(err)
		}
		err := p.Start(context.Background())
		t.Cleanup(func() { p.Stop(context.Background()); h.Shutdown() })
		return p, &logs, err
	}

	rpc := fmt.Sprintf("127.0.0.1:%d", plugintest.FreePort(t))
	p, _, err := start(Config{EncryptKey: k1, KeyringFile: ring, RPCAddr: rpc})
	if err != nil {
		t.Fatal(err)
	}
	if keys := readRing(); len(keys) != 1 || keys[0] != k1 {
		t.Fatalf("keyring file at the first start: %v", keys)
	}
	for _, args := range [][]string{{"-install", k2}, {"-use", k2}, {"-remove", k1}} {
		if out, err := exec.Command("serf", "keys", "-rpc-addr="+rpc, args[0], args[1]).CombinedOutput(); err != nil {
			t.Fatalf("serf keys %s: %v\n%s", args[0], err, out)
		}
	}
	if keys := readRing(); len(keys) != 1 || keys[0] != k2 {
		t.Fatalf("keyring file after the rotation: %v", keys)
	}
	p.Stop(context.Background())

	// Restarted with the old key configured: the keyring file wins.
	p, logs, err := start(Config{EncryptKey: k1, KeyringFile: ring})
	if err != nil {
		t.Fatal(err)
	}
	primary := base64.StdEncoding.EncodeToString(p.agent.conf.MemberlistConfig.Keyring.GetPrimaryKey())
	if primary != k2 || p.Status().Detail["keys_from"] != "keyring file" || !strings.Contains(logs.String(), "not in the keyring file") {
		t.Errorf("after a restart: primary %s, status %+v, logs:\n%s", primary, p.Status().Detail, logs)
	}
	p.Stop(context.Background())

	// A keyring file that cannot be created: the agent runs, with a warning.
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	p, logs, err = start(Config{EncryptKey: k1, KeyringFile: filepath.Join(notDir, "serf.keyring")})
	if err != nil {
		t.Fatalf("start with an unwritable keyring file: %v", err)
	}
	if !strings.Contains(logs.String(), "level=WARN msg=\"keyring_file: key changes will not survive a restart\"") || !p.agent.Serf().EncryptionEnabled() {
		t.Errorf("unwritable keyring file: logs:\n%s", logs)
	}
	p.Stop(context.Background())

	// A keyring file that is not one: the start fails, naming it.
	if err := os.WriteFile(ring, []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := start(Config{EncryptKey: k1, KeyringFile: ring}); err == nil || !strings.Contains(err.Error(), "keyring_file "+ring) {
		t.Errorf("start with a bad keyring file: %v", err)
	}
}
