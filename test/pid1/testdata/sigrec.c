/* sigrec FILE: records every signal it receives, by number, one per line in
 * FILE, and exits 0 on SIGTERM or SIGINT (after recording it). It catches
 * all of 1..31 but SIGKILL and SIGSTOP, so a forwarded SIGSEGV, SIGTSTP or
 * SIGTTIN is recorded instead of acted on. Written as a test program for
 * corral's signal table; only async-signal-safe calls in the handler. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fd = -1;
static volatile sig_atomic_t stop;

static void on(int sig) {
	char b[4];
	int n = 0;
	if (sig >= 10) b[n++] = '0' + sig / 10;
	b[n++] = '0' + sig % 10;
	b[n++] = '\n';
	(void)!write(fd, b, n);
	if (sig == SIGTERM || sig == SIGINT) stop = 1;
}

int main(int argc, char **argv) {
	if (argc != 2) return 2;
	fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0) return 1;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on;
	sigfillset(&sa.sa_mask);
	for (int s = 1; s <= 31; s++)
		if (s != SIGKILL && s != SIGSTOP) sigaction(s, &sa, NULL);
	(void)!write(fd, "ready\n", 6);
	while (!stop) pause();
	return 0;
}
