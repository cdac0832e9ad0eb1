/* fork while other threads allocate and release objects of a class:
 * every child must be able to use the class (its lock was not left held
 * by a thread that does not exist in the child). */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "malloc_bind.h"

static atomic_int stop;
static int cls;

static void *churn(void *arg) {
    (void)arg;
    void *held[32] = {0};
    unsigned i = 0;
    while (!atomic_load(&stop)) {
        unsigned k = i++ % 32;
        slab_class_free(cls, held[k]);
        held[k] = slab_class_alloc(cls);
        CHECK(held[k]);
    }
    for (int k = 0; k < 32; k++) slab_class_free(cls, held[k]);
    return NULL;
}

int main(void) {
    /* A child left blocking on a lock would hang the test run: die instead. */
    alarm(60);
    cls = slab_class_register("forked", 48, 16, 0);
    CHECK(cls >= 0);
    pthread_t th[2];
    for (int t = 0; t < 2; t++) CHECK(pthread_create(&th[t], NULL, churn, NULL) == 0);
    for (int f = 0; f < 100; f++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            /* Alarms are not inherited: the child arms its own. */
            alarm(20);
            for (int i = 0; i < 1000; i++) {
                void *p = slab_class_alloc(cls);
                if (!p) _exit(3);
                slab_class_free(cls, p);
            }
            _exit(0);
        }
        int status = 0;
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    atomic_store(&stop, 1);
    for (int t = 0; t < 2; t++) pthread_join(th[t], NULL);
    puts("class_fork: ok");
    return 0;
}
