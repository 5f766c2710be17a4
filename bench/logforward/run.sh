#!/bin/sh
# Forward 1M 200-byte lines to an rsyslog collector on loopback with
# corral's logforward, then with rsyslog's imfile+omfwd relay; 3 rounds.
# Needs: Debian package rsyslog. Usage: bench/logforward/run.sh [-lines N] [-rounds N]
set -e
cd "$(dirname "$0")/../.."
exec go run ./bench/logforward -lines 1000000 -rounds 3 "$@"
