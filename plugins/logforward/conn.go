package logforward

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// conn is a connection to the collector that knows how much of what it
// sent the peer's TCP stack has acknowledged.
type conn struct {
	c      net.Conn
	tcp    *net.TCPConn // nil for UDP
	sent   atomic.Uint64
	broken atomic.Bool
	err    atomic.Pointer[error]
}

// countingConn counts the bytes written to the socket under TLS.
type countingConn struct {
	net.Conn
	n *atomic.Uint64
}

func (c countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.n.Add(uint64(n))
	return n, err
}

// tlsConfig builds the client TLS settings, reading the CA and key files.
func tlsConfig(s settings) (*tls.Config, error) {
	conf := &tls.Config{ServerName: s.ServerName, MinVersion: tls.VersionTLS12}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate", s.CAFile)
		}
		conf.RootCAs = pool
	}
	if s.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("loading cert_file and key_file: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}

// dial connects to the collector.
func dial(ctx context.Context, s settings, tc *tls.Config) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, s.DialTimeout)
	defer cancel()
	var d net.Dialer
	network := "tcp"
	if s.proto == UDP {
		network = "udp"
	}
	nc, err := d.DialContext(ctx, network, s.Address)
	if err != nil {
		return nil, err
	}
	c := &conn{c: nc}
	if s.proto == UDP {
		return c, nil
	}
	c.tcp = nc.(*net.TCPConn)
	if s.proto == TLS {
		tc := tls.Client(countingConn{Conn: nc, n: &c.sent}, tc)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		c.c = tc
	}
	go c.watch()
	return c, nil
}

// watch reads the connection until it ends: a collector sends nothing, so
// any return means the peer closed or reset it.
func (c *conn) watch() {
	var b [256]byte
	for {
		if _, err := c.c.Read(b[:]); err != nil {
			if err == nil || errors.Is(err, net.ErrClosed) {
				err = errors.New("connection closed")
			}
			c.fail(fmt.Errorf("collector closed the connection: %w", err))
			return
		}
	}
}

// fail marks the connection broken, keeping the first error.
func (c *conn) fail(err error) {
	c.err.CompareAndSwap(nil, &err)
	c.broken.Store(true)
}

// Err returns why the connection broke.
func (c *conn) Err() error {
	if p := c.err.Load(); p != nil {
		return *p
	}
	return nil
}

// write sends a batch of octet-counted frames: as they are on TCP, one
// datagram per message on UDP.
func (c *conn) write(b []byte, timeout time.Duration) error {
	c.c.SetWriteDeadline(time.Now().Add(timeout))
	if c.tcp == nil {
		for len(b) > 0 {
			sp := bytes.IndexByte(b, ' ')
			if sp < 0 {
				return errors.New("bad frame") // cannot happen: we framed it
			}
			n, err := strconv.Atoi(string(b[:sp]))
			if err != nil || sp+1+n > len(b) {
				return errors.New("bad frame")
			}
			if _, err := c.c.Write(b[sp+1 : sp+1+n]); err != nil {
				return err
			}
			c.sent.Add(uint64(sp + 1 + n))
			b = b[sp+1+n:]
		}
		return nil
	}
	if _, isTLS := c.c.(*tls.Conn); isTLS {
		_, err := c.c.Write(b)
		return err
	}
	n, err := c.c.Write(b)
	c.sent.Add(uint64(n))
	return err
}

// unacked returns how many bytes sent are not yet acknowledged by the
// peer's TCP stack (0 for UDP, which has no acknowledgments).
func (c *conn) unacked() (uint64, error) {
	if c.tcp == nil {
		return 0, nil
	}
	return outq(c.tcp)
}

// close closes the connection.
func (c *conn) close() {
	c.fail(errors.New("closed"))
	c.c.Close()
}
