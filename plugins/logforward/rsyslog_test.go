package logforward

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// collector is a real rsyslogd listening on loopback: imptcp (plain TCP,
// octet-counted framing), imudp, and imtcp with the gtls driver (TLS,
// client certificates required), writing every message to one file.
type collector struct {
	t                 *testing.T
	dir               string
	conf, out, pid    string
	tcp, udp, tlsPort int
	cmd               *exec.Cmd
	// TLS material for clients.
	caFile, certFile, keyFile string
}

// freePort returns a loopback port free for both TCP and UDP right now.
func freePort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
		l.Close()
		if err == nil {
			u.Close()
			return p
		}
	}
	t.Fatal("no free port")
	return 0
}

// startCollector writes a config and starts rsyslogd in the foreground.
func startCollector(t *testing.T) *collector {
	t.Helper()
	if _, err := exec.LookPath("rsyslogd"); err != nil {
		t.Fatal("rsyslogd not found: install the Debian packages rsyslog and rsyslog-gnutls")
	}
	dir := t.TempDir()
	c := &collector{t: t, dir: dir, conf: filepath.Join(dir, "rsyslog.conf"),
		out: filepath.Join(dir, "messages"), pid: filepath.Join(dir, "rsyslogd.pid"),
		tcp: freePort(t), udp: freePort(t), tlsPort: freePort(t)}
	c.makeCerts()
	os.MkdirAll(filepath.Join(dir, "work"), 0o755)
	conf := fmt.Sprintf(`global(maxMessageSize="128k" workDirectory="%[1]s/work"
  defaultNetstreamDriverCAFile="%[1]s/ca.pem"
  defaultNetstreamDriverCertFile="%[1]s/server.pem"
  defaultNetstreamDriverKeyFile="%[1]s/server-key.pem")
main_queue(queue.workerThreads="1")
module(load="imptcp")
module(load="imudp")
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="x509/certvalid")
input(type="imptcp" address="127.0.0.1" port="%[2]d")
input(type="imudp" address="127.0.0.1" port="%[3]d" rcvbufSize="8m")
input(type="imtcp" port="%[4]d")
template(name="t" type="string" string="%%app-name%%\t%%hostname%%\t%%structured-data%%\t%%timereported:::date-rfc3339%%\t%%pri%%\t%%msg%%\n")
action(type="omfile" file="%[5]s" template="t")
`, dir, c.tcp, c.udp, c.tlsPort, c.out)
	if err := os.WriteFile(c.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	c.start()
	t.Cleanup(c.stop)
	return c
}

// start runs rsyslogd and waits for its TCP ports.
func (c *collector) start() {
	c.t.Helper()
	cmd := exec.Command("rsyslogd", "-n", "-f", c.conf, "-i", c.pid)
	log, _ := os.OpenFile(filepath.Join(c.dir, "rsyslogd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("starting rsyslogd (Debian package rsyslog): %v", err)
	}
	log.Close()
	c.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range []int{c.tcp, c.tlsPort} {
		for {
			conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err == nil {
				conn.Close()
				break
			}
			if time.Now().After(deadline) {
				b, _ := os.ReadFile(filepath.Join(c.dir, "rsyslogd.log"))
				c.t.Fatalf("rsyslogd does not listen on %d: %s", p, b)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// imudp may bind later than the TCP inputs: probe it until a probe
	// message comes out (tally ignores APP-NAME "probe").
	u, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", c.udp))
	if err != nil {
		c.t.Fatal(err)
	}
	defer u.Close()
	for {
		u.Write([]byte(`<14>1 - test probe - - [corral@32473 stream="stdout" seq="0"] probe`))
		if b, _ := os.ReadFile(c.out); bytes.Contains(b, []byte("probe\t")) {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatal("rsyslogd's imudp does not answer")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop stops rsyslogd gracefully (SIGTERM: it writes out its queue).
func (c *collector) stop() {
	if c.cmd == nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
	c.cmd = nil
}

// msg is one received message.
type msg struct {
	app, host, stream, time, pri, text string
	seq                                int
}

var sdRe = regexp.MustCompile(`^\[corral@32473 stream="(stdout|stderr)" seq="(\d+)"\]$`)

// messages parses what the collector wrote so far.
func (c *collector) messages() []msg {
	c.t.Helper()
	f, err := os.Open(c.out)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	var out []msg
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 256<<10), 256<<10)
	for sc.Scan() {
		p := strings.SplitN(sc.Text(), "\t", 6)
		if len(p) != 6 {
			continue // a line still being written
		}
		m := msg{app: p[0], host: p[1], time: p[3], pri: p[4], text: p[5]}
		sd := sdRe.FindStringSubmatch(p[2])
		if sd == nil {
			c.t.Fatalf("bad structured data %q in %q", p[2], sc.Text())
		}
		m.stream = sd[1]
		m.seq, _ = strconv.Atoi(sd[2])
		out = append(out, m)
	}
	return out
}

// count returns how many messages the collector wrote so far.
func (c *collector) count() int {
	b, _ := os.ReadFile(c.out)
	return bytes.Count(b, []byte{'\n'})
}

// makeCerts writes a CA, a server certificate for 127.0.0.1 and a client
// certificate, made with crypto/x509.
func (c *collector) makeCerts() {
	c.t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "corral test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		c.t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(c.dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			c.t.Fatal(err)
		}
		return p
	}
	c.caFile = write("ca.pem", "CERTIFICATE", caDER)
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			DNSNames: []string{name}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			c.t.Fatal(err)
		}
		kder, _ := x509.MarshalECPrivateKey(key)
		return write(name+".pem", "CERTIFICATE", der), write(name+"-key.pem", "EC PRIVATE KEY", kder)
	}
	leaf("server", 2, x509.ExtKeyUsageServerAuth)
	c.certFile, c.keyFile = leaf("client", 3, x509.ExtKeyUsageClientAuth)
}
