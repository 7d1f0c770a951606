/* The pod sandbox's first process: holds the pod's namespaces open, reaps zombies
 * (it is PID 1 when the pod shares its PID namespace), and exits on SIGINT or SIGTERM.
 * Built static so the image needs no libc: hack/image.sh. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) {
  (void)sig;
  _exit(0);
}

static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "-v") == 0) {
    puts("vmimage-pause 1.0");
    return 0;
  }
  if (getpid() != 1) {
    fputs("vmimage-pause: warning: not running as PID 1\n", stderr);
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = stop;
  if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0) {
    perror("vmimage-pause: sigaction");
    return 1;
  }
  sa.sa_handler = reap;
  sa.sa_flags = SA_NOCLDSTOP;
  if (sigaction(SIGCHLD, &sa, NULL) < 0) {
    perror("vmimage-pause: sigaction");
    return 1;
  }
  for (;;) {
    pause();
  }
}
