//go:build !linux

package main

import "errors"

func run(options) error { return errors.New("PID namespaces need Linux") }
