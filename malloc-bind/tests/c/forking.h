/* Forking while other threads work: `threads` threads run `work` until
 * the forks are done, and `forks` children each run `child`, which
 * returns 0 for success. A child left blocking on a lock would hang the
 * test run, so the parent and every child arm an alarm and die instead. */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

static atomic_int forking_stop;

/* Whether the workers should stop. */
static int stopping(void) { return atomic_load(&forking_stop); }

static void fork_while_working(int threads, void *(*work)(void *), int forks, int (*child)(void)) {
    alarm(60);
    pthread_t th[16];
    CHECK(threads <= 16);
    for (int t = 0; t < threads; t++) CHECK(pthread_create(&th[t], NULL, work, NULL) == 0);
    for (int f = 0; f < forks; f++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            /* Alarms are not inherited: the child arms its own. */
            alarm(20);
            _exit(child());
        }
        int status = 0;
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    atomic_store(&forking_stop, 1);
    for (int t = 0; t < threads; t++) pthread_join(th[t], NULL);
}
