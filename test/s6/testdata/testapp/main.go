// Command testapp is the test images' application: a TCP server that
// reports who it runs as, and, called as nc, a stand-in for
// netcat-openbsd's `nc -z host port` (the readiness check linuxserver's
// images use; the base image has no netcat).
//
//	testapp serve [-delay 300ms] [-state /tmp/app] ADDR
//	nc -z HOST PORT
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	if filepath.Base(os.Args[0]) == "nc" {
		os.Exit(nc(os.Args[1:]))
	}
	if len(os.Args) < 2 || os.Args[1] != "serve" {
		fmt.Fprintln(os.Stderr, "usage: testapp serve [-delay D] [-state DIR] ADDR | nc -z HOST PORT")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	delay := fs.Duration("delay", 0, "wait this long before listening")
	state := fs.String("state", "", "directory to write uid, pid and environment into")
	_ = fs.Parse(os.Args[2:])
	if fs.NArg() != 1 {
		os.Exit(2)
	}
	if *state != "" {
		_ = os.MkdirAll(*state, 0o777)
		write := func(name, s string) { _ = os.WriteFile(filepath.Join(*state, name), []byte(s), 0o666) }
		write("uid", fmt.Sprintf("%d %d\n", os.Getuid(), os.Getgid()))
		write("pid", fmt.Sprintf("%d\n", os.Getpid()))
		write("env", strings.Join(os.Environ(), "\n")+"\n")
		wd, _ := os.Getwd()
		write("cwd", wd+"\n")
	}
	time.Sleep(*delay)
	ln, err := net.Listen("tcp", fs.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "testapp:", err)
		os.Exit(1)
	}
	fmt.Println("testapp: listening on", fs.Arg(0))
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "hello from %d\n", os.Getuid())
			c.Close()
		}
	}()
	<-sigc
	fmt.Println("testapp: stopping")
}

// nc supports `nc -z host port`: exit 0 when a connection succeeds.
func nc(args []string) int {
	if len(args) != 3 || args[0] != "-z" {
		fmt.Fprintln(os.Stderr, "nc (testapp): only `nc -z host port` is supported")
		return 2
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort(args[1], args[2]), time.Second)
	if err != nil {
		return 1
	}
	c.Close()
	return 0
}
