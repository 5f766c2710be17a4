/* orphans: double-forks N short-lived orphans (re-parented to the nearest
 * subreaper or PID 1), then prints "done" and sleeps. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	for (int i = 0; i < n; i++) {
		pid_t c = fork();
		if (c < 0) { perror("fork"); return 1; }
		if (c == 0) {
			if (fork() == 0) _exit(0); /* the orphan: exits at once */
			_exit(0);
		}
		waitpid(c, NULL, 0);
	}
	printf("done %d\n", n);
	fflush(stdout);
	if (argc > 2) { FILE *f = fopen(argv[2], "w"); if (f) { fputs("done\n", f); fclose(f); } }
	pause();
	return 0;
}
