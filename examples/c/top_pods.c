/* kubemetrics from C: `kubectl top pod -A` as data, with exact quantities.
 * Usage: top_pods [KUBECONFIG [CONTEXT]]   (no argument: KUBECONFIG / ~/.kube/config, as kubectl) */
#include <inttypes.h>
#include <stdio.h>

#include <kubemetrics.h>

static int fail(const char *what) {
    fprintf(stderr, "%s failed: %s (%s, HTTP %u)\n", what, km_last_error_message(),
            km_status_name(km_last_error_status()), (unsigned)km_last_error_http_status());
    return 1;
}

int main(int argc, char **argv) {
    km_client *client = NULL;
    if (km_client_new(argc > 1 ? argv[1] : NULL, argc > 2 ? argv[2] : NULL, &client) != KM_STATUS_OK)
        return fail("km_client_new");

    km_top_pods *top = NULL;
    /* All namespaces, sorted by CPU, like `kubectl top pod -A --sort-by=cpu`. */
    if (km_client_top_pods(client, NULL, true, NULL, NULL, NULL, "cpu", &top) != KM_STATUS_OK) {
        km_client_free(client);
        return fail("km_client_top_pods");
    }

    printf("%-14s %-26s %12s %14s  %s\n", "NAMESPACE", "POD", "CPU(m)", "MEMORY(bytes)", "CPU exact");
    for (size_t i = 0; i < km_top_pods_count(top); i++) {
        const km_top_pod_row *row = NULL;
        const char *ns = NULL, *name = NULL;
        const km_quantity *cpu = NULL, *memory = NULL;
        int64_t millicores = 0, bytes = 0;
        char *exact = NULL;
        /* Borrowed strings and quantities: valid until km_top_pods_free. */
        km_top_pods_get(top, i, &row);
        km_top_pod_row_namespace(row, &ns);
        km_top_pod_row_name(row, &name);
        km_top_pod_row_cpu(row, &cpu);
        km_top_pod_row_memory(row, &memory);
        km_quantity_milli_value(cpu, &millicores);
        km_quantity_value(memory, &bytes);
        km_quantity_to_string(cpu, &exact); /* owned: km_string_free */
        printf("%-14s %-26s %12" PRId64 " %14" PRId64 "  %s\n", ns, name, millicores, bytes, exact);
        km_string_free(exact);
    }

    const km_quantity *total_cpu = NULL, *total_memory = NULL;
    km_top_pods_total_cpu(top, &total_cpu);
    km_top_pods_total_memory(top, &total_memory);
    char *cpu_text = NULL, *memory_text = NULL;
    double cores = 0;
    km_quantity_to_string(total_cpu, &cpu_text);
    km_quantity_to_string(total_memory, &memory_text);
    km_quantity_as_double(total_cpu, &cores);
    printf("total: cpu %s (%.3f cores), memory %s\n", cpu_text, cores, memory_text);
    km_string_free(cpu_text);
    km_string_free(memory_text);

    /* The same result as kubectl prints it, with --sum. */
    char *table = NULL;
    if (km_top_pods_render(top, false, false, true, &table) == KM_STATUS_OK) {
        printf("\n%s", table);
        km_string_free(table);
    }

    /* Parsing and comparing quantities. */
    km_quantity *limit = NULL;
    if (km_quantity_parse("4", &limit) == KM_STATUS_OK) {
        int cmp = 0;
        km_quantity_cmp(total_cpu, limit, &cmp);
        printf("\ntotal CPU is %s the 4-core budget\n", cmp > 0 ? "over" : "within");
        km_quantity_free(limit);
    }

    km_top_pods_free(top);
    km_client_free(client);
    return 0;
}
