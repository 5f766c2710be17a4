// Command helper is a test program for corral's PID-1 tests.
//
//	helper listen ADDR DELAY   listen on ADDR after DELAY, accept forever
//	helper probe ADDR          exit 0 if ADDR accepts a connection, else 1
package main

import (
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: helper listen ADDR DELAY | probe ADDR")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "listen":
		d, err := time.ParseDuration(os.Args[3])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		time.Sleep(d)
		ln, err := net.Listen("tcp", os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("listening on", os.Args[2])
		for {
			c, err := ln.Accept()
			if err != nil {
				os.Exit(1)
			}
			c.Close()
		}
	case "probe":
		c, err := net.DialTimeout("tcp", os.Args[2], time.Second)
		if err != nil {
			os.Exit(1)
		}
		c.Close()
	default:
		os.Exit(2)
	}
}
