/* fork while another thread allocates and frees: every child must be
 * able to allocate (no lock left held by the thread that did not fork). */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

static atomic_int stop;

static void *churn(void *arg) {
    (void)arg;
    void *held[64] = {0};
    unsigned i = 0;
    while (!atomic_load(&stop)) {
        unsigned k = i++ % 64;
        free(held[k]);
        held[k] = malloc(1 + (i * 37) % 70000);
        CHECK(held[k]);
    }
    for (int k = 0; k < 64; k++) free(held[k]);
    return NULL;
}

int main(void) {
    /* A child left blocking on a lock would hang the test run: die instead. */
    alarm(60);
    pthread_t th[2];
    for (int t = 0; t < 2; t++) CHECK(pthread_create(&th[t], NULL, churn, NULL) == 0);
    for (int f = 0; f < 100; f++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            /* Alarms are not inherited: the child arms its own. */
            alarm(20);
            for (int i = 0; i < 2000; i++) {
                char *p = malloc(1 + (size_t)i * 13 % 5000);
                if (!p) _exit(3);
                memset(p, 1, 1 + (size_t)i * 13 % 5000);
                free(p);
            }
            char *big = malloc(1 << 20);
            if (!big) _exit(4);
            free(big);
            _exit(0);
        }
        int status = 0;
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    atomic_store(&stop, 1);
    for (int t = 0; t < 2; t++) pthread_join(th[t], NULL);
    puts("fork: ok");
    return 0;
}
