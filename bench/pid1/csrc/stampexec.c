/* stampexec FILE PROG [ARGS...]: write CLOCK_MONOTONIC (ns) to FILE, then
 * exec PROG. The benchmark runs every supervisor through it, so "time to the
 * first service" starts at the supervisor's execve. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
	struct timespec ts;
	char buf[64];
	int fd, n;

	if (argc < 3) {
		fputs("usage: stampexec FILE PROG [ARGS...]\n", stderr);
		return 100;
	}
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror("stampexec: open");
		return 111;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(buf, sizeof buf, "exec %lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	if (write(fd, buf, n) != n) {
		perror("stampexec: write");
		return 111;
	}
	close(fd);
	execv(argv[2], argv + 2);
	perror("stampexec: exec");
	return 127;
}
