/* A multi-threaded caller: 8 pthreads share one km_client and call it at once (lists, gets, top,
 * raw JSON, quantities, errors), one of them also changing the client's timeout; the last error
 * stays per thread. KM_TEST_ITERATIONS sets the rounds per thread (default 20). */
#include "km_test.h" /* first: it sets _GNU_SOURCE */

#include <pthread.h>
#include <stdatomic.h>

#define THREADS 8

static km_client *shared = NULL;
static int iterations = 20;
static atomic_int thread_failures = 0;
static atomic_int thread_checks = 0;

#define T_CHECK(cond)                                                                             \
    do {                                                                                          \
        atomic_fetch_add(&thread_checks, 1);                                                      \
        if (!(cond)) {                                                                            \
            atomic_fetch_add(&thread_failures, 1);                                                \
            fprintf(stderr, "%s:%d: thread %d: FAILED: %s (last error: %s)\n", __FILE__, __LINE__, \
                    id, #cond, km_last_error_message());                                          \
        }                                                                                         \
    } while (0)

static void *worker(void *arg) {
    int id = (int)(intptr_t)arg;
    char missing[64];
    snprintf(missing, sizeof missing, "missing-node-of-thread-%d", id);
    for (int round = 0; round < iterations; round++) {
        km_node_metrics_list *nodes = NULL;
        T_CHECK(km_client_list_node_metrics(shared, NULL, &nodes) == KM_STATUS_OK);
        T_CHECK(km_node_metrics_list_count(nodes) == 2);
        km_node_metrics_list_free(nodes);

        km_top_pods *top = NULL;
        T_CHECK(km_client_top_pods(shared, NULL, true, NULL, NULL, NULL, (id % 2) ? "cpu" : NULL, &top) == KM_STATUS_OK);
        T_CHECK(km_top_pods_count(top) == 9);
        const km_quantity *total = NULL;
        int64_t milli = 0;
        T_CHECK(km_top_pods_total_cpu(top, &total) == KM_STATUS_OK);
        T_CHECK(km_quantity_milli_value(total, &milli) == KM_STATUS_OK);
        T_CHECK(milli > 4254);
        km_top_pods_free(top);

        km_top_node_rows *rows = NULL;
        T_CHECK(km_client_top_nodes(shared, NULL, NULL, false, NULL, &rows) == KM_STATUS_OK);
        T_CHECK(km_top_node_rows_count(rows) == 3);
        km_top_node_rows_free(rows);

        km_pod_metrics *pod = NULL;
        const char *name = NULL;
        T_CHECK(km_client_get_pod_metrics(shared, "kube-system", "etcd-node-a", &pod) == KM_STATUS_OK);
        T_CHECK(km_pod_metrics_name(pod, &name) == KM_STATUS_OK && strcmp(name, "etcd-node-a") == 0);
        km_pod_metrics_free(pod);

        char *raw = NULL;
        T_CHECK(km_client_get_raw(shared, "/apis/metrics.k8s.io/v1beta1/namespaces/monitoring/pods", &raw) == KM_STATUS_OK);
        T_CHECK(raw != NULL && strstr(raw, "alertmanager-0") != NULL);
        km_string_free(raw);

        /* An error on this thread: its message names this thread's node, whatever the others do. */
        km_node_metrics *node = NULL;
        T_CHECK(km_client_get_node_metrics(shared, missing, &node) == KM_STATUS_NOT_FOUND);
        T_CHECK(km_last_error_http_status() == 404);
        T_CHECK(strstr(km_last_error_message(), missing) != NULL);
        T_CHECK(node == NULL);

        km_quantity *q = NULL;
        T_CHECK(km_quantity_parse(id % 2 ? "1.5Gi" : "250264852n", &q) == KM_STATUS_OK);
        km_quantity_free(q);

        if (id == 0) {
            /* Changing the timeout while the others call. */
            T_CHECK(km_client_set_timeout_ms(shared, 20000 + (uint64_t)round) == KM_STATUS_OK);
        }
    }
    return NULL;
}

int main(void) {
    const char *n = getenv("KM_TEST_ITERATIONS");
    if (n != NULL && atoi(n) > 0) iterations = atoi(n);
    CHECK_OK(km_client_new(km_test_kubeconfig(), NULL, &shared));
    if (shared == NULL) return km_test_summary("test_threads");

    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        CHECK(pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i) == 0);
    }
    for (int i = 0; i < THREADS; i++) {
        CHECK(pthread_join(threads[i], NULL) == 0);
    }
    km_passed += atomic_load(&thread_checks) - atomic_load(&thread_failures);
    km_failed += atomic_load(&thread_failures);

    /* Each thread had its own last error: this one has none. */
    CHECK_STR(km_last_error_message(), "");
    km_client_free(shared);
    km_shutdown();
    return km_test_summary("test_threads");
}
