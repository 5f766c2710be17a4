package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/corralhq/corral/s6/applets"
)

// appletMain runs corral as one of its applets, before any flag parsing:
//
//	/command/with-contenv bash ...      (a link: dispatch on argv[0])
//	corral --applet with-contenv bash   (without links)
//	corral --install-links [ROOT]       (at image build time, for read-only roots)
//
// ok is false when corral runs as itself.
func appletMain(args []string) (code int, ok bool) {
	if len(args) == 0 {
		return 0, false
	}
	if _, found := applets.Lookup(filepath.Base(args[0])); found || len(args) > 1 && (args[1] == "--applet" || args[1] == "--install-links") {
		// An applet is an ordinary command: it dies of SIGTERM, and the
		// program it execs gets default signal dispositions.
		signal.Reset()
	}
	if code, ok := applets.Run(args); ok {
		return code, true
	}
	if len(args) < 2 {
		return 0, false
	}
	switch args[1] {
	case "--applet":
		if len(args) < 3 {
			fmt.Fprintf(os.Stderr, "usage: corral --applet NAME [ARGS...]\napplets: %v\n", applets.Names())
			return 2, true
		}
		code, found := applets.RunNamed(args[2], args[3:])
		if !found {
			fmt.Fprintf(os.Stderr, "corral: no applet %q (applets: %v)\n", args[2], applets.Names())
			return 2, true
		}
		return code, true
	case "--install-links":
		root := "/"
		if len(args) > 2 {
			root = args[2]
		}
		return installLinks(root), true
	}
	return 0, false
}

// installLinks makes the links s6-overlay images call corral's applets by
// (/command/with-contenv, /usr/bin/s6-svc...), for images whose root is
// read-only at run time: RUN ["/init", "--install-links"].
func installLinks(root string) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "corral:", err)
		return 111
	}
	if rel, err := filepath.Rel(root, exe); err == nil && root != "/" {
		exe = "/" + rel // the path the image will see
	}
	made, errs := applets.InstallLinks(root, exe)
	for _, m := range made {
		fmt.Println(m, "->", exe)
	}
	for _, e := range errs {
		fmt.Fprintln(os.Stderr, "corral:", e)
	}
	if len(errs) > 0 {
		return 1
	}
	return 0
}
