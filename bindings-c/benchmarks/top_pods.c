/*
 * km_client_top_pods over all namespaces (what `kubemetrics top pod -A` computes), then every
 * row's namespace, name, CPU and memory read through the accessors, as a C program using the
 * library would. Prints the row count, the totals and this process's CPU time and peak RSS
 * (getrusage) on one line:
 *   rows=N cpu_total=Q memory_total=Q user_s=U sys_s=S maxrss_kib=K
 * Usage: top_pods KUBECONFIG [ROUNDS]   (ROUNDS calls in one process, default 1)
 */
#define _POSIX_C_SOURCE 200809L
#include <kubemetrics.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static int fail(const char *what, km_status status) {
    fprintf(stderr, "%s failed: status %d: %s\n", what, (int)status, km_last_error_message());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s KUBECONFIG [ROUNDS]\n", argv[0]);
        return 2;
    }
    int rounds = argc > 2 ? atoi(argv[2]) : 1;
    km_client *client = NULL;
    km_status st = km_client_new(argv[1], NULL, &client);
    if (st != KM_STATUS_OK) return fail("km_client_new", st);
    size_t rows = 0;
    unsigned long checksum = 0;
    char *cpu_total = NULL, *memory_total = NULL;
    for (int round = 0; round < rounds; round++) {
        km_top_pods *top = NULL;
        st = km_client_top_pods(client, NULL, true, NULL, NULL, NULL, NULL, &top);
        if (st != KM_STATUS_OK) return fail("km_client_top_pods", st);
        rows = km_top_pods_count(top);
        for (size_t i = 0; i < rows; i++) {
            const km_top_pod_row *row = NULL;
            const char *ns = NULL, *name = NULL;
            const km_quantity *cpu = NULL, *memory = NULL;
            int64_t milli = 0, bytes = 0;
            if (km_top_pods_get(top, i, &row) != KM_STATUS_OK || km_top_pod_row_namespace(row, &ns) != KM_STATUS_OK ||
                km_top_pod_row_name(row, &name) != KM_STATUS_OK || km_top_pod_row_cpu(row, &cpu) != KM_STATUS_OK ||
                km_top_pod_row_memory(row, &memory) != KM_STATUS_OK || km_quantity_milli_value(cpu, &milli) != KM_STATUS_OK ||
                km_quantity_value(memory, &bytes) != KM_STATUS_OK)
                return fail("a row accessor", KM_STATUS_INTERNAL);
            checksum += strlen(ns) + strlen(name) + (unsigned long)milli + (unsigned long)bytes;
        }
        const km_quantity *q = NULL;
        free(cpu_total);
        free(memory_total);
        char *s = NULL;
        if (km_top_pods_total_cpu(top, &q) != KM_STATUS_OK || km_quantity_to_string(q, &s) != KM_STATUS_OK)
            return fail("km_top_pods_total_cpu", KM_STATUS_INTERNAL);
        cpu_total = strdup(s);
        km_string_free(s);
        if (km_top_pods_total_memory(top, &q) != KM_STATUS_OK || km_quantity_to_string(q, &s) != KM_STATUS_OK)
            return fail("km_top_pods_total_memory", KM_STATUS_INTERNAL);
        memory_total = strdup(s);
        km_string_free(s);
        km_top_pods_free(top);
    }
    km_client_free(client);
    km_shutdown();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("rows=%zu cpu_total=%s memory_total=%s checksum=%lu user_s=%.3f sys_s=%.3f maxrss_kib=%ld\n", rows, cpu_total,
           memory_total, checksum, ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6, ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
           ru.ru_maxrss);
    free(cpu_total);
    free(memory_total);
    return 0;
}
